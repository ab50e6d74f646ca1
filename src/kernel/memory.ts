/**
 * The memory models: how stores become visible and which values loads may return.
 *
 * - `sc`: sequential consistency. Every access takes effect in its own step.
 * - `tso`: x86-TSO. Each CPU has a FIFO store buffer; a store enters it; a load returns the
 *   CPU's newest buffered store to that cell, else memory. Draining the oldest entry is a
 *   separate step the Chooser schedules. `smp_mb` and locked RMWs wait for the buffer to be
 *   empty; `smp_wmb`/`smp_rmb` are no-ops.
 * - `pso`: as tso, but stores to different cells may drain in any order; `smp_wmb` and
 *   release stores order a CPU's earlier stores before its later ones.
 * - `invq`: PSO store buffers plus per-CPU invalidate queues, after Paul McKenney's "Memory
 *   Barriers: a Hardware View for Software Hackers": a store that has reached memory may not
 *   yet be seen by another CPU, whose load may return its stale cached copy. `smp_rmb`
 *   (and acquire loads, and `smp_mb`) process the invalidate queue: afterwards the CPU sees
 *   every store that was in memory at that moment. Coherence holds: a CPU never reads a value
 *   older than one it has already read or written (per cell). Loads stay in program order
 *   and stores happen after earlier loads, so load buffering (LB) is never observed.
 */
import type { Cell } from './cell.js';
import type { Cpu } from './cpu.js';
import { current as cur } from './current.js';
import type { Kernel } from './kernel.js';
import type { RmwOp, StoreOp } from './ops.js';

/** The memory model names accepted by the kernel config and the CLI. */
export type MemoryModel = 'sc' | 'tso' | 'pso' | 'invq';

/** All models, in order from strongest to weakest. */
export const MEMORY_MODELS: readonly MemoryModel[] = ['sc', 'tso', 'pso', 'invq'];

/** One store waiting in a CPU's store buffer. */
export interface SbEntry {
  readonly cell: Cell;
  readonly value: number;
  /** `smp_wmb` count at the time of the store: an entry may not drain before older epochs. */
  readonly epoch: number;
}

/** A CPU's store buffer. */
export class StoreBuffer {
  readonly entries: SbEntry[] = [];
  /** Count of write barriers (smp_wmb, release) issued by this CPU. */
  epoch = 0;

  /** Newest buffered value of `cell`, or undefined. */
  lookup(cell: Cell): number | undefined {
    const e = this.entries;
    for (let i = e.length - 1; i >= 0; i--) if (e[i]!.cell === cell) return e[i]!.value;
    return undefined;
  }

  /**
   * Indices of the entries that may drain next under `model`. For tso only the oldest; for
   * pso/invq the oldest entry of each cell that has no older entry of a smaller epoch before it.
   */
  drainable(model: MemoryModel, out: number[]): number[] {
    out.length = 0;
    const e = this.entries;
    if (e.length === 0) return out;
    if (model === 'tso' || model === 'sc') {
      out.push(0);
      return out;
    }
    const minEpoch = e[0]!.epoch;
    for (let i = 0; i < e.length; i++) {
      const en = e[i]!;
      if (en.epoch !== minEpoch) break;
      let older = false;
      for (let j = 0; j < i; j++) {
        if (e[j]!.cell === en.cell) {
          older = true;
          break;
        }
      }
      if (!older) out.push(i);
    }
    return out;
  }
}

/**
 * Memory state shared by all CPUs: the global write stamp and, per CPU, the stamp at which it
 * last processed its invalidate queue (invq only).
 */
export class MemorySystem {
  readonly model: MemoryModel;
  /** Incremented each time a value reaches memory. */
  stamp = 0;
  /** Per CPU: memory stamp at its last invalidate-queue flush. */
  readonly flushed: number[];

  constructor(model: MemoryModel, cpus: number) {
    this.model = model;
    this.flushed = new Array<number>(cpus).fill(0);
  }

  /** Writes `value` to memory (a drain or a locked operation) on behalf of `cpu`. */
  commit(cpu: number, cell: Cell, value: number): void {
    cell.value = value;
    if (this.model === 'invq') {
      this.stamp++;
      cell.hist.push(value);
      cell.stamps.push(this.stamp);
      cell.seen[cpu] = cell.hist.length - 1;
    }
  }

  /**
   * invq: the range of `hist` indices a load by `cpu` may return: from the newest of (what it
   * has seen, what was in memory at its last flush) to the newest value.
   */
  staleRange(cpu: number, cell: Cell): number {
    const seen = cell.seen[cpu] ?? 0;
    const fl = this.flushed[cpu]!;
    let lo = seen;
    const st = cell.stamps;
    for (let i = st.length - 1; i > lo; i--) {
      if (st[i]! <= fl) {
        lo = i;
        break;
      }
    }
    return lo;
  }

  /** invq: process the invalidate queue (smp_rmb, acquire, smp_mb, locked RMW). */
  flush(cpu: number): void {
    this.flushed[cpu] = this.stamp;
  }
}

/** A store enters `cpu`'s store buffer (a release store first closes its epoch: see `StoreBuffer`). */
export function bufferStore(
  k: Kernel,
  cpu: Cpu,
  cell: Cell,
  value: number,
  release: boolean,
  how: string,
): void {
  const sb = cpu.sb;
  if (release) sb.epoch++;
  sb.entries.push({ cell, value, epoch: sb.epoch });
  if (k.tracing) k.emit('mem.store', { cell: cell.name, value, buffered: true, op: how });
}

/** Executes a fence if it is local now; returns false if it must wait for the store buffer. */
export function fenceLocal(k: Kernel, cpu: Cpu, kind: string): boolean {
  const model = k.config.memoryModel;
  if (kind === 'barrier') return true;
  if (kind === 'smp_wmb') {
    if (model === 'pso' || model === 'invq') cpu.sb.epoch++;
    if (k.tracing) k.emit('mem.fence', { op: kind });
    return true;
  }
  if (kind === 'smp_rmb') {
    if (model === 'invq') k.mem.flush(cpu.id);
    if (k.tracing) k.emit('mem.fence', { op: kind });
    return true;
  }
  // smp_mb
  if (cpu.sb.entries.length > 0) return false;
  if (model === 'invq') k.mem.flush(cpu.id);
  if (k.tracing) k.emit('mem.fence', { op: kind });
  return true;
}

/** A load by `cpu` under the configured model: its own buffered store, memory, or (invq) a stale copy. */
export function load(k: Kernel, cpu: Cpu, cell: Cell, how: string): number {
  const model = k.config.memoryModel;
  const buffered = model === 'sc' ? undefined : cpu.sb.lookup(cell);
  let value: number;
  let from: 'memory' | 'buffer' | 'stale' = 'memory';
  if (buffered !== undefined) {
    value = buffered;
    from = 'buffer';
  } else if (model === 'invq') {
    const lo = k.mem.staleRange(cpu.id, cell);
    const n = cell.hist.length - lo;
    const idx = lo + (n > 1 ? k.choose(n, 'load') : 0);
    cell.seen[cpu.id] = idx;
    value = cell.hist[idx]!;
    if (idx < cell.hist.length - 1) from = 'stale';
  } else {
    value = cell.value;
  }
  if (how === 'smp_load_acquire' && model === 'invq') k.mem.flush(cpu.id);
  if (k.tracing) k.emit('mem.load', { cell: cell.name, value, from, op: how });
  return value;
}

/** Store-buffer entry `idx` of `cpu` reaches memory (a drain action of the step loop). */
export function drain(k: Kernel, cpu: Cpu, idx: number): void {
  const e = cpu.sb.entries.splice(idx, 1)[0] as SbEntry;
  k.mem.commit(cpu.id, e.cell, e.value);
  const save = cur.cpu;
  cur.cpu = cpu;
  if (k.tracing) k.emit('mem.drain', { cell: e.cell.name, value: e.value, from: cpu.id });
  cur.cpu = save;
}

/** A store executed as a step (unbuffered: sc, or a store that waited for its turn). */
export function store(k: Kernel, cpu: Cpu, o: StoreOp): void {
  k.mem.commit(cpu.id, o.cell, o.value);
  if (o.how === 'smp_store_mb') {
    if (k.tracing)
      k.emit('mem.store', {
        cell: o.cell.name,
        value: o.value,
        buffered: false,
        op: 'WRITE_ONCE',
      });
    fenceLocal(k, cpu, 'smp_mb');
  } else {
    if (k.tracing) k.emit('mem.store', { cell: o.cell.name, value: o.value, buffered: false, op: o.how });
  }
}

/** A locked read-modify-write (atomic_*, xchg, cmpxchg): returns the old or the new value. */
export function rmw(k: Kernel, cpu: Cpu, o: RmwOp): number {
  const old = o.cell.value;
  const nv = o.fn(old);
  if (nv !== old || o.name !== 'cmpxchg') k.mem.commit(cpu.id, o.cell, nv);
  if (k.config.memoryModel === 'invq') {
    o.cell.seen[cpu.id] = o.cell.hist.length - 1;
    if (o.ordered) k.mem.flush(cpu.id);
  }
  if (k.tracing) k.emit('mem.rmw', { cell: o.cell.name, old, value: nv, op: o.name });
  return o.ret === 'old' ? old : nv;
}
