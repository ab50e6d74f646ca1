/**
 * Disk latency models: how long a block device takes to serve one request.
 *
 * - `HddParams` / `HDD_7200_2001`: a 2001-era 7200 rpm IDE disk. Service time of a request =
 *   command overhead + seek (by distance: track-to-track plus a square-root curve up to a full
 *   stroke) + rotational latency (the platter's real angle: the target sector's angle minus the
 *   angle the head reaches after the seek) + transfer (bytes / media rate). A request that starts
 *   exactly where the previous one ended is served from the drive's read-ahead (or write-back)
 *   segment: overhead + transfer only.
 * - `SsdParams` / `SSD_DEFAULT`: fixed access latency (read and write differ) plus transfer.
 * - `RamParams` / `RAM_DEFAULT`: a RAM disk, a small fixed latency plus memcpy-speed transfer.
 * - `LatencyModel`: the stateful model of one device (head position), with optional jitter
 *   drawn from the Chooser (`k.choose(5, 'jitter')`): one of five levels from
 *   `1 - jitter` to `1 + jitter` times the service time.
 */

/** HDD parameters. */
export interface HddParams {
  readonly kind: 'hdd';
  /** Spindle speed. */
  readonly rpm: number;
  /** Average seek over uniformly random pairs of positions (ns). */
  readonly avgSeekNs: number;
  /** Seek to the next track (ns). */
  readonly trackToTrackNs: number;
  /** Sustained media transfer rate (MB/s, 10^6 bytes). */
  readonly transferMBps: number;
  /** Capacity the seek curve spans (bytes). */
  readonly capacityBytes: number;
  /** Controller + command overhead per request (ns). */
  readonly commandOverheadNs: number;
}

/** SSD parameters. */
export interface SsdParams {
  readonly kind: 'ssd';
  readonly readLatencyNs: number;
  readonly writeLatencyNs: number;
  readonly readMBps: number;
  readonly writeMBps: number;
}

/** RAM-disk parameters. */
export interface RamParams {
  readonly kind: 'ram';
  readonly latencyNs: number;
  readonly transferMBps: number;
}

/** Any latency model's parameters. */
export type LatencyParams = HddParams | SsdParams | RamParams;

/**
 * A 2001-era 7200 rpm IDE disk (the class of a Seagate Barracuda IV or IBM 60GXP): 8.5 ms average
 * seek, 1 ms track-to-track, 8.33 ms per rotation, 40 MB/s media rate, 40 GB, 20 µs command overhead.
 */
export const HDD_7200_2001: HddParams = Object.freeze({
  kind: 'hdd',
  rpm: 7200,
  avgSeekNs: 8_500_000,
  trackToTrackNs: 1_000_000,
  transferMBps: 40,
  capacityBytes: 40e9,
  commandOverheadNs: 20_000,
});

/** A SATA-class SSD: 60 µs read, 150 µs write, 250 / 200 MB/s. */
export const SSD_DEFAULT: SsdParams = Object.freeze({
  kind: 'ssd',
  readLatencyNs: 60_000,
  writeLatencyNs: 150_000,
  readMBps: 250,
  writeMBps: 200,
});

/** A RAM disk: 1 µs, 2000 MB/s. */
export const RAM_DEFAULT: RamParams = Object.freeze({ kind: 'ram', latencyNs: 1_000, transferMBps: 2000 });

/** Named models accepted by the setup helper. */
export function latencyParams(model: 'hdd' | 'ssd' | 'ram' | LatencyParams): LatencyParams {
  if (typeof model !== 'string') return model;
  if (model === 'hdd') return HDD_7200_2001;
  if (model === 'ssd') return SSD_DEFAULT;
  if (model === 'ram') return RAM_DEFAULT;
  throw new Error(`unknown latency model '${String(model)}' (use hdd, ssd, ram or a parameter object)`);
}

/** Transfer time of `bytes` at `mbps` (10^6 bytes per second), in ns. */
export function transferNs(bytes: number, mbps: number): number {
  return Math.round((bytes * 1000) / mbps);
}

/** Derived HDD geometry. */
export interface HddGeometry {
  readonly rotationNs: number;
  readonly sectorsPerTrack: number;
  readonly fullStrokeNs: number;
  readonly capacitySectors: number;
}

/**
 * Geometry of an HDD: one rotation passes `sectorsPerTrack` sectors at the media rate; the full
 * stroke makes the average of `t2t + (full - t2t) * sqrt(d / capacity)` over random pairs (whose
 * mean of sqrt(d/capacity) is 8/15) equal `avgSeekNs`.
 */
export function hddGeometry(p: HddParams): HddGeometry {
  const rotationNs = Math.round(60e9 / p.rpm);
  const sectorsPerTrack = Math.max(1, Math.round((p.transferMBps * 1e6 * (rotationNs / 1e9)) / 512));
  const fullStrokeNs = p.trackToTrackNs + ((p.avgSeekNs - p.trackToTrackNs) * 15) / 8;
  return { rotationNs, sectorsPerTrack, fullStrokeNs, capacitySectors: Math.floor(p.capacityBytes / 512) };
}

/** One device's latency model (keeps the head position). */
export class LatencyModel {
  readonly params: LatencyParams;
  /** Relative jitter (0 = none; 0.1 = service times from 0.9x to 1.1x). */
  readonly jitter: number;
  /** Sector just past the last request served. */
  head = 0;
  private readonly geo: HddGeometry | null;
  constructor(params: LatencyParams, jitter = 0) {
    if (!(jitter >= 0 && jitter < 1)) throw new Error(`latency jitter must be in [0, 1), got ${jitter}`);
    this.params = params;
    this.jitter = jitter;
    this.geo = params.kind === 'hdd' ? hddGeometry(params) : null;
  }

  /** Seek time over `distance` sectors (HDD only; 0 for others). */
  seekNs(distance: number): number {
    const g = this.geo;
    const p = this.params;
    if (g === null || p.kind !== 'hdd' || distance === 0) return 0;
    const frac = Math.min(1, distance / g.capacitySectors);
    return Math.round(p.trackToTrackNs + (g.fullStrokeNs - p.trackToTrackNs) * Math.sqrt(frac));
  }

  /**
   * Service time of a request of `nsectors` at `sector`, starting at simulated time `now`;
   * moves the head. `choose` draws the jitter level when jitter is on.
   */
  service(
    now: number,
    write: boolean,
    sector: number,
    nsectors: number,
    choose: (n: number) => number,
  ): number {
    const p = this.params;
    const bytes = nsectors * 512;
    let ns: number;
    if (p.kind === 'hdd') {
      const g = this.geo!;
      const xfer = transferNs(bytes, p.transferMBps);
      if (sector === this.head) {
        ns = p.commandOverheadNs + xfer;
      } else {
        const seek = this.seekNs(Math.abs(sector - this.head));
        const at = now + p.commandOverheadNs + seek;
        const headAngle = (at % g.rotationNs) / g.rotationNs;
        const target = (sector % g.sectorsPerTrack) / g.sectorsPerTrack;
        let rot = target - headAngle;
        if (rot < 0) rot += 1;
        ns = p.commandOverheadNs + seek + Math.round(rot * g.rotationNs) + xfer;
      }
    } else if (p.kind === 'ssd') {
      ns = write
        ? p.writeLatencyNs + transferNs(bytes, p.writeMBps)
        : p.readLatencyNs + transferNs(bytes, p.readMBps);
    } else {
      ns = p.latencyNs + transferNs(bytes, p.transferMBps);
    }
    this.head = sector + nsectors;
    if (this.jitter > 0) {
      const level = choose(5); // 0..4
      ns = Math.max(1, Math.round(ns * (1 + (this.jitter * (level - 2)) / 2)));
    }
    return ns;
  }
}
