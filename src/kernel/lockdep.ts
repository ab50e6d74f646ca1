/**
 * The lock validator, in the manner of lockdep.
 *
 * Locks belong to classes (by default a lock's name). Every acquisition made while other
 * locks are held adds edges held-class → new-class to one order graph kept across the whole
 * run, each edge remembering where it was first seen (task, step). A new edge that closes a
 * cycle is an inversion — reported even though this run did not deadlock, because another
 * interleaving would. Also reported: taking a lock class already held (recursion), sleeping
 * with a spinlock held, and a class taken in interrupt context that is also taken with
 * interrupts enabled (the interrupt can arrive while it is held: a self-deadlock).
 */
import type { Violation } from './violation.js';

/** Where an acquisition happened, in scenario terms. */
export interface LockSite {
  readonly task: string;
  readonly step: number;
}

export class LockValidator {
  /** edges.get(a).get(b): b was taken while a was held, first at that site. */
  private readonly edges = new Map<string, Map<string, { held: LockSite; taken: LockSite }>>();
  private readonly inIrq = new Map<string, LockSite>();
  private readonly irqOn = new Map<string, LockSite>();
  private readonly reported = new Set<string>();
  readonly violations: Violation[] = [];

  /**
   * Records that `site.task` takes `cls` while holding `held` (outermost first), in IRQ context
   * or not, with interrupts enabled or not.
   */
  acquire(
    cls: string,
    held: readonly { cls: string; site: LockSite }[],
    site: LockSite,
    irqCtx: boolean,
    irqsOn: boolean,
  ): void {
    for (const h of held) {
      if (h.cls === cls) {
        this.report(
          `recursive:${cls}`,
          site.step,
          `recursive locking: ${site.task} takes '${cls}' (step ${site.step}) while already holding it (taken at step ${h.site.step})`,
        );
        return;
      }
    }
    for (const h of held) this.addEdge(h.cls, cls, h.site, site);
    if (irqCtx) {
      if (!this.inIrq.has(cls)) this.inIrq.set(cls, site);
    } else if (irqsOn) {
      if (!this.irqOn.has(cls)) this.irqOn.set(cls, site);
    }
    const a = this.inIrq.get(cls);
    const b = this.irqOn.get(cls);
    if (a !== undefined && b !== undefined) {
      this.report(
        `irq:${cls}`,
        site.step,
        `lock '${cls}' is taken in interrupt context (${a.task}, step ${a.step}) and also with interrupts enabled ` +
          `(${b.task}, step ${b.step}): the interrupt can arrive while it is held and spin forever on it`,
      );
    }
  }

  /** Records that a context sleeps while holding spinlocks. */
  sleepWithLocks(task: string, locks: readonly string[], step: number): void {
    this.report(
      `sleep:${task}:${locks.join(',')}`,
      step,
      `sleeping with a spinlock held: ${task} calls schedule() at step ${step} holding ${locks.map((l) => `'${l}'`).join(', ')}`,
    );
  }

  /** Classes in the order graph and their edges (for tests and reports). */
  graph(): [string, string][] {
    const out: [string, string][] = [];
    for (const [a, m] of this.edges) for (const b of m.keys()) out.push([a, b]);
    return out;
  }

  private addEdge(a: string, b: string, held: LockSite, taken: LockSite): void {
    let m = this.edges.get(a);
    if (m === undefined) {
      m = new Map();
      this.edges.set(a, m);
    }
    if (m.has(b)) return;
    // Does b already reach a? Then a → b closes a cycle.
    const path = this.findPath(b, a);
    m.set(b, { held, taken });
    if (path !== null) {
      const cycle = [a, ...path];
      const key = `cycle:${[...new Set(cycle)].sort().join('>')}`;
      const steps = path.slice(0, -1).map((from, i) => {
        const to = path[i + 1]!;
        const e = this.edges.get(from)!.get(to)!;
        return `${e.taken.task} took '${to}' while holding '${from}' (step ${e.taken.step})`;
      });
      this.report(
        key,
        taken.step,
        `lock order inversion: ${taken.task} took '${b}' while holding '${a}' (step ${taken.step}); ` +
          `earlier ${steps.join('; ')}. Two CPUs taking these in opposite orders can deadlock.`,
      );
    }
  }

  /** Path of classes from `from` to `to` (inclusive) along edges, or null. */
  private findPath(from: string, to: string): string[] | null {
    const prev = new Map<string, string>();
    const seen = new Set<string>([from]);
    const queue = [from];
    while (queue.length > 0) {
      const x = queue.shift()!;
      if (x === to) {
        const path = [x];
        let c = x;
        while (c !== from) {
          c = prev.get(c)!;
          path.unshift(c);
        }
        return path;
      }
      const m = this.edges.get(x);
      if (m === undefined) continue;
      for (const y of m.keys()) {
        if (!seen.has(y)) {
          seen.add(y);
          prev.set(y, x);
          queue.push(y);
        }
      }
    }
    return null;
  }

  private report(key: string, step: number, message: string): void {
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.violations.push({ kind: 'lock-validator', message, step });
  }
}
