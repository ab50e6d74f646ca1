/**
 * The Chooser: the one source of nondeterminism in a simulated run (DESIGN §2).
 *
 * Every decision the simulator could take more than one way — which CPU or store buffer
 * steps next, which CPU an interrupt lands on, how much jitter a device adds, which value a
 * relaxed load returns — is a call `choose(n, why)` returning an integer in `0..n-1`. The
 * kernel calls it only when `n > 1` and records every answer, so a run is fully described by
 * its scenario, its config and that list of integers.
 *
 * Strategies in this file: `seeded` (reproducible random), `replay` (an exact list again) and
 * `fromArray` (arbitrary integers, e.g. drawn by fast-check, taken modulo `n`). The explorer
 * adds exhaustive DFS and PCT in `src/check`.
 */
import { Xoshiro128 } from './random.js';

/** Why a choice is asked for. */
export type ChoiceWhy = 'step' | 'irq' | 'jitter' | 'load' | 'cpu';

/** What one enabled action is, for strategies that reason about independence or priorities. */
export interface ActionInfo {
  /** Stable identity while the action stays enabled: context id for ops, negative ids for others. */
  readonly actor: number;
  /** CPU the action runs on (-1 for global actions such as a timer firing). */
  readonly cpu: number;
  /** Object touched (cell, lock, task state ...), or -1. */
  readonly obj: number;
  /** Whether the action writes `obj`. */
  readonly write: boolean;
  /** Scheduler action (sleep, wake-up): dependent with every other scheduler action. */
  readonly sched: boolean;
  /** Dependent with everything (timer firing, interrupt delivery). */
  readonly global: boolean;
  /** Kind, for reports: 'op' | 'drain' | 'irq' | 'timer'. */
  readonly kind: string;
  /** Short label for traces and reports. */
  readonly label: string;
}

/** Context handed along with a 'step' choice: the enabled actions, index 0 being "no preemption". */
export interface ChoicePoint {
  readonly actions: readonly ActionInfo[];
  /** True when actions[0] continues the CPU that ran the previous step. */
  readonly continues: boolean;
}

/** The decision oracle. */
export interface Chooser {
  /** Returns an integer in `0..n-1`; `n >= 2`. */
  choose(n: number, why: ChoiceWhy, point?: ChoicePoint): number;
  /**
   * Optional: told of every step actually executed, chosen or forced (strategies that track
   * independence or count steps use it). Must not influence anything but the strategy.
   */
  observe?(action: ActionInfo): void;
  /**
   * Optional: false when the strategy never looks at the `ChoicePoint` (seeded, replay,
   * fromArray), so the kernel need not describe the enabled actions. Absent means true.
   */
  readonly needsPoint?: boolean;
}

/** Seeded random choices (uniform over the options), using xoshiro128**. */
export function seeded(seed: number): Chooser & { readonly rng: Xoshiro128 } {
  const rng = new Xoshiro128(seed);
  return {
    rng,
    needsPoint: false,
    choose(n: number): number {
      return rng.below(n);
    },
  };
}

/**
 * Replays a recorded choice list. Past its end it answers 0 and sets `overrun`; an entry that
 * does not fit (>= n) is a divergence: it is recorded in `mismatch` and answered modulo n.
 */
export interface ReplayChooser extends Chooser {
  readonly overrun: boolean;
  readonly mismatch: number;
  readonly used: number;
}

export function replay(choices: readonly number[]): ReplayChooser {
  let i = 0;
  let overrun = false;
  let mismatch = -1;
  return {
    needsPoint: false,
    get overrun() {
      return overrun;
    },
    get mismatch() {
      return mismatch;
    },
    get used() {
      return i;
    },
    choose(n: number): number {
      if (i >= choices.length) {
        overrun = true;
        i++;
        return 0;
      }
      const c = choices[i]!;
      if (c >= n && mismatch < 0) mismatch = i;
      i++;
      return c % n;
    },
  };
}

/**
 * Choices from an arbitrary list of naturals (each taken modulo n; 0 past the end). With
 * fast-check's `fc.array(fc.nat())` this lets fast-check shrink a failing interleaving: shorter
 * lists and smaller numbers mean fewer preemptions, because option 0 is always "no preemption".
 */
export function fromArray(ints: readonly number[]): Chooser {
  let i = 0;
  return {
    needsPoint: false,
    choose(n: number): number {
      const v = i < ints.length ? ints[i]! : 0;
      i++;
      return Math.abs(Math.trunc(v)) % n;
    },
  };
}

/** Wraps a chooser and records every answer. */
export class RecordingChooser implements Chooser {
  readonly choices: number[] = [];
  readonly inner: Chooser;
  constructor(inner: Chooser) {
    this.inner = inner;
  }
  observe(action: ActionInfo): void {
    this.inner.observe?.(action);
  }
  choose(n: number, why: ChoiceWhy, point?: ChoicePoint): number {
    const c = this.inner.choose(n, why, point);
    if (!Number.isInteger(c) || c < 0 || c >= n) {
      throw new Error(
        `Chooser returned ${c} for a choice among ${n} (${why}): must be an integer in 0..${n - 1}`,
      );
    }
    this.choices.push(c);
    return c;
  }
}
