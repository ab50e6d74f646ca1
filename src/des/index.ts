/**
 * The plain discrete-event core, SimPy-style: `Sim` (clock, heap, FIFO lane), generator
 * `Process`es, `SimEvent`s, and FIFO `Resource`s. The simulated kernel has its own loop in
 * `src/kernel`; this core is the baseline it is measured against and a small library in itself.
 */
export { Fifo } from './fifo.js';
export { Request, Resource } from './resource.js';
export type { EventCallback, ProcessGenerator, Yieldable } from './sim.js';
export { EventState, PASSIVATE, Process, ProcessError, Sim, SimEvent } from './sim.js';
