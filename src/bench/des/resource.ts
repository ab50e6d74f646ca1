/**
 * Shared resources for the plain DES core.
 *
 * Contents:
 * - `Request`: the event a process yields to wait for a slot; it succeeds (with itself as
 *   value) when the slot is granted.
 * - `Resource`: `capacity` identical slots. `request()` queues a request and runs `pump()`,
 *   the one loop that grants queued requests in FIFO order while `tryGrant` allows; `release()`
 *   gives a slot back (or withdraws a request still queued) and pumps again. Subclasses change
 *   the grant rule by overriding `tryGrant` only. Invariant, asserted after every pump:
 *   `0 <= count <= capacity`.
 */
import { Fifo } from './fifo.js';
import { type Sim, SimEvent } from './sim.js';

/** A request for one slot of a `Resource`; yield it to wait until it is granted. */
export class Request extends SimEvent<Request> {
  /** The resource asked. */
  readonly resource: Resource;
  /** @internal Set by `release`. */
  _released = false;

  /** Creates a request; use `resource.request()`. */
  constructor(resource: Resource) {
    super(resource.sim);
    this.resource = resource;
  }

  /** True once a slot was granted to it (it then holds the slot until released). */
  get granted(): boolean {
    return this.triggered;
  }

  /** True once given back to `release`. */
  get released(): boolean {
    return this._released;
  }
}

/** A resource of `capacity` slots granted in FIFO order (SimPy's `Resource`). */
export class Resource {
  /** The simulator. */
  readonly sim: Sim;
  /** Number of slots. */
  readonly capacity: number;
  /** Slots currently granted. */
  protected users = 0;
  private readonly queue = new Fifo<Request>(16);

  /** A resource with `capacity` slots (an integer >= 1). */
  constructor(sim: Sim, capacity = 1) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`Resource: bad capacity ${capacity}`);
    this.sim = sim;
    this.capacity = capacity;
  }

  /** Slots currently granted. */
  get count(): number {
    return this.users;
  }

  /** Requests waiting for a slot. */
  get queueLength(): number {
    return this.queue.size;
  }

  /** The waiting requests, oldest first (a copy). */
  waiting(): Request[] {
    return this.queue.toArray();
  }

  /** Asks for a slot: the request is granted at once when a slot is free and nobody waits. */
  request(): Request {
    const req = new Request(this);
    if (this.queue.size === 0 && this.tryGrant(req)) {
      req.succeed(req);
      return req;
    }
    this.queue.push(req);
    this.pump();
    return req;
  }

  /**
   * Gives back the slot `req` holds, or withdraws `req` if it is still waiting; then grants
   * what can be granted. Throws on a request of another resource or a second release.
   */
  release(req: Request): void {
    if (req.resource !== this) throw new Error('Resource.release: the request belongs to another resource');
    if (req._released) throw new Error('Resource.release: the request was already released');
    req._released = true;
    if (req.granted) {
      this.users--;
      this.pump();
    } else if (!this.queue.remove(req)) {
      throw new Error('Resource.release: the request is neither granted nor waiting');
    }
  }

  /** Decides whether `req` may have a slot now, and takes it if so. */
  protected tryGrant(_req: Request): boolean {
    if (this.users >= this.capacity) return false;
    this.users++;
    return true;
  }

  /** Grants waiting requests in FIFO order until the head of the queue cannot be granted. */
  protected pump(): void {
    const q = this.queue;
    while (q.size > 0) {
      const req = q.peek();
      if (!this.tryGrant(req)) break;
      q.shift();
      req.succeed(req);
    }
    if (this.users < 0 || this.users > this.capacity) {
      throw new Error(`Resource: invariant broken, ${this.users} slots granted of ${this.capacity}`);
    }
  }
}
