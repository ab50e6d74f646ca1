/**
 * The plain discrete-event core, SimPy-style: `Sim` (clock, heap, FIFO lane), generator
 * `Process`es, `SimEvent`s, and FIFO `Resource`s. It is the bench's reference: the `des` group
 * runs the classic models on it, and the `kernel` group runs the same models as kernel tasks,
 * so a figure of the kernel reads against what a plain event loop does with the same work. It
 * shares the kernel's event heap (`src/kernel/heap.ts`) and is not part of the package's API.
 */
export { Fifo } from './fifo.js';
export { Request, Resource } from './resource.js';
export type { EventCallback, ProcessGenerator, Yieldable } from './sim.js';
export { EventState, PASSIVATE, Process, ProcessError, Sim, SimEvent } from './sim.js';
