/**
 * aiosim's public API: the simulated kernel and its primitives (kernel names), the explorer,
 * scenarios, replay tokens and trace exporters.
 */

export type {
  Cut,
  ExploreOptions,
  ExploreReport,
  FoundViolation,
  Progress,
  Strategy,
  Verdict,
} from './check/explore.js';
export { explore, exploreAsync, STRATEGIES, verdictOf } from './check/explore.js';
export type { RunWithScheduleOptions, ScheduledRun, ScheduleOptions } from './check/fc.js';
export { runWithSchedule, schedules } from './check/fc.js';
export type { ReplayOutcome } from './check/replay.js';
export { replayToken } from './check/replay.js';
export type { RunReport, RunScenarioOptions } from './check/runner.js';
export { runScenario } from './check/runner.js';
export type { Scenario, ScenarioBounds, ScenarioInstance } from './check/scenario.js';
export type { ReplayToken } from './check/token.js';
export { decodeToken, encodeToken, TOKEN_PREFIX, TokenError } from './check/token.js';
export { Cell } from './kernel/cell.js';
export type { ActionInfo, ChoicePoint, ChoiceWhy, Chooser } from './kernel/chooser.js';
export { fromArray, RecordingChooser, ReplayDivergence, replay, seeded } from './kernel/chooser.js';
export * from './kernel/errno.js';
export type { KernelConfig, RunOptions, RunResult, RunStatus, WakeSemantics } from './kernel/kernel.js';
export { DEFAULT_KERNEL_CONFIG, Kernel } from './kernel/kernel.js';
export type { MemoryModel } from './kernel/memory.js';
export { MEMORY_MODELS } from './kernel/memory.js';
export type { KernelCode, Op } from './kernel/ops.js';
export {
  atomic,
  atomic_add_return,
  atomic_dec,
  atomic_dec_and_test,
  atomic_inc,
  atomic_read,
  atomic_set,
  barrier,
  clear_bit,
  cmpxchg,
  cpu,
  local_irq_disable,
  local_irq_enable,
  local_irq_restore,
  local_irq_save,
  note,
  READ_ONCE,
  set_bit,
  smp_load_acquire,
  smp_mb,
  smp_rmb,
  smp_store_mb,
  smp_store_release,
  smp_wmb,
  test_and_clear_bit,
  test_and_set_bit,
  test_bit,
  WRITE_ONCE,
  xchg,
} from './kernel/ops.js';
export {
  __set_current_state,
  current,
  in_interrupt,
  kernel,
  MAX_SCHEDULE_TIMEOUT,
  schedule,
  schedule_timeout,
  send_sig,
  set_current_state,
  signal_pending,
  smp_processor_id,
  TASK_INTERRUPTIBLE,
  TASK_NORMAL,
  TASK_RUNNING,
  TASK_UNINTERRUPTIBLE,
  try_to_wake_up,
  wake_up_process,
} from './kernel/sched.js';
export {
  Spinlock,
  spin_lock,
  spin_lock_bh,
  spin_lock_irq,
  spin_lock_irqsave,
  spin_trylock,
  spin_unlock,
  spin_unlock_bh,
  spin_unlock_irq,
  spin_unlock_irqrestore,
} from './kernel/spinlock.js';
export { create_process, register_path, register_syscall, syscall } from './kernel/syscalls.js';
export type { SpawnOptions } from './kernel/task.js';
export { Task } from './kernel/task.js';
export {
  add_timer,
  queue_task,
  run_task_queue,
  schedule_task,
  tq_disk,
  tq_immediate,
} from './kernel/tqueue.js';
export type { Violation, ViolationKind } from './kernel/violation.js';
export { findScenario, scenarios } from './scenarios/index.js';
export { chromeTrace, chromeTraceJson } from './trace/chrome.js';
export { columnView, markStoreLoadReordering } from './trace/columns.js';
export type { TraceEvent, TraceKind } from './trace/events.js';
export { htmlTimeline } from './trace/html.js';
export type { TraceMeta } from './trace/meta.js';
export { TraceRecorder } from './trace/recorder.js';
export { textLog } from './trace/text.js';
export { validateChromeTrace } from './trace/validate.js';
export { down, down_interruptible, down_trylock, Semaphore, sema_init, up } from './waitqueue/semaphore.js';
export * from './waitqueue/waitqueue.js';
