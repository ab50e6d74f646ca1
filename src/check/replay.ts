/**
 * Replaying a token: the recorded run again, exactly, or a divergence saying where the token
 * stopped fitting the scenario (a changed scenario, or a token made for another one).
 */
import { replay } from '../kernel/chooser.js';
import type { Kernel, KernelConfig } from '../kernel/kernel.js';
import { type RunReport, runScenario } from './runner.js';
import type { Scenario } from './scenario.js';
import type { ReplayToken } from './token.js';

/** The outcome of a replay: the run, or why it is not the recorded one. */
export type ReplayOutcome =
  | { readonly diverged: false; readonly report: RunReport }
  | { readonly diverged: true; readonly message: string };

/** Replays `token` on `scenario` (which must be the token's), with `config` on top of the token's. */
export function replayToken(
  scenario: Scenario,
  token: ReplayToken,
  opts: {
    readonly config?: Partial<KernelConfig>;
    readonly keepTrace?: boolean;
    readonly onKernel?: (k: Kernel) => void;
  } = {},
): ReplayOutcome {
  if (token.scenario !== scenario.name)
    throw new Error(`replayToken: the token is for '${token.scenario}', not '${scenario.name}'`);
  const chooser = replay(token.choices);
  const where = `replay of ${scenario.name} diverged`;
  let report: RunReport;
  try {
    report = runScenario(scenario, {
      config: { ...token.config, ...opts.config },
      chooser,
      ...(token.maxSteps !== undefined ? { maxSteps: token.maxSteps } : {}),
      ...(opts.keepTrace !== undefined ? { keepTrace: opts.keepTrace } : {}),
      ...(opts.onKernel !== undefined ? { onKernel: opts.onKernel } : {}),
    });
  } catch (e) {
    // The divergence may reach here wrapped by the kernel (a decision taken inside task code):
    // the chooser says whether it was one.
    const d = chooser.divergence;
    if (d === null) throw e;
    return { diverged: true, message: `${where}: ${d.message}` };
  }
  if (chooser.used < token.choices.length) {
    return {
      diverged: true,
      message: `${where}: the run ended (${report.status}) after ${chooser.used} of the token's ${token.choices.length} choices`,
    };
  }
  return { diverged: false, report };
}
