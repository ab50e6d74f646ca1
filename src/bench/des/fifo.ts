/**
 * A growable ring-buffer FIFO queue.
 *
 * Used by the plain DES core for its lane of zero-delay wake-ups and by `Resource` for its
 * queue of waiting requests. Push and shift are O(1) and allocate nothing once the buffer has
 * grown to the working size; `remove` (a cancelled request) is O(n) and rare.
 */
export class Fifo<T> {
  private buf: (T | undefined)[];
  private mask: number;
  private head = 0;
  private n = 0;

  /** Creates an empty queue; `capacity` is rounded up to a power of two. */
  constructor(capacity = 16) {
    let cap = 4;
    while (cap < capacity) cap *= 2;
    this.buf = new Array<T | undefined>(cap).fill(undefined);
    this.mask = cap - 1;
  }

  /** Number of queued items. */
  get size(): number {
    return this.n;
  }

  /** Appends `item` at the tail. */
  push(item: T): void {
    if (this.n > this.mask) this.grow();
    this.buf[(this.head + this.n) & this.mask] = item;
    this.n++;
  }

  /** Removes and returns the head; throws when empty. */
  shift(): T {
    if (this.n === 0) throw new Error('Fifo.shift: the queue is empty');
    const buf = this.buf;
    const h = this.head;
    const item = buf[h] as T;
    buf[h] = undefined;
    this.head = (h + 1) & this.mask;
    this.n--;
    return item;
  }

  /** The head without removing it; throws when empty. */
  peek(): T {
    if (this.n === 0) throw new Error('Fifo.peek: the queue is empty');
    return this.buf[this.head] as T;
  }

  /** Removes the first occurrence of `item`, keeping the others in order; false when absent. */
  remove(item: T): boolean {
    const { buf, mask, head, n } = this;
    for (let i = 0; i < n; i++) {
      if (buf[(head + i) & mask] !== item) continue;
      for (let j = i; j < n - 1; j++) buf[(head + j) & mask] = buf[(head + j + 1) & mask];
      buf[(head + n - 1) & mask] = undefined;
      this.n--;
      return true;
    }
    return false;
  }

  /** The queued items, head first (a copy). */
  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.n; i++) out.push(this.buf[(this.head + i) & this.mask] as T);
    return out;
  }

  /** Removes every item. */
  clear(): void {
    this.buf.fill(undefined);
    this.head = 0;
    this.n = 0;
  }

  private grow(): void {
    const old = this.buf;
    const cap = old.length * 2;
    const buf = new Array<T | undefined>(cap).fill(undefined);
    for (let i = 0; i < this.n; i++) buf[i] = old[(this.head + i) & this.mask];
    this.buf = buf;
    this.mask = cap - 1;
    this.head = 0;
  }
}
