/**
 * Typed trace events.
 *
 * Every state change inside the simulated machine is one of these. Kinds are namespaced
 * (`sched.*`, `irq.*`, `mem.*`, `lock.*`, `wq.*`, ...). Each event carries the step number
 * (`step`, counted by the kernel: one per executed visible operation), the simulated time in
 * integer nanoseconds (`t`), the CPU it happened on (`cpu`, -1 when none) and the pid of the
 * task that was current there (`pid`, -1 for idle or interrupt context).
 *
 * Events hold only plain data (numbers, strings, booleans), so a trace serialises to the
 * same bytes on every run: that is what the determinism contract is checked on.
 */

/** Fields every event has. */
export interface TraceBase {
  /** Kernel step counter when the event was emitted. */
  step: number;
  /** Simulated time, integer nanoseconds. */
  t: number;
  /** CPU the event happened on, or -1. */
  cpu: number;
  /** Pid of the task current on that CPU, or -1 (idle, interrupt, or no CPU). */
  pid: number;
}

/** Where a load found its value. */
export type LoadSource = 'memory' | 'buffer' | 'stale';

/** The payloads, keyed by kind. */
export interface TracePayloads {
  'task.new': { task: number; name: string; onCpu: number };
  'task.exit': { task: number; name: string };
  'sched.switch': { prev: number; next: number; prevState: string };
  'sched.sleep': { task: number; state: string; on: string };
  'sched.wakeup': { task: number; woken: boolean };
  'sched.migrate': { task: number; from: number; to: number };
  'cpu.cost': { ns: number };
  'irq.raise': { irq: string; target: number };
  'irq.enter': { irq: string };
  'irq.exit': { irq: string };
  'irq.disable': Record<string, never>;
  'irq.enable': Record<string, never>;
  'timer.add': { timer: number; expires: number; what: string };
  'timer.fire': { timer: number; what: string };
  'timer.cancel': { timer: number; what: string };
  'tq.queue': { queue: string; what: string };
  'tq.run': { queue: string; what: string };
  'mem.load': { cell: string; value: number; from: LoadSource; op: string };
  'mem.store': { cell: string; value: number; buffered: boolean; op: string };
  'mem.drain': { cell: string; value: number; from: number };
  'mem.rmw': { cell: string; old: number; value: number; op: string };
  'mem.fence': { op: string };
  /** The flavour of acquisition (`spin_lock`, `spin_lock_irqsave`, ...) is `lockKind`. */
  'lock.acquire': { lock: string; lockKind: string };
  /** As `lock.acquire`. */
  'lock.release': { lock: string; lockKind: string };
  'lock.spin': { lock: string; holder: number };
  'sem.down': { sem: string; count: number; slept: boolean };
  'sem.up': { sem: string; count: number };
  'wq.add': { wq: string; entry: string; exclusive: boolean };
  'wq.remove': { wq: string; entry: string };
  'wq.wake': { wq: string; entry: string; func: string; result: number };
  note: { text: string };
  /** A violation: its kind (`hang`, `invariant`, `lock-validator`, `bug`) and message. */
  violation: { violationKind: string; message: string };
  'io.submit': { dev: string; rw: string; sector: number; bytes: number; req: number };
  'io.start': { dev: string; rw: string; sector: number; bytes: number; req: number };
  'io.complete': { dev: string; rw: string; sector: number; bytes: number; req: number; res: number };
  'page.flag': { page: string; flag: string; set: boolean };
  'aio.submit': { ctx: number; idx: number; op: string };
  'aio.complete': { ctx: number; idx: number; res: number };
  'aio.cancel': { ctx: number; idx: number; res: number };
  'wtd.queue': { wtd: string; action: string };
  'wtd.run': { wtd: string; action: string };
}

/** All event kinds. */
export type TraceKind = keyof TracePayloads;

/** One trace event: the base fields, the kind, and that kind's payload. */
export type TraceEvent = {
  [K in TraceKind]: TraceBase & { kind: K } & TracePayloads[K];
}[TraceKind];

/** The event of one kind. */
export type TraceEventOf<K extends TraceKind> = TraceBase & { kind: K } & TracePayloads[K];
