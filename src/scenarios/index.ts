/**
 * The catalogue of named scenarios: what `aiosim list` shows and `run`/`explore`/`replay` accept.
 */
import type { Scenario } from '../check/scenario.js';
import {
  aioCancelRace,
  aioCompleteWakeup,
  aioCompleteWakeupMb,
  aioPagecache,
  aioRaid0,
  aioRingFull,
  aioRingReap,
  aioRingReapRmb,
} from './aio.js';
import { helloSleep, lostUpdate } from './basic.js';
import { odsyncWrite, pagecacheRead, raid0SeqRead } from './devices.js';
import { mpScenario, mpWmb, mpWmbRmb, sbMb, sbMbOne, sbScenario } from './memory.js';
import {
  sleepOnRace,
  wqActiveMb,
  wqActiveRace,
  wqActiveSc,
  wqActiveWmb,
  wqExclusive,
  wqFuncLockInversion,
  wqHasSleeper,
} from './waitqueue.js';
import { wtdLockPage, wtdLockPageRacy, wtdVsThreads } from './wtd.js';

/** Every scenario, in the order `aiosim list` prints them. */
export const scenarios: readonly Scenario[] = [
  helloSleep,
  lostUpdate,
  sbScenario,
  sbMb,
  sbMbOne,
  mpScenario,
  mpWmb,
  mpWmbRmb,
  wqActiveRace,
  wqActiveMb,
  wqHasSleeper,
  wqActiveWmb,
  wqActiveSc,
  sleepOnRace,
  wqExclusive,
  wqFuncLockInversion,
  wtdLockPage,
  wtdLockPageRacy,
  wtdVsThreads,
  pagecacheRead,
  raid0SeqRead,
  odsyncWrite,
  aioCompleteWakeup,
  aioCompleteWakeupMb,
  aioRingReap,
  aioRingReapRmb,
  aioCancelRace,
  aioRingFull,
  aioRaid0,
  aioPagecache,
];

/** The scenario `npm start` (`aiosim demo`) shows: the waitqueue_active lost wake-up. */
export const DEMO_SCENARIO = 'wq-active-race';

/** The scenario `aiosim demo` shows first, to teach how to read a run: a sleep and a wake-up. */
export const INTRO_SCENARIO = 'hello-sleep';

/** Looks a scenario up by name; undefined if unknown. */
export function findScenario(name: string): Scenario | undefined {
  return scenarios.find((s) => s.name === name);
}
