/**
 * Violations: what a run can find wrong.
 *
 * - `hang`: tasks blocked forever (a lost wake-up or a deadlock);
 * - `invariant`: a scenario's own invariant failed;
 * - `lock-validator`: the lock validator saw an order inversion, recursion, sleeping with a
 *   spinlock held, or an IRQ-unsafe lock;
 * - `bug`: kernel misuse, such as sleeping in interrupt context.
 */
export type ViolationKind = 'hang' | 'invariant' | 'lock-validator' | 'bug';

/** One violation. */
export interface Violation {
  readonly kind: ViolationKind;
  /** One readable paragraph (may span lines). */
  readonly message: string;
  /** Step at which it was found. */
  readonly step: number;
}
