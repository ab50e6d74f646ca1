/**
 * The Chooser: the one source of nondeterminism in a simulated run.
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
 * Where a replay left its recorded choices: the run asked for choice `index` past the end of
 * the list (`overrun`), or the recorded entry does not fit the `n` options it is asked among
 * (`mismatch`). Either way the list is not this run's: a changed scenario or a foreign token.
 */
export class ReplayDivergence extends Error {
  readonly index: number;
  readonly reason: 'overrun' | 'mismatch';
  constructor(index: number, count: number, reason: 'overrun' | 'mismatch', n: number, recorded?: number) {
    super(
      reason === 'overrun'
        ? `the run asked for choice ${index + 1} (${n} options) but the token holds ${count}`
        : `choice ${index + 1} of ${count} is ${recorded}, but the run offers ${n} options there`,
    );
    this.index = index;
    this.reason = reason;
  }
}

/**
 * Replays a recorded choice list. Asked past its end, or for an entry that does not fit
 * (>= n), it throws a ReplayDivergence and keeps it in `divergence`: a replay is exact or it
 * stops, never padded or taken modulo.
 */
export interface ReplayChooser extends Chooser {
  /** Whether the run asked for more choices than recorded. */
  readonly overrun: boolean;
  /** Index of the first entry that did not fit, or -1. */
  readonly mismatch: number;
  /** Choices consumed. */
  readonly used: number;
  readonly divergence: ReplayDivergence | null;
}

export function replay(choices: readonly number[]): ReplayChooser {
  let i = 0;
  let divergence: ReplayDivergence | null = null;
  return {
    needsPoint: false,
    get overrun() {
      return divergence?.reason === 'overrun';
    },
    get mismatch() {
      return divergence?.reason === 'mismatch' ? divergence.index : -1;
    },
    get used() {
      return i;
    },
    get divergence() {
      return divergence;
    },
    choose(n: number): number {
      if (divergence !== null) throw divergence;
      if (i >= choices.length) divergence = new ReplayDivergence(i, choices.length, 'overrun', n);
      else if (choices[i]! >= n)
        divergence = new ReplayDivergence(i, choices.length, 'mismatch', n, choices[i]);
      if (divergence !== null) throw divergence;
      return choices[i++]!;
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
