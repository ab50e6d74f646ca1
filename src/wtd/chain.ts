/**
 * Chains: a multi-step asynchronous path written as a list of named steps on one worktodo.
 *
 *     const read = wtd_chain('read', {
 *       *lock(wtd)     { return yield* wtd_lock_page(wtd, page); },    // 1: got it, 0: parked
 *       *readpage(wtd) { startIo(page); return WTD_NEXT; },            // IO completion unlocks
 *       *wait(wtd)     { return yield* wtd_wait_page(wtd, page); },
 *       *copy(wtd)     { copyOut(page); return more() ? 'lock' : WTD_NEXT; },
 *       *complete(wtd) { done(); return WTD_NEXT; },
 *     });
 *     yield* wtd_chain_start(wtd, read);   // in the submitter: returns without sleeping
 *
 * Before a step runs, the wtd's action is set to "resume at the following step", so a step
 * that calls a `wtd_*` primitive simply returns what the primitive returned: 1 (`WTD_NEXT`,
 * it got what it asked for: go straight on, in the same context) or 0 (`WTD_WAIT`, the wtd is
 * registered: the next step will run on a keventd worker when the func entry queues it). A
 * step may also return another step's name to jump there at once (a loop). A step that hands
 * the wtd's continuation to someone else (`wtd_push` to a sub-machine that will `wtd_pop` and
 * `wtd_call`) returns `WTD_WAIT` too.
 *
 * This is the shape LaHaise's `generic_file_read` state machine took in the 2.4 AIO patch,
 * where each `__iodesc_*` function ends with `if (!wtd_lock_page(...)) return;` and falls
 * through otherwise; the builder only names the states and writes the fall-through once.
 */
import type { KernelCode } from '../kernel/ops.js';
import { type Worktodo, type WtdAction, wtd_nonblocking, wtd_set_action } from './worktodo.js';

/** A step result: go on now. */
export const WTD_NEXT = 1;
/** A step result: the wtd is parked (or handed over); someone else continues it. */
export const WTD_WAIT = 0;

/** One step: 1/`WTD_NEXT` = go on, 0/`WTD_WAIT` = parked, a step name = jump there now. */
export type WtdStep = (wtd: Worktodo) => KernelCode<number | string>;

/** A built chain: named steps and, for each, the action that resumes the chain there. */
export interface WtdChain {
  readonly name: string;
  readonly steps: readonly { readonly name: string; readonly run: WtdStep }[];
  /** `resume[i]`: the wtd action that continues the chain at step i (named `<chain>.<step>`). */
  readonly resume: readonly WtdAction[];
}

/** Builds a chain from named steps, in order. */
export function wtd_chain(name: string, steps: Readonly<Record<string, WtdStep>>): WtdChain {
  const list = Object.entries(steps).map(([n, run]) => ({ name: n, run }));
  if (list.length === 0) throw new Error(`wtd_chain('${name}'): no steps`);
  const resume: WtdAction[] = [];
  const chain: WtdChain = { name, steps: list, resume };
  list.forEach((s, i) => {
    const action: WtdAction = (wtd) => runChain(wtd, chain, i);
    Object.defineProperty(action, 'name', { value: `${name}.${s.name}` });
    resume.push(action);
  });
  return chain;
}

function* runChain(wtd: Worktodo, chain: WtdChain, from: number): KernelCode<void> {
  let i = from;
  while (i < chain.steps.length) {
    const step = chain.steps[i]!;
    // What a wake-up will run: the step after this one (or, after the last, nothing new).
    if (i + 1 < chain.steps.length) wtd_set_action(wtd, chain.resume[i + 1]!, null);
    const r = yield* step.run(wtd);
    if (typeof r === 'string') {
      const j = chain.steps.findIndex((s) => s.name === r);
      if (j < 0)
        throw new Error(`wtd chain '${chain.name}': step '${step.name}' jumps to unknown step '${r}'`);
      i = j;
    } else if (r === WTD_WAIT) {
      return;
    } else if (r === WTD_NEXT) {
      i++;
    } else {
      throw new Error(
        `wtd chain '${chain.name}': step '${step.name}' returned ${r} (use 0, 1 or a step name)`,
      );
    }
  }
}

/**
 * Starts `chain` on `wtd` at step `at` (default the first), in the caller's context. Steps run
 * here until one parks the wtd; the call never sleeps (checked: it is a `wtd_*` call).
 */
export function wtd_chain_start(wtd: Worktodo, chain: WtdChain, at?: string): KernelCode<void> {
  let from = 0;
  if (at !== undefined) {
    from = chain.steps.findIndex((s) => s.name === at);
    if (from < 0) throw new Error(`wtd_chain_start: chain '${chain.name}' has no step '${at}'`);
  }
  return wtd_nonblocking('wtd_chain_start', () => runChain(wtd, chain, from));
}
