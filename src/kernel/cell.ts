/**
 * Cells: the shared words that kernel code touches locklessly.
 *
 * A cell is read and written only through the memory operations of `memory.ts`
 * (`READ_ONCE`, `WRITE_ONCE`, `smp_store_release`, atomics, ...), each its own step, so the
 * explorer can reorder them and the memory model can delay or reorder their visibility.
 * `value` is the value in memory (what a CPU sees once every store buffer has drained);
 * `hist` records the coherence order of the values written, for the weakest model, where a
 * CPU may still read an out-of-date copy (never one older than it has already seen).
 */
export class Cell {
  /** Object id, unique within its kernel: the explorer's unit of dependence. */
  readonly id: number;
  /** Name used in traces (`cond`, `wq.head`, `page3.flags`). */
  readonly name: string;
  /** The value in memory. */
  value: number;
  /** Coherence order of every value this cell held in memory (first = initial). */
  readonly hist: number[];
  /** Global write stamp of each entry of `hist` (when it reached memory). */
  readonly stamps: number[];
  /** Per CPU: index into `hist` of the newest value this CPU has read or written. */
  readonly seen: number[];

  /**
   * `history`: keep the coherence history (only the `invq` model reads it); other cells share
   * one empty, never-written array for all three.
   */
  constructor(id: number, name: string, value: number, history = true) {
    this.id = id;
    this.name = name;
    this.value = value;
    if (history) {
      this.hist = [value];
      this.stamps = [0];
      this.seen = [];
    } else {
      this.hist = NO_HISTORY;
      this.stamps = NO_HISTORY;
      this.seen = NO_HISTORY;
    }
  }
}

/** Shared by cells without a history: frozen, so a write to it would throw. */
const NO_HISTORY: number[] = Object.freeze([]) as unknown as number[];
