/**
 * Timed events: the clock's heap entries (`Timed`), the costs that keep a CPU busy, and firing
 * what comes due. `Kernel.after` and `Kernel.wake_after` are the public ways in; the step loop
 * (step.ts) fires due events in timed runs and offers the next one as a choice in untimed runs.
 *
 * Where things live: the step loop in step.ts, resuming a context in resume.ts, run queues and
 * schedule() in runqueue.ts, interrupts in irq.ts, the memory model in memory.ts, spinlock
 * semantics in spinlock.ts, each operation kind's rules in opexec.ts.
 */

import type { Cpu } from './cpu.js';
import { current as cur } from './current.js';
import { maybeTakeIrq } from './irq.js';
import type { Kernel } from './kernel.js';
import { advance } from './resume.js';
import { TASK_NORMAL, type Task } from './task.js';

/** A timed event on the heap; it is also the handle returned for cancelling it. */
export class Timed implements TimerHandle {
  cancelled = false;
  /** On the heap (a cancelled event stays there until it comes up). */
  queued = false;
  readonly kind: 'cpu' | 'call' | 'irq' | 'wake';
  readonly cpu: number;
  readonly fn: (() => void) | null;
  /** The task a 'wake' event wakes (schedule_timeout's timer), else null. */
  task: Task | null = null;
  /** The label, or its first part when `labelId` >= 0 (see `label`). */
  readonly labelText: string;
  /** A number the label ends with, or -1. */
  readonly labelId: number;
  readonly background: boolean;
  readonly owner: { fgEvents: number };
  constructor(
    owner: { fgEvents: number },
    kind: 'cpu' | 'call' | 'irq' | 'wake',
    cpu: number,
    fn: (() => void) | null,
    label: string,
    background: boolean,
    labelId = -1,
  ) {
    this.owner = owner;
    this.kind = kind;
    this.cpu = cpu;
    this.fn = fn;
    this.labelText = label;
    this.labelId = labelId;
    this.background = background;
  }
  /** What the event is, for the untimed mode's choices (built only when read). */
  get label(): string {
    return this.labelId < 0 ? this.labelText : `${this.labelText} ${this.labelId}`;
  }
  cancel(): boolean {
    if (this.cancelled) return false;
    this.cancelled = true;
    if (!this.background) this.owner.fgEvents--;
    return true;
  }
  pending(): boolean {
    return !this.cancelled;
  }
}

/** A handle to a pending timed event, for cancellation. */
export interface TimerHandle {
  /** Cancels the event; false if it already fired or was cancelled. */
  cancel(): boolean;
  /** True until the event fires or is cancelled. */
  pending(): boolean;
}

/**
 * `kept`, a kept event of this kernel, armed again if it is off the heap (fired, or cancelled
 * and come up); else a new event of `kind` (a cost on `cpu`, or schedule_timeout's wake-up).
 */
export function rearmed(k: Kernel, kept: Timed | null, kind: 'cpu' | 'wake', cpu: number): Timed {
  if (kept !== null && !kept.queued && kept.owner === k) {
    kept.cancelled = false;
    return kept;
  }
  return new Timed(k, kind, cpu, null, kind === 'cpu' ? 'cost' : 'schedule_timeout', false);
}

export function queueEvent(k: Kernel, time: number, ev: Timed): TimerHandle {
  ev.queued = true;
  k.heap.push(time, ev.kind === 'irq' ? 0 : 1, ev);
  if (!ev.background) k.fgEvents++;
  return ev;
}

export function startCost(k: Kernel, cpu: Cpu, ns: number): void {
  cpu.busy = true;
  cpu.costEnd = k.now + ns;
  // One event object per CPU, armed again when off the heap (an interrupt that cut into a
  // cost leaves the cancelled one there until it comes up).
  const ev = rearmed(k, cpu.costTimer as Timed | null, 'cpu', cpu.id);
  cpu.costTimer = ev;
  cpu.costEvent = queueEvent(k, cpu.costEnd, ev);
  if (k.tracing) emitCost(k, cpu, ns);
}

export function emitCost(k: Kernel, cpu: Cpu, ns: number): void {
  const save = cur.cpu;
  cur.cpu = cpu;
  k.emit('cpu.cost', { ns });
  cur.cpu = save;
}

export function skipCancelled(k: Kernel): void {
  while (k.heap.size > 0 && k.heap.peek().cancelled) k.heap.pop().queued = false;
}

/** Pops and fires the next timed event (advancing the clock to it). */
export function fireNext(k: Kernel): void {
  skipCancelled(k);
  const t = k.heap.peekTime();
  const ev = k.heap.pop();
  ev.queued = false;
  fire(k, ev, t);
}

/**
 * Fires every event due now, in heap order, until a violation stops the run (timed runs).
 * Cancelled events are dropped as they come up.
 */
export function fireDue(k: Kernel): void {
  const heap = k.heap;
  while (heap.size > 0 && k.stopStatus === null) {
    const t = heap.peekTime();
    if (t > k.now) return;
    const ev = heap.pop();
    ev.queued = false;
    if (!ev.cancelled) fire(k, ev, t);
  }
}

/** Fires `ev`, popped from the heap at time `t`. */
export function fire(k: Kernel, ev: Timed, t: number): void {
  if (t > k.now) k.now = t;
  if (!ev.background) k.fgEvents--;
  ev.cancelled = true;
  if (ev.kind === 'cpu') {
    const cpu = k.cpus[ev.cpu]!;
    cpu.busy = false;
    cpu.costEvent = null;
    const top = cpu.top();
    if (top === null) return;
    top.needsResume = true;
    if (k.timed) maybeTakeIrq(k, cpu);
    // An interrupt taken here that ended at once has resumed `top` already (finish): a second
    // resume would skip the operation it stopped in front of.
    if (cpu.top() === top && !cpu.busy && top.needsResume) advance(k, top, undefined);
    return;
  }
  if (ev.kind === 'wake') {
    k.try_to_wake_up(ev.task!, TASK_NORMAL);
    return;
  }
  ev.fn!();
}
