/**
 * The event heap: a binary min-heap keyed by (time, priority, sequence).
 *
 * - `time` is a number (the kernel uses integer nanoseconds; the bench's DES core, `src/bench/des`, uses floats).
 * - `priority` is 0 (urgent: interrupts, bottom halves, the end of a run) or 1 (normal).
 * - `sequence` is a counter assigned at push, so events at the same time and priority pop in
 *   the order they were pushed: same-time order is reproducible, never left to chance.
 *
 * Layout (no object per entry, no pointer moved while sifting):
 * - each entry lives in a *slot*; the slot's tie-break key (`priority * 2^48 + sequence`) and
 *   payload stay put in `keyOf`/`itemOf` while the entry moves in the heap;
 * - the heap order itself is two typed arrays, `times` and `slots`, so a sift moves one
 *   float and one int per level and never pays a garbage-collector write barrier;
 * - `pop` sinks the hole to a leaf along the smaller children (Floyd), choosing a child with
 *   a branch-free comparison of times (ties, rare, take a predictable branch to the key), then
 *   sifts the last entry up from there.
 */
export class EventHeap<T> {
  private times: Float64Array;
  private slots: Int32Array;
  private keyOf: Float64Array;
  private itemOf: (T | undefined)[];
  private free: Int32Array;
  private nfree: number;
  private n = 0;
  private seq = 0;
  /** The earliest entry's time (Infinity when empty), kept up to date for `peekTime`. */
  private first = Number.POSITIVE_INFINITY;

  constructor(capacity = 64) {
    const cap = Math.max(4, capacity | 0);
    this.times = new Float64Array(cap);
    this.slots = new Int32Array(cap);
    this.keyOf = new Float64Array(cap);
    this.itemOf = new Array<T | undefined>(cap).fill(undefined);
    this.free = new Int32Array(cap);
    for (let i = 0; i < cap; i++) this.free[i] = cap - 1 - i;
    this.nfree = cap;
  }

  /** Number of pending entries. */
  get size(): number {
    return this.n;
  }

  /** Time of the earliest entry; Infinity when empty. */
  peekTime(): number {
    return this.first;
  }

  /** The earliest entry's payload without removing it; throws when empty. */
  peek(): T {
    if (this.n === 0) throw new Error('EventHeap.peek: the heap is empty');
    return this.itemOf[this.slots[0]!] as T;
  }

  /** Adds `item` at `time` with priority 0 (urgent) or 1 (normal). */
  push(time: number, priority: 0 | 1, item: T): void {
    if (this.nfree === 0) this.grow();
    const s = this.free[--this.nfree]!;
    this.keyOf[s] = priority * 281474976710656 + this.seq++;
    this.itemOf[s] = item;
    this.siftUp(this.n++, time, s);
  }

  /** Removes and returns the earliest entry's payload; throws when empty. */
  pop(): T {
    if (this.n === 0) throw new Error('EventHeap.pop: the heap is empty');
    const times = this.times;
    const slots = this.slots;
    const s0 = slots[0]!;
    const top = this.itemOf[s0] as T;
    this.itemOf[s0] = undefined;
    this.free[this.nfree++] = s0;
    const last = --this.n;
    if (last > 0) {
      const t = times[last]!;
      const s = slots[last]!;
      let i = 0;
      let c = 1;
      while (c + 1 < last) {
        const ct = times[c]!;
        const rt = times[c + 1]!;
        if (rt === ct) {
          const keyOf = this.keyOf;
          c += (keyOf[slots[c + 1]!]! < keyOf[slots[c]!]!) as unknown as number;
        } else {
          c += (rt < ct) as unknown as number;
        }
        times[i] = times[c]!;
        slots[i] = slots[c]!;
        i = c;
        c = 2 * i + 1;
      }
      if (c < last) {
        times[i] = times[c]!;
        slots[i] = slots[c]!;
        i = c;
      }
      this.siftUp(i, t, s);
    }
    this.first = last > 0 ? times[0]! : Number.POSITIVE_INFINITY;
    return top;
  }

  /** Removes every entry (the sequence counter keeps counting). */
  clear(): void {
    const cap = this.times.length;
    this.itemOf.fill(undefined);
    for (let i = 0; i < cap; i++) this.free[i] = cap - 1 - i;
    this.nfree = cap;
    this.n = 0;
    this.first = Number.POSITIVE_INFINITY;
  }

  /** Places the entry of slot `s` at `time` into the hole at `i`, moving it up as needed. */
  private siftUp(i: number, time: number, s: number): void {
    const times = this.times;
    const slots = this.slots;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = times[p]!;
      if (pt < time || (pt === time && this.keyOf[slots[p]!]! < this.keyOf[s]!)) break;
      times[i] = pt;
      slots[i] = slots[p]!;
      i = p;
    }
    times[i] = time;
    slots[i] = s;
    if (i === 0) this.first = time;
  }

  private grow(): void {
    const old = this.times.length;
    const cap = old * 2;
    const times = new Float64Array(cap);
    times.set(this.times);
    this.times = times;
    const slots = new Int32Array(cap);
    slots.set(this.slots);
    this.slots = slots;
    const keyOf = new Float64Array(cap);
    keyOf.set(this.keyOf);
    this.keyOf = keyOf;
    const free = new Int32Array(cap);
    for (let i = 0; i < old; i++) free[i] = cap - 1 - i;
    this.free = free;
    this.nfree = old;
    for (let i = old; i < cap; i++) this.itemOf.push(undefined);
  }
}
