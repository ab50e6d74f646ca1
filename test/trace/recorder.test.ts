import { EventEmitter } from 'eventemitter3';
import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '../../src/trace/events.js';
import { TRACE_EVENT_NAME, TraceRecorder } from '../../src/trace/recorder.js';
import { sampleTrace } from './builder.js';

function emitAll(em: EventEmitter, events: readonly TraceEvent[]): void {
  for (const e of events) em.emit(TRACE_EVENT_NAME, e);
}

describe('TraceRecorder', () => {
  it('keeps every event emitted while attached, as given and in order', () => {
    const em = new EventEmitter();
    const events = sampleTrace();
    const rec = new TraceRecorder().attach(em);
    expect(rec.attached).toBe(true);
    emitAll(em, events);
    expect(rec.events).toHaveLength(events.length);
    for (const [i, e] of rec.events.entries()) expect(e).toBe(events[i]);
    expect(rec.dropped).toBe(0);
    expect(rec.truncated).toBe(false);
  });

  it('stops recording after detach and unsubscribes its listener', () => {
    const em = new EventEmitter();
    const [a, b] = sampleTrace();
    const rec = new TraceRecorder().attach(em);
    em.emit('trace', a!);
    rec.detach();
    expect(rec.attached).toBe(false);
    expect(em.listenerCount('trace')).toBe(0);
    em.emit('trace', b!);
    expect(rec.events).toEqual([a]);
    rec.detach(); // a second detach is harmless
  });

  it('ignores other event names', () => {
    const em = new EventEmitter();
    const rec = new TraceRecorder().attach(em);
    em.emit('other', sampleTrace()[0]);
    expect(rec.events).toEqual([]);
  });

  it('applies the filter before the limit and counts what the limit drops', () => {
    const em = new EventEmitter();
    const events = sampleTrace();
    const mem = events.filter((e) => e.kind.startsWith('mem.'));
    const rec = new TraceRecorder({ filter: (e) => e.kind.startsWith('mem.'), limit: 2 }).attach(em);
    emitAll(em, events);
    expect(rec.events).toEqual(mem.slice(0, 2));
    expect(rec.dropped).toBe(mem.length - 2);
    expect(rec.truncated).toBe(true);
  });

  it('limit 0 keeps nothing; clear forgets events and the dropped count', () => {
    const rec = new TraceRecorder({ limit: 0 });
    for (const e of sampleTrace().slice(0, 3)) rec.record(e);
    expect(rec.events).toEqual([]);
    expect(rec.dropped).toBe(3);
    rec.clear();
    expect(rec.dropped).toBe(0);
    const r2 = new TraceRecorder();
    r2.record(sampleTrace()[0]!);
    r2.clear();
    expect(r2.events).toEqual([]);
  });

  it('refuses a negative limit and attaching to a second source', () => {
    expect(() => new TraceRecorder({ limit: -1 })).toThrow(RangeError);
    const rec = new TraceRecorder().attach(new EventEmitter());
    expect(() => rec.attach(new EventEmitter())).toThrow(/already attached/);
  });

  it('attaching twice to the same source subscribes once', () => {
    const em = new EventEmitter();
    const rec = new TraceRecorder().attach(em).attach(em);
    expect(em.listenerCount('trace')).toBe(1);
    em.emit('trace', sampleTrace()[0]);
    expect(rec.events).toHaveLength(1);
  });

  it('two recorders on one emitter each get every event', () => {
    const em = new EventEmitter();
    const r1 = new TraceRecorder().attach(em);
    const r2 = new TraceRecorder({ limit: 1 }).attach(em);
    emitAll(em, sampleTrace().slice(0, 4));
    expect(r1.events).toHaveLength(4);
    expect(r2.events).toHaveLength(1);
    expect(r2.dropped).toBe(3);
  });
});
