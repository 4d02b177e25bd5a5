// A BPF ring buffer of captured packets, consumed in C straight into pcap / pcapng bytes
// (src/capture_ring.c): one copy of each frame, into preallocated chunk Buffers, and one JS call per
// chunk instead of one per packet. The ring's records are a header the caller describes (field
// offsets of its own struct declaration) followed by the frame's first `caplen` bytes.
import type { BpfMap } from './map.js';
import { handleOf, handles, native, type NativeCaptureStats } from './native.js';

/** Where the fields of a ring record's header are (byte offsets; the frame follows the header). */
export interface CaptureRecordLayout {
  size: number;
  /** u64: nanoseconds of the clock the BPF side reads; wallOffsetNs is added. */
  tstampNs: number;
  /** u32: the recording id; records with another id are counted `foreign` and skipped. */
  recordingId: number;
  /** u32: the frame's length on the wire. */
  len: number;
  /** u32: bytes of the frame that follow the header. */
  caplen: number;
  /** u8: 2 = sent (egress: pcapng interface 1, direction outbound), else received. */
  point: number;
}

export type CaptureLimit = 'maxPackets' | 'maxBytes';

export interface CaptureRingOptions {
  format: 'pcap' | 'pcapng';
  recordingId: number;
  layout: CaptureRecordLayout;
  /** Bytes of capture data per chunk (default 1 MiB − 64 KiB: a record never straddles two). */
  chunkBytes?: number;
  /** Free bytes before every chunk in its ArrayBuffer, for a message header (0..64, default 16). */
  headroom?: number;
  /** Stop after this many packets / captured bytes (0 = no limit); the ending record is the last written. */
  maxPackets?: number;
  maxBytes?: number;
  /** Added to every record's timestamp: the file's clock minus the BPF side's. */
  wallOffsetNs?: bigint;
  /** A partial chunk goes out once its first packet is this old (and the ring is read at least this often). Default 50. */
  flushMs?: number;
}

/** A chunk of capture-file bytes: `headroom` bytes of the same ArrayBuffer are free before it. */
export interface CaptureChunk {
  readonly bytes: Buffer;
  readonly headroom: number;
  /** Gives the chunk's memory back for later chunks once nothing reads `bytes` any more (optional:
   *  an unrecycled chunk is simply garbage collected; reusing memory spares page faults). */
  recycle(): void;
}

export type CaptureRingStats = NativeCaptureStats;

/**
 * Makes this process's malloc (glibc) serve blocks below `mmapThreshold` bytes from its heap and
 * keep up to `trimThreshold` bytes of freed heap for reuse instead of returning them to the kernel.
 * For a process that streams captures (see src/capture_ring.c: a first touch of a page costs tens of
 * µs on VMs with shadow paging, and each ~1 MiB message otherwise lands in fresh memory). Process-wide;
 * returns false if malloc refused.
 */
export function allocatorKeepFreed(mmapThreshold: number, trimThreshold: number): boolean {
  return native.allocatorKeepFreed(mmapThreshold, trimThreshold);
}

const LIMITS: Record<number, CaptureLimit | undefined> = { 1: 'maxPackets', 2: 'maxBytes' };
export const DEFAULT_CAPTURE_CHUNK_BYTES = (1 << 20) - (64 << 10);

/**
 * Reads a ring of capture records on the event loop (polled on the ring's fd, and on a flushMs
 * timer for records the BPF side wrote without a wakeup). onChunk gets every chunk in order; when
 * a limit is reached it gets `limit` once, with the last chunk (or with no chunk).
 */
export class CaptureRing {
  #closed = false;
  readonly headroom: number;

  constructor(map: BpfMap, onChunk: (chunk: CaptureChunk | undefined, limit: CaptureLimit | undefined) => void, o: CaptureRingOptions) {
    if (typeof onChunk !== 'function') throw new TypeError('onChunk must be a function');
    if (o.format !== 'pcap' && o.format !== 'pcapng') throw new TypeError(`format must be pcap or pcapng, got ${String(o.format)}`);
    const headroom = o.headroom ?? 16;
    this.headroom = headroom;
    const l = o.layout;
    const recycle = (buf: Buffer) => () => {
      if (!this.#closed) native.captureRecycle(handleOf(this), buf);
    };
    const h = native.captureNew(
      handleOf(map),
      (buf, length, limit) =>
        onChunk(buf ? { bytes: buf.subarray(headroom, headroom + length), headroom, recycle: recycle(buf) } : undefined, LIMITS[limit]),
      {
        format: o.format === 'pcapng' ? 1 : 0,
        recordingId: o.recordingId,
        headerSize: l.size,
        offTstamp: l.tstampNs,
        offId: l.recordingId,
        offLen: l.len,
        offCaplen: l.caplen,
        offPoint: l.point,
        chunkBytes: o.chunkBytes ?? DEFAULT_CAPTURE_CHUNK_BYTES,
        headroom,
        maxPackets: o.maxPackets ?? 0,
        maxBytes: o.maxBytes ?? 0,
        wallOffsetNs: o.wallOffsetNs ?? 0n,
        flushMs: o.flushMs ?? 50,
      },
    );
    handles.set(this, h);
  }

  /** Reads everything in the ring now (also while paused); full chunks go to onChunk, the partial
   *  one too with `flush`. Returns the records read. Not from inside onChunk. */
  drain(flush = false): number {
    return native.captureDrain(handleOf(this), flush);
  }

  /** Stops reading: the ring fills and the BPF side counts what it cannot write. */
  pause(): void {
    native.capturePause(handleOf(this), true);
  }

  resume(): void {
    native.capturePause(handleOf(this), false);
  }

  set wallOffsetNs(ns: bigint) {
    native.captureSetOffset(handleOf(this), ns);
  }

  stats(): CaptureRingStats {
    return native.captureStats(handleOf(this));
  }

  get closed(): boolean {
    return this.#closed;
  }

  unref(): this {
    native.captureRef(handleOf(this), false);
    return this;
  }

  /** Stops reading and unmaps the ring; a partial chunk not drained with flush is dropped.
   *  Idempotent; callable from inside onChunk. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    native.captureClose(handleOf(this));
  }
}
