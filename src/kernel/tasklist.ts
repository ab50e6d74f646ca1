/**
 * The task list: the tasks that have not exited, and the name of every task there ever was.
 *
 * As in the kernel, an exited task leaves the task list (2.4's `release_task` unhashes it), and
 * once nothing simulated refers to it, it is garbage: a run that spawns a task per request keeps
 * memory flat however many requests it serves. Traces and reports still name every pid, so the
 * list keeps each task's name, compactly: pids are handed out consecutively, and a run of
 * consecutive pids with the same name (500,000 customers called `c`) is one entry.
 *
 * Removal keeps pid order (hang reports list tasks in that order) and costs O(1) amortised: an
 * exited task is only counted, and the list drops its exited tasks in one pass once they are
 * more than half of it, or when it is read.
 */
import type { Task } from './task.js';

/** Exited tasks the list may hold before they can be more than half of it. */
const SLACK = 16;

export class TaskList {
  /** Tasks in pid order, the exited ones among them not yet dropped. */
  private readonly list: Task[] = [];
  /** How many tasks in `list` have exited. */
  private dead = 0;
  /** First pid of each run of consecutive pids with one name, and that name. */
  private readonly runPid: number[] = [];
  private readonly runName: string[] = [];
  /** The last pid added (0: none yet). */
  private lastPid = 0;

  /** Lists `t`, whose pid must be the next one after the last added. */
  add(t: Task): void {
    if (t.id !== this.lastPid + 1) throw new Error(`TaskList.add: pid ${t.id} after ${this.lastPid}`);
    this.lastPid = t.id;
    const n = this.runName.length;
    if (n === 0 || this.runName[n - 1] !== t.name) {
      this.runPid.push(t.id);
      this.runName.push(t.name);
    }
    this.list.push(t);
  }

  /** Unlists `t`, which has just exited. */
  release(t: Task): void {
    if (!t.exited) throw new Error(`TaskList.release: ${t.name} (pid ${t.id}) has not exited`);
    if (++this.dead > SLACK && this.dead * 2 > this.list.length) this.compact();
  }

  /** The tasks that have not exited, in pid order. */
  live(): readonly Task[] {
    if (this.dead > 0) this.compact();
    return this.list;
  }

  /** Pid and name of every task added, exited or not, in pid order. */
  names(): { pid: number; name: string }[] {
    const out: { pid: number; name: string }[] = [];
    const runs = this.runPid.length;
    for (let r = 0; r < runs; r++) {
      const end = r + 1 < runs ? this.runPid[r + 1]! : this.lastPid + 1;
      const name = this.runName[r]!;
      for (let pid = this.runPid[r]!; pid < end; pid++) out.push({ pid, name });
    }
    return out;
  }

  private compact(): void {
    const list = this.list;
    let j = 0;
    for (let i = 0; i < list.length; i++) {
      const t = list[i]!;
      if (!t.exited) list[j++] = t;
    }
    list.length = j;
    this.dead = 0;
  }
}
