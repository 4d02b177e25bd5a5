// One recording: its validated request, its kernel slots, the capture file it produces and its
// stop conditions and figures. Created and fed by Recorder (recorder.ts).
//
// Figures (all in records = packet observations; with points "both" a balanced packet is two):
//   matched  = records the datapath attempted for this recording (kernel, per-CPU, summed)
//              minus records delivered after a packets/bytes limit had ended the file
//   captured = records written to the file
//   lost     = records the kernel could not put in the ring (full) + records dropped here because
//              the consumer of the file fell behind (see RecordingSink.congested)
// Once the recording has ended, matched = captured + lost exactly.
import type { CaptureRule } from './rules.js';
import { POINT_EGRESS, POINT_INGRESS, type PointName, type RingRecord } from '../lb/datapath/index.js';
import type { CaptureFormat, CaptureWriter } from './pcap.js';

export type Points = 'ingress' | 'egress' | 'both';
export type EndReason = 'maxPackets' | 'maxBytes' | 'maxDuration' | 'stopped' | 'shutdown' | 'cancelled' | 'error';

export interface RecordingStats {
  matched: number;
  captured: number;
  lost: number;
  /** Sum of the captured lengths written (what max_bytes limits). */
  capturedBytes: number;
}

/** Where a recording's output goes (a gRPC stream, a file, a test). */
export interface RecordingSink {
  /** Called once when the datapath records, before the first data. */
  started?(info: { id: number; snaplen: number; filters: string[] }): void;
  /** The next bytes of the capture file. */
  data(chunk: Buffer): void;
  /** Periodic figures. */
  stats(s: RecordingStats): void;
  /** Called once, after the last data. */
  end(reason: EndReason, s: RecordingStats): void;
  /** True while the consumer cannot take more bytes: records are then dropped (counted lost)
   *  instead of piling up in memory. */
  congested?(): boolean;
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
  writer: CaptureWriter;
  sink: RecordingSink;
  toWallNs: (bootNs: bigint) => bigint;
}

export function pointBits(p: Points): number {
  return p === 'ingress' ? POINT_INGRESS : p === 'egress' ? POINT_EGRESS : POINT_INGRESS | POINT_EGRESS;
}

const POINT_NAME: Record<number, PointName> = { [POINT_INGRESS]: 'ingress', [POINT_EGRESS]: 'egress' };

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
  readonly #writer: CaptureWriter;
  readonly #sink: RecordingSink;
  readonly #toWallNs: (bootNs: bigint) => bigint;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #captured = 0;
  #capturedBytes = 0;
  #droppedHere = 0;
  #discarded = 0;
  #kernel = { matched: 0n, lost: 0n };
  #state: 'running' | 'stopping' | 'ended' = 'running';
  #reason: EndReason | undefined;
  /** Set by the recorder: deactivates the slot, drains, and calls finish(). */
  onStopRequested: ((s: RecordingSession) => void) | undefined;

  constructor(init: SessionInit) {
    this.id = init.id;
    this.rules = init.rules;
    this.snaplen = init.snaplen;
    this.points = init.points;
    this.format = init.format;
    this.limits = init.limits;
    this.#writer = init.writer;
    this.#sink = init.sink;
    this.#toWallNs = init.toWallNs;
    this.ended = new Promise((resolve) => (this.#resolveEnded = resolve));
    this.#push(init.writer.header());
  }

  get state(): 'running' | 'stopping' | 'ended' {
    return this.#state;
  }

  get reason(): EndReason | undefined {
    return this.#reason;
  }

  /** Current figures (kernel counters as last read by the recorder). */
  stats(): RecordingStats {
    const matched = Number(this.#kernel.matched) - this.#discarded;
    return {
      matched,
      captured: this.#captured,
      lost: Number(this.#kernel.lost) + this.#droppedHere,
      capturedBytes: this.#capturedBytes,
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

  // ---- called by the recorder ---------------------------------------------------------------

  /** One ring record of this recording. */
  record(r: RingRecord): void {
    if (this.#state === 'ended' || this.#limitReached()) {
      this.#discarded++;
      return;
    }
    const { maxBytes, maxPackets } = this.limits;
    if (maxBytes && this.#capturedBytes + r.caplen > maxBytes) {
      this.#discarded++;
      this.stop('maxBytes');
      return;
    }
    if (this.#sink.congested?.()) {
      this.#droppedHere++;
      return;
    }
    this.#push(
      this.#writer.packet({ tsNs: this.#toWallNs(r.tstampNs), point: POINT_NAME[r.point] ?? 'ingress', len: r.len, data: r.data }),
    );
    this.#captured++;
    this.#capturedBytes += r.caplen;
    if (maxPackets && this.#captured >= maxPackets) this.stop('maxPackets');
    else if (maxBytes && this.#capturedBytes >= maxBytes) this.stop('maxBytes');
  }

  /** Hands buffered bytes to the sink (once per ring batch, so live readers see packets promptly). */
  flush(): void {
    if (this.#pending.length === 0 || this.#state === 'ended') return;
    const chunk = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending, this.#pendingBytes);
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#sink.data(chunk);
  }

  setKernelCounters(c: { matched: bigint; lost: bigint }): void {
    this.#kernel = c;
  }

  reportStats(): void {
    if (this.#state === 'ended') return;
    this.flush();
    this.#sink.stats(this.stats());
  }

  /** Last step of a stop: everything drained and counted. */
  finish(): void {
    if (this.#state === 'ended') return;
    this.flush();
    this.#state = 'ended';
    const reason = this.#reason ?? 'stopped';
    this.#sink.end(reason, this.stats());
    this.#resolveEnded(reason);
  }

  #limitReached(): boolean {
    const r = this.#reason;
    return r === 'maxPackets' || r === 'maxBytes';
  }

  #push(b: Buffer): void {
    this.#pending.push(b);
    this.#pendingBytes += b.length;
  }
}
