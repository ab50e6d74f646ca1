/**
 * Work To Dos (`src/wtd`): non-blocking state machines run by the shared keventd worker pool.
 *
 * - `worktodo.ts`: `struct worktodo`, `wtd_init`, `wtd_set_action`, `wtd_queue`, `wtd_call`,
 *   the continuation stack (`wtd_push`/`wtd_pop`), and the "never sleeps" check;
 * - `primitives.ts`: `wtd_lock_page`, `wtd_wait_page`, `wtd_lock_buffer`,
 *   `wtd_wait_on_buffer`, `wtd_down`;
 * - `chain.ts`: multi-step paths as named steps (`wtd_chain`, `wtd_chain_start`).
 */
export type { WtdChain, WtdStep } from './chain.js';
export { WTD_NEXT, WTD_WAIT, wtd_chain, wtd_chain_start } from './chain.js';
export {
  wtd_down,
  wtd_lock_buffer,
  wtd_lock_page,
  wtd_wait_on_buffer,
  wtd_wait_page,
} from './primitives.js';
export type { WtdAction, WtdFrame } from './worktodo.js';
export {
  Worktodo,
  WTD_STACK_DEPTH,
  wtd_call,
  wtd_calls_in_progress,
  wtd_describe,
  wtd_init,
  wtd_mark,
  wtd_nonblocking,
  wtd_pop,
  wtd_push,
  wtd_queue,
  wtd_set_action,
  wtd_unmark,
} from './worktodo.js';
