/**
 * A simulated CPU: its context stack (the task it runs, with interrupt handlers on top), its
 * run queue, its store buffer, and its interrupt-enable state.
 */
import { StoreBuffer } from './memory.js';
import type { KernelCode } from './ops.js';
import type { Spinlock } from './spinlock.js';
import type { Context, Task } from './task.js';

/** An interrupt waiting to be taken by a CPU. */
export interface IrqRequest {
  readonly name: string;
  readonly handler: () => KernelCode<unknown>;
}

export class Cpu {
  readonly id: number;
  /** Running contexts: the task (if any) at the bottom, interrupt handlers above; the top runs. */
  readonly stack: Context[] = [];
  /** The task owning this CPU, or null when idle. */
  task: Task | null = null;
  /** Runnable tasks waiting for this CPU, FIFO. */
  readonly runqueue: Task[] = [];
  /** The store buffer (unused under sc). */
  readonly sb: StoreBuffer = new StoreBuffer();
  /** Local interrupts disabled. */
  irqsOff = false;
  /** Bottom halves disabled (nesting count). */
  bhOff = 0;
  /** Interrupts raised on this CPU and not yet taken. */
  readonly pendingIrqs: IrqRequest[] = [];
  /**
   * The context whose step is running on this CPU right now (kernel-private), or null. An
   * interrupt raised for this CPU meanwhile (from a step on another CPU, or a timer) waits for
   * the step to end: steps are atomic.
   */
  stepping: Context | null = null;
  /** Timed runs: executing a cpu() cost until its end event. */
  busy = false;
  /** When the current cost ends, and its heap event (to cancel when an interrupt cuts in). */
  costEnd = 0;
  costEvent: { cancel(): boolean } | null = null;
  /** The cost event object, kept to be armed again once it is off the heap (kernel-private). */
  costTimer: unknown = null;
  /** The lock this CPU is spinning on (for the trace and hang reports), or null. */
  spinning: Spinlock | null = null;
  /** Time this CPU spent on costs (ns) and spinning (steps it was blocked on a lock). */
  busyNs = 0;

  constructor(id: number) {
    this.id = id;
  }

  /** The context that runs next on this CPU, or null when idle. */
  top(): Context | null {
    const s = this.stack;
    return s.length === 0 ? null : s[s.length - 1]!;
  }
}
