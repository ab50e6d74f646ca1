/**
 * The trace recorder: keeps the events a kernel emits.
 *
 * - {@link TraceSource}: what the recorder subscribes to (an eventemitter3 `EventEmitter`,
 *   or anything with `on`/`off`, emitting one {@link TraceEvent} on the event name `'trace'`).
 * - {@link RecorderOptions}: an optional `filter` and an optional `limit` (keep the first N
 *   events that pass the filter; the rest are counted in `dropped`).
 * - {@link TraceRecorder}: `attach(source)`, `detach()`, `record(event)`, `clear()`, and the
 *   recorded `events`, stored as given (plain objects, not copied).
 */
import type { TraceEvent } from './events.js';

/** The name of the emitter event that carries trace events. */
export const TRACE_EVENT_NAME = 'trace';

/** Listener of trace events. */
export type TraceListener = (event: TraceEvent) => void;

/** Something that emits trace events on `'trace'` (an eventemitter3 or Node `EventEmitter`). */
export interface TraceSource {
  on(event: 'trace', fn: TraceListener): unknown;
  off(event: 'trace', fn: TraceListener): unknown;
}

/** Options of a {@link TraceRecorder}. */
export interface RecorderOptions {
  /** Keep only the events for which this returns true (default: keep all). */
  filter?: (event: TraceEvent) => boolean;
  /** Keep at most this many events (the first ones); later ones are counted in `dropped`. */
  limit?: number;
}

/** Records trace events, in emission order. */
export class TraceRecorder {
  /** The recorded events, in the order they were emitted. */
  readonly events: TraceEvent[] = [];
  /** Events that passed the filter but were not kept because the limit was reached. */
  dropped = 0;
  readonly #filter: ((event: TraceEvent) => boolean) | undefined;
  readonly #limit: number;
  #source: TraceSource | undefined;
  readonly #listener: TraceListener = (event) => this.record(event);

  /** A recorder; see {@link RecorderOptions}. */
  constructor(options: RecorderOptions = {}) {
    const { filter, limit = Number.POSITIVE_INFINITY } = options;
    if (!(limit >= 0)) throw new RangeError(`TraceRecorder: limit must be >= 0, got ${limit}`);
    this.#filter = filter;
    this.#limit = limit;
  }

  /** True while subscribed to a source. */
  get attached(): boolean {
    return this.#source !== undefined;
  }

  /** True when the limit was reached and events were dropped. */
  get truncated(): boolean {
    return this.dropped > 0;
  }

  /**
   * Subscribes to `source`. Attaching again to the same source does nothing; attaching to
   * another one while attached is a misuse and throws.
   */
  attach(source: TraceSource): this {
    if (this.#source === source) return this;
    if (this.#source !== undefined)
      throw new Error('TraceRecorder.attach: already attached to another source');
    source.on(TRACE_EVENT_NAME, this.#listener);
    this.#source = source;
    return this;
  }

  /** Unsubscribes from the current source (does nothing when not attached). */
  detach(): this {
    if (this.#source !== undefined) {
      this.#source.off(TRACE_EVENT_NAME, this.#listener);
      this.#source = undefined;
    }
    return this;
  }

  /** Records one event (what the listener calls): filter, then limit. */
  record(event: TraceEvent): void {
    if (this.#filter !== undefined && !this.#filter(event)) return;
    if (this.events.length >= this.#limit) {
      this.dropped++;
      return;
    }
    this.events.push(event);
  }

  /** Forgets the recorded events and the dropped count (stays attached). */
  clear(): void {
    this.events.length = 0;
    this.dropped = 0;
  }
}
