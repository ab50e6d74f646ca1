/**
 * Buffer heads: `struct buffer_head` and buffer locking/waiting (2.4's `fs/buffer.c`).
 *
 * `b_state` is a cell of BH_* bits; `b_wait` is the buffer's wait queue; `b_end_io` is called
 * (in interrupt context) when the block layer completes IO on it. `lock_buffer` takes BH_Lock
 * with test_and_set_bit, sleeping on `b_wait` while it is held; `unlock_buffer` clears it and
 * wakes `b_wait`. As in 2.4's `__wait_on_buffer`, a task about to sleep on a buffer first runs
 * `tq_disk` so that a plugged request queue starts the IO it waits for.
 */
import type { Cell } from '../kernel/cell.js';
import type { Kernel } from '../kernel/kernel.js';
import {
  clear_bit,
  type KernelCode,
  type Op,
  READ_ONCE,
  set_bit,
  smp_mb,
  test_and_clear_bit,
  test_and_set_bit,
} from '../kernel/ops.js';
import { prebuilt } from '../kernel/prebuilt.js';
import {
  current,
  kernel,
  schedule,
  set_current_state,
  TASK_RUNNING,
  TASK_UNINTERRUPTIBLE,
} from '../kernel/sched.js';
import { run_task_queue, tq_disk } from '../kernel/tqueue.js';
import {
  add_wait_queue,
  DECLARE_WAITQUEUE,
  init_waitqueue_head,
  remove_wait_queue,
  type WaitQueueHead,
  wake_up_all,
} from '../waitqueue/waitqueue.js';

/** Buffer state bits. */
export const BH_Uptodate = 0;
export const BH_Dirty = 1;
export const BH_Lock = 2;
export const BH_Req = 3;

/** `b_end_io(bh, uptodate)`: completion callback, run in interrupt context. */
export type EndIo = (bh: BufferHead, uptodate: boolean) => KernelCode<void>;

/** `struct buffer_head`. */
export class BufferHead {
  readonly name: string;
  /** Block number on the device, and the size in bytes. */
  b_blocknr: number;
  readonly b_size: number;
  /** Device the block lives on (an object of the block layer). */
  b_dev: unknown;
  /** Device and 512-byte sector the request is really for, after remapping (RAID0). */
  b_rdev: unknown = null;
  b_rsector = 0;
  /** BH_* bits, a cell. */
  readonly b_state: Cell;
  readonly b_wait: WaitQueueHead;
  /** The bytes (often a view into a page). */
  b_data: Uint8Array;
  b_end_io: EndIo | null = null;
  /** Owner data for the completion (a page, a kiobuf ...). */
  b_private: unknown = null;
  /** `set_bit(BH_Req, &b_state)`'s operation, made on first use (`set_req_op`). */
  reqOp: Op | null = null;
  constructor(
    name: string,
    blocknr: number,
    size: number,
    state: Cell,
    wait: WaitQueueHead,
    data: Uint8Array,
  ) {
    this.name = name;
    this.b_blocknr = blocknr;
    this.b_size = size;
    this.b_state = state;
    this.b_wait = wait;
    this.b_data = data;
    this.b_dev = null;
  }
}

/** Allocates a buffer head over `data` (or fresh bytes). */
export function alloc_buffer_head(
  k: Kernel,
  name: string,
  blocknr: number,
  size: number,
  data?: Uint8Array,
): BufferHead {
  return new BufferHead(
    name,
    blocknr,
    size,
    k.cell(`${name}.state`, 0),
    init_waitqueue_head(k, `${name}.wait`, 'bh.wait'),
    data ?? new Uint8Array(size),
  );
}

/**
 * The operation of `set_bit(BH_Req, &bh->b_state)`, made once per buffer head, for a hot path
 * that yields it directly (its result, the new value, is not `set_bit`'s: do not use it).
 */
export function set_req_op(bh: BufferHead): Op {
  let op = bh.reqOp;
  if (op === null) {
    op = prebuilt(set_bit(BH_Req, bh.b_state));
    bh.reqOp = op;
  }
  return op;
}

function* testBit(bh: BufferHead, bit: number): KernelCode<boolean> {
  return (((yield* READ_ONCE(bh.b_state)) >> bit) & 1) === 1;
}

/** `buffer_locked(bh)`: a lockless test of BH_Lock. */
export function buffer_locked(bh: BufferHead): KernelCode<boolean> {
  return testBit(bh, BH_Lock);
}
/** `buffer_uptodate(bh)`. */
export function buffer_uptodate(bh: BufferHead): KernelCode<boolean> {
  return testBit(bh, BH_Uptodate);
}
/** `buffer_dirty(bh)`. */
export function buffer_dirty(bh: BufferHead): KernelCode<boolean> {
  return testBit(bh, BH_Dirty);
}
/** `mark_buffer_uptodate(bh, on)`. */
export function* mark_buffer_uptodate(bh: BufferHead, on: boolean): KernelCode<void> {
  if (on) yield* set_bit(BH_Uptodate, bh.b_state);
  else yield* clear_bit(BH_Uptodate, bh.b_state);
}
/** `mark_buffer_dirty(bh)`. */
export function mark_buffer_dirty(bh: BufferHead): KernelCode<void> {
  return set_bit(BH_Dirty, bh.b_state);
}
/** `mark_buffer_clean(bh)`. */
export function mark_buffer_clean(bh: BufferHead): KernelCode<void> {
  return clear_bit(BH_Dirty, bh.b_state);
}

/** `atomic_set_buffer_clean(bh)`: clears BH_Dirty, returning whether it was set. */
export function* test_clear_buffer_dirty(bh: BufferHead): KernelCode<boolean> {
  return (yield* test_and_clear_bit(BH_Dirty, bh.b_state)) === 1;
}

/** `wait_on_buffer(bh)`: sleeps until BH_Lock is clear. */
export function* wait_on_buffer(bh: BufferHead): KernelCode<void> {
  if (!(yield* buffer_locked(bh))) return;
  const t = current();
  const wait = DECLARE_WAITQUEUE(`wait_on_buffer:${t.name}`, t);
  yield* add_wait_queue(bh.b_wait, wait);
  for (;;) {
    yield* set_current_state(TASK_UNINTERRUPTIBLE);
    if (!(yield* buffer_locked(bh))) break;
    yield* run_task_queue(tq_disk(kernel()));
    yield* schedule(`buffer ${bh.name}`);
  }
  yield* set_current_state(TASK_RUNNING);
  yield* remove_wait_queue(bh.b_wait, wait);
}

/** `lock_buffer(bh)`: takes BH_Lock, sleeping while it is held. */
export function* lock_buffer(bh: BufferHead): KernelCode<void> {
  while ((yield* test_and_set_bit(BH_Lock, bh.b_state)) !== 0) yield* wait_on_buffer(bh);
}

/** `unlock_buffer(bh)`: clears BH_Lock and wakes `b_wait`. */
export function* unlock_buffer(bh: BufferHead): KernelCode<void> {
  yield* clear_bit(BH_Lock, bh.b_state);
  yield* smp_mb(); // smp_mb__after_clear_bit()
  yield* wake_up_all(bh.b_wait);
}
