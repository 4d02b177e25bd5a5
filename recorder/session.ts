// One recording: its validated request, the capture file it produces and its stop conditions and
// figures. Created and driven by Recorder (recorder.ts); the packets themselves go from the
// recording's ring to the file's chunks in C (libbpf-ts CaptureRing), never through JS one by one.
//
// Figures (all in records = packet observations; with points "both" a balanced packet is two):
//   matched  = records the datapath attempted for this recording (kernel, per-CPU, summed)
//              minus records delivered after a packets/bytes limit had ended the file
//   captured = records written to the file
//   lost     = records the kernel could not put in the ring (full: the reader was too slow or
//              paused by a congested client) + records that arrived malformed
// Once the recording has ended, matched = captured + lost exactly.
import type { CaptureChunk, CaptureLimit, CaptureRing, CaptureRingStats } from '../bpf/libbpf-ts/index.js';
import type { CaptureRule } from './rules.js';
import { POINT_EGRESS, POINT_INGRESS } from '../lb/datapath/index.js';
import type { CaptureFormat } from './pcap.js';

export type Points = 'ingress' | 'egress' | 'both';
export type EndReason = 'maxPackets' | 'maxBytes' | 'maxDuration' | 'stopped' | 'shutdown' | 'cancelled' | 'error';

export interface RecordingStats {
  matched: number;
  captured: number;
  lost: number;
  /** Sum of the captured lengths written (what max_bytes limits). */
  capturedBytes: number;
}

/**
 * Bytes free in front of every chunk handed to RecordingSink.data, inside the chunk's own
 * ArrayBuffer: a transport may write a message header there and send header + chunk without
 * copying the chunk (api/server/recorder.ts does).
 */
export const CHUNK_HEADROOM = 16;

/** Where a recording's output goes (a gRPC stream, a file, a test). */
export interface RecordingSink {
  /** Called once when the datapath records, before the first data. */
  started?(info: { id: number; snaplen: number; filters: string[] }): void;
  /**
   * The next bytes of the capture file (whole packet records, in order; at most about 1 MiB).
   * CHUNK_HEADROOM bytes before `chunk` in chunk.buffer are free for the sink's use. Once the sink
   * no longer needs the bytes it may call `recycle` (the memory is then reused for later chunks;
   * fresh memory costs a page fault per 4 KiB). Backpressure: call the session's pause() when the
   * consumer cannot take more, resume() when it can.
   */
  data(chunk: Buffer, recycle?: () => void): void;
  /** Periodic figures. */
  stats(s: RecordingStats): void;
  /** Called once, after the last data. */
  end(reason: EndReason, s: RecordingStats): void;
}

export interface SessionLimits {
  maxPackets: number; // 0 = none
  maxBytes: number;
  maxDurationMs: number;
}

export interface SessionInit {
  id: number;
  rules: CaptureRule[];
  snaplen: number;
  points: Points;
  format: CaptureFormat;
  limits: SessionLimits;
  /** The file header. */
  header: Buffer;
  sink: RecordingSink;
}

export function pointBits(p: Points): number {
  return p === 'ingress' ? POINT_INGRESS : p === 'egress' ? POINT_EGRESS : POINT_INGRESS | POINT_EGRESS;
}

/** A copy of `b` with CHUNK_HEADROOM free bytes in front of it (for the few chunks made in JS). */
export function withHeadroom(b: Buffer): Buffer {
  const out = Buffer.alloc(CHUNK_HEADROOM + b.length);
  b.copy(out, CHUNK_HEADROOM);
  return out.subarray(CHUNK_HEADROOM);
}

const NO_CAPTURE: Pick<CaptureRingStats, 'captured' | 'capturedBytes' | 'discarded' | 'foreign' | 'bad'> = {
  captured: 0,
  capturedBytes: 0,
  discarded: 0,
  foreign: 0,
  bad: 0,
};

export class RecordingSession {
  readonly id: number;
  readonly rules: readonly CaptureRule[];
  readonly snaplen: number;
  readonly points: Points;
  readonly format: CaptureFormat;
  readonly limits: SessionLimits;
  readonly startedAt = Date.now();
  /** Resolves with the reason once `end` was delivered to the sink. */
  readonly ended: Promise<EndReason>;

  #resolveEnded!: (r: EndReason) => void;
  readonly #sink: RecordingSink;
  #capture: CaptureRing | undefined;
  /** The consumer's figures once it is closed. */
  #final: typeof NO_CAPTURE | undefined;
  #kernel = { matched: 0n, lost: 0n };
  #state: 'running' | 'stopping' | 'ended' = 'running';
  #reason: EndReason | undefined;
  #pausedBySink = false;
  /** Set by the recorder: deactivates the slot, drains, and calls finish(). */
  onStopRequested: ((s: RecordingSession) => void) | undefined;

  constructor(init: SessionInit) {
    this.id = init.id;
    this.rules = init.rules;
    this.snaplen = init.snaplen;
    this.points = init.points;
    this.format = init.format;
    this.limits = init.limits;
    this.#sink = init.sink;
    this.ended = new Promise((resolve) => (this.#resolveEnded = resolve));
    this.#sink.data(withHeadroom(init.header));
  }

  get state(): 'running' | 'stopping' | 'ended' {
    return this.#state;
  }

  get reason(): EndReason | undefined {
    return this.#reason;
  }

  /** True while the sink has asked the recording to stop reading (its ring fills meanwhile). */
  get paused(): boolean {
    return this.#pausedBySink;
  }

  /** Current figures (kernel counters as last read by the recorder). */
  stats(): RecordingStats {
    const c = this.#final ?? (this.#capture && !this.#capture.closed ? this.#capture.stats() : NO_CAPTURE);
    return {
      matched: Number(this.#kernel.matched) - c.discarded - c.foreign,
      captured: c.captured,
      lost: Number(this.#kernel.lost) + c.bad,
      capturedBytes: c.capturedBytes,
    };
  }

  /** Asks the recording to end (idempotent); resolves when it has. */
  stop(reason: EndReason = 'stopped'): Promise<EndReason> {
    if (this.#state === 'running') {
      this.#state = 'stopping';
      this.#reason = reason;
      this.onStopRequested?.(this);
    }
    return this.ended;
  }

  /** The consumer of the file cannot take more: stop reading the ring (the kernel counts what it
   *  cannot write as lost) until resume(). */
  pause(): void {
    this.#pausedBySink = true;
    if (this.#capture && !this.#capture.closed) this.#capture.pause();
  }

  resume(): void {
    this.#pausedBySink = false;
    if (this.#capture && !this.#capture.closed && this.#state === 'running') this.#capture.resume();
  }

  // ---- called by the recorder ---------------------------------------------------------------

  attach(capture: CaptureRing): void {
    this.#capture = capture;
    if (this.#pausedBySink) capture.pause();
  }

  /** A chunk from the capture ring (and the limit it reached, once). */
  onChunk(chunk: CaptureChunk | undefined, limit: CaptureLimit | undefined): void {
    if (this.#state === 'ended') return;
    if (chunk) this.#sink.data(chunk.bytes, chunk.recycle);
    if (limit) void this.stop(limit);
  }

  setKernelCounters(c: { matched: bigint; lost: bigint }): void {
    this.#kernel = c;
  }

  reportStats(): void {
    if (this.#state === 'ended') return;
    this.#sink.stats(this.stats());
  }

  /** Last step of a stop: everything drained and counted; the capture ring is closed here. */
  finish(): void {
    if (this.#state === 'ended') return;
    if (this.#capture && !this.#capture.closed) {
      const { captured, capturedBytes, discarded, foreign, bad } = this.#capture.stats();
      this.#final = { captured, capturedBytes, discarded, foreign, bad };
      this.#capture.close();
    }
    this.#state = 'ended';
    const reason = this.#reason ?? 'stopped';
    this.#sink.end(reason, this.stats());
    this.#resolveEnded(reason);
  }
}
