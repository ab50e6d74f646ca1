/**
 * `/dev/aiotest`: a character device made for AIO scenarios and tests. A read fills the buffer
 * with a pattern (byte i of offset o is `(o + i) & 0xff`); its AIO read completes from an
 * interrupt after `latencyNs`, and stays cancellable until that interrupt starts the
 * transfer. It keeps AIO races small: no block layer, no page cache, just the request's life.
 */

import type { Kernel } from '../kernel/kernel.js';
import { atomic, type KernelCode } from '../kernel/ops.js';
import { File, type FileOperations, type Ppos, type Process } from '../kernel/process.js';
import {
  kernel,
  schedule,
  set_current_state,
  TASK_INTERRUPTIBLE,
  TASK_RUNNING,
  wake_up_process,
} from '../kernel/sched.js';
import { register_path } from '../kernel/syscalls.js';
import type { Task } from '../kernel/task.js';
import { aio_complete, aio_start, type Kiocb } from './kioctx.js';
import type { AioMethods } from './syscalls.js';

/** The pattern a read of `len` bytes at `pos` returns. */
export function testPattern(pos: number, len: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (pos + i) & 0xff;
  return b;
}

/** How `/dev/aiotest` completes its AIO reads. */
export interface AioTestOptions {
  /** Completion latency in ns (interrupt mode). */
  readonly latencyNs?: number;
  /**
   * `'irq'`: a timer raises an interrupt that completes the read (the default);
   * `'kthread'`: a kernel thread pinned to CPU 0 (`aiotestd`) completes queued reads as soon as
   * it runs — fewer global events, so exhaustive exploration of a scenario stays small.
   */
  readonly via?: 'irq' | 'kthread';
}

/** Registers `/dev/aiotest`. */
export function register_aiotest(k: Kernel, opts: AioTestOptions | number = {}): void {
  const o: AioTestOptions = typeof opts === 'number' ? { latencyNs: opts } : opts;
  const latencyNs = o.latencyNs ?? 1000;
  const queue: { req: Kiocb; gen: number }[] = [];
  const qobj = k.newObjectId();
  let daemon: Task | null = null;
  const transfer = function* (req: Kiocb, gen: number): KernelCode<void> {
    if (!(yield* aio_start(req, gen))) return;
    req.ctx.process.mm.copy_to_user(req.buf, testPattern(req.pos, req.nbytes));
    yield* aio_complete(req, req.nbytes);
  };
  if (o.via === 'kthread') {
    daemon = k.spawn(
      'aiotestd',
      function* aiotestd() {
        for (;;) {
          const item = yield* atomic(qobj, true, 'aiotest queue', () => queue.shift());
          if (item !== undefined) {
            yield* transfer(item.req, item.gen);
            k.release();
            continue;
          }
          yield* set_current_state(TASK_INTERRUPTIBLE);
          const more = yield* atomic(qobj, false, 'aiotest queue', () => queue.length);
          if (more === 0) yield* schedule('aiotest queue');
          yield* set_current_state(TASK_RUNNING);
        }
      },
      { cpu: 0, pinned: true, daemon: true },
    );
  }
  const ops: FileOperations & AioMethods = {
    name: 'aiotest',
    *read(_f: File, p: Process, buf: number, count: number, ppos: Ppos): KernelCode<number> {
      p.mm.copy_to_user(buf, testPattern(ppos.pos, count));
      ppos.pos += count;
      return count;
    },
    *aio_read(_f: File, req: Kiocb): KernelCode<number> {
      const gen = req.gen;
      const kk = kernel();
      kk.hold();
      if (daemon !== null) {
        const d = daemon;
        yield* atomic(qobj, true, 'aiotest queue', () => queue.push({ req, gen }));
        req.cancel = function* aiotest_cancel() {};
        yield* wake_up_process(d);
        return 0;
      }
      let fired = false;
      const timer = kk.after(latencyNs, 'aiotest completion', () => {
        fired = true;
        kk.raise_irq('aiotest', function* aiotest_irq() {
          kk.release();
          yield* transfer(req, gen);
        });
      });
      req.cancel = function* aiotest_cancel() {
        if (!fired && timer.cancel()) kk.release();
      };
      return 0;
    },
  };
  register_path(k, '/dev/aiotest', function* (_p, path, flags) {
    return new File(ops, flags, path);
  });
}
