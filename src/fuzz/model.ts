/**
 * The byte model: what a file or a device holds, as far as a program can know it.
 *
 * Each byte is known or unknown. A write the program made with nothing of its own in flight
 * makes its bytes known; an asynchronous write (or a synchronous one racing the program's own
 * requests) makes its range unknown, since the order in which they land is not the program's to
 * know. The size is known, or unknown once a racing write may have grown it. A read is checked
 * against the known bytes only, so the model never accuses the kernel of an order it was free to
 * choose.
 */

/** How far the arrays follow a blurred write exactly (files and disks of the fuzzer are smaller). */
const MODELLED_BYTES = 4 << 20;

/** The model of one file or device. */
export class ByteModel {
  private data: Uint8Array;
  private known: Uint8Array;
  /** Bytes in the file; meaningful when `sizeKnown`. */
  size: number;
  sizeKnown = true;
  /** A fixed-size device (a disk): writes never grow it. */
  readonly fixed: boolean;
  /** Incremented by every write or truncate: a read started before one cannot be checked. */
  epoch = 0;
  /**
   * Bytes at or past this offset that the arrays do not reach yet are unknown when they come
   * to be (a blurred write past the arrays' end may have put bytes there); Infinity when none.
   */
  private unknownFrom = Number.POSITIVE_INFINITY;

  constructor(size: number, fixed: boolean) {
    this.size = size;
    this.fixed = fixed;
    // A fixed device is all zeroes at first; a file's bytes are known as far as its size.
    this.data = new Uint8Array(fixed ? 0 : size);
    this.known = new Uint8Array(fixed ? 0 : size).fill(1);
  }

  private grow(end: number): void {
    if (end <= this.data.length) return;
    const cap = Math.max(end, this.data.length * 2);
    const d = new Uint8Array(cap);
    d.set(this.data);
    const k = new Uint8Array(cap);
    k.set(this.known);
    // Bytes beyond a file's end read as zero once the end moves past them; a fixed device starts
    // as zeroes: either way known, but for what a blurred write may have reached.
    k.fill(1, this.known.length, Math.max(this.known.length, Math.min(cap, this.unknownFrom)));
    this.data = d;
    this.known = k;
  }

  /** A write of `bytes` at `pos` that landed (the `n` bytes it returned). */
  write(pos: number, bytes: Uint8Array): void {
    this.epoch++;
    const n = this.fixed ? Math.max(0, Math.min(bytes.length, this.size - pos)) : bytes.length;
    if (n === 0) return;
    this.grow(pos + n);
    this.data.set(bytes.subarray(0, n), pos);
    this.known.fill(1, pos, pos + n);
    if (!this.fixed && pos + n > this.size) this.size = pos + n;
  }

  /** A write of up to `len` bytes at `pos` whose bytes or order cannot be known. */
  blur(pos: number, len: number): void {
    this.epoch++;
    if (!Number.isFinite(pos) || !Number.isFinite(len) || len <= 0 || pos < 0) return;
    const end = this.fixed ? Math.min(this.size, pos + len) : pos + len;
    if (end <= pos) return;
    if (!this.fixed && end > this.size) this.sizeKnown = false;
    // The arrays follow a write of a size a file can have; past that, everything from where
    // they end is unknown.
    this.grow(Math.min(end, Math.max(this.size, this.data.length, MODELLED_BYTES)));
    this.known.fill(0, pos, Math.min(end, this.known.length));
    if (end > this.known.length)
      this.unknownFrom = Math.min(this.unknownFrom, Math.max(pos, this.known.length));
  }

  /** `ftruncate` / `O_TRUNC` to `len` that succeeded with nothing else in flight. */
  truncate(len: number): void {
    this.epoch++;
    this.grow(Math.max(len, this.size));
    if (!this.sizeKnown && len > this.size) {
      // Racing writes may have put bytes anywhere past the last known size.
      this.known.fill(0, this.size, len);
    } else if (len > this.size) {
      this.data.fill(0, this.size, len);
      this.known.fill(1, this.size, len);
    }
    // What lies past the new end reads as zeroes once a later write or truncate extends the file.
    this.data.fill(0, len);
    this.known.fill(1, len);
    this.unknownFrom = Number.POSITIVE_INFINITY;
    this.size = len;
    this.sizeKnown = true;
  }

  /** A truncate racing the program's own requests: the size and the bytes past `len` become unknown. */
  blurTruncate(len: number): void {
    this.epoch++;
    this.sizeKnown = false;
    if (len < this.known.length) this.known.fill(0, len);
  }

  /**
   * What a read of `len` bytes at `pos` should return now: its length and the expected bytes
   * with their known mask, or null when the size is unknown.
   */
  expect(pos: number, len: number): { n: number; data: Uint8Array; known: Uint8Array } | null {
    if (!this.sizeKnown) return null;
    const n = Math.max(0, Math.min(len, this.size - pos));
    if (n === 0) return { n, data: new Uint8Array(0), known: new Uint8Array(0) };
    this.grow(pos + n);
    return { n, data: this.data.slice(pos, pos + n), known: this.known.slice(pos, pos + n) };
  }
}

/** Where `got` differs from a known byte of `want`, or null. */
export function firstDifference(
  got: Uint8Array,
  want: { data: Uint8Array; known: Uint8Array },
): string | null {
  const n = Math.min(got.length, want.data.length);
  for (let i = 0; i < n; i++)
    if (want.known[i] === 1 && got[i] !== want.data[i])
      return `byte ${i}: read ${got[i]}, model says ${want.data[i]}`;
  return null;
}
