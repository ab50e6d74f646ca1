/**
 * What is running now. The simulator is single-threaded and resumes one context at a time,
 * so, as in the kernel, "current" is global state set around every resume.
 */
import type { Cpu } from './cpu.js';
import type { Kernel } from './kernel.js';
import type { Context, Task } from './task.js';

export const current: {
  kernel: Kernel | null;
  cpu: Cpu | null;
  task: Task | null;
  ctx: Context | null;
} = { kernel: null, cpu: null, task: null, ctx: null };
