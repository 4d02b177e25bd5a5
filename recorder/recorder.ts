// The recorder: owns the datapath's recorder maps, hands out recording slots and rules, gives each
// recording its own ring buffer and a C consumer that turns the ring's records into capture-file
// chunks (libbpf-ts CaptureRing), and runs each recording's stop conditions and stats. One per
// loaded datapath (the daemon creates it next to LbDatapath).
//
//   const recorder = Recorder.forDatapath(dp);
//   const s = recorder.start({ filters: [{ dstCidr: '10.100.0.10', dstPort: 80, proto: 'tcp' }],
//                              maxPackets: 100 }, sink);
//   await s.ended;  …  await recorder.close();
import { BpfMap, CaptureRing, allocatorKeepFreed, type CaptureRecordLayout } from '../bpf/libbpf-ts/index.js';
import { invalid, ValidationError } from '../lb/model/index.js';
import { BootClock } from './clock.js';
import {
  DEFAULT_RECORDER_RING_BYTES,
  MAX_RECORDER_RING_BYTES,
  MIN_RECORDER_RING_BYTES,
  REC_MAP_NAMES,
  REC_MAX_RULES,
  RecHdr,
  type RecorderMapName,
} from '../lb/datapath/index.js';
import { captureWriter, type CaptureFormat } from './pcap.js';
import {
  MAX_FILTERS_PER_RECORDING,
  kernelRule,
  limitReached,
  validateFilters,
  validateSnaplen,
  type FilterSpec,
} from './rules.js';
import { CHUNK_HEADROOM, RecordingSession, pointBits, type EndReason, type Points, type RecordingSink } from './session.js';
import { RecorderTables, type RecorderMaps } from './tables.js';

export interface RecordingRequest {
  filters: FilterSpec[];
  /** 0 / undefined = the largest (REC_MAX_SNAPLEN). */
  snaplen?: number;
  /** Default 'both'. */
  points?: Points;
  /** Stop conditions; 0 / undefined = no limit. The first reached wins. */
  maxPackets?: number;
  maxBytes?: number;
  maxDurationMs?: number;
  /** Default 'pcap'. */
  format?: CaptureFormat;
}

export interface RecorderOptions {
  /** Period of `stats` to each sink (default 1000 ms). */
  statsIntervalMs?: number;
  /**
   * Wait between stopping a recording in the datapath and its final drain (default 20 ms): XDP
   * runs that read the recording as active just before must have finished writing to the ring
   * (they take microseconds; the wait is generous so "captured + lost = matched" holds exactly).
   */
  settleMs?: number;
  /** Re-measure the boot-time → wall-clock offset this often while recordings run (default 60 s). */
  clockRefreshMs?: number;
  /** Each recording's ring buffer, bytes: a power of two 4 KiB … 1 GiB (default 4 MiB). Kernels
   *  before 6.7 take only the default (the size of the datapath's inner ring template). */
  ringBytes?: number;
  /** Record packets that are not for a VIP too (the host's own traffic). Default false. */
  hostTraffic?: boolean;
  /** A partial chunk of a recording reaches its sink after at most this long (default 50 ms). */
  flushMs?: number;
  /** Clock probe object (tests); default build/bpf/xlb_rec_clock.o. */
  clockObjectPath?: string;
  /**
   * Set when the datapath was loaded with the recorder off (its hooks pruned by the verifier):
   * why. start() then refuses with FAILED_PRECONDITION and this reason. forDatapath() takes it
   * from the datapath (LbDatapath.recorderUnavailable) unless given.
   */
  unavailable?: string;
}

/** Longest stop-condition duration accepted (a day); longer recordings run without max_duration. */
export const MAX_DURATION_MS = 24 * 3600 * 1000;

/** Map errors kept in Recorder.errors (the newest; errorCount counts all). */
export const MAX_KEPT_ERRORS = 20;

/**
 * From the first recording on, this process's malloc keeps freed blocks for reuse: every chunk
 * passes through ~1 MiB Buffers (the capture chunk, then gRPC's framing copy), and in fresh memory
 * each 4 KiB page costs a fault (tens of µs on VMs with shadow paging: measured 39 µs here; xlbd
 * spent ~10 ms per MiB of capture on them, and lost packets while it looked idle). Blocks below
 * 8 MiB come from the heap; up to 64 MiB of freed heap stays mapped.
 */
const KEEP_FREED = { mmapThreshold: 8 << 20, trimThreshold: 64 << 20 };
let allocatorTuned = false;

/** Where capture_ring.c finds the fields of struct rec_hdr. */
const RECORD_LAYOUT: CaptureRecordLayout = (() => {
  const at = (name: string) => RecHdr.fields.find((f) => f.name === name)!.offset;
  return { size: RecHdr.size, tstampNs: at('tstampNs'), recordingId: at('recordingId'), len: at('len'), caplen: at('caplen'), point: at('point') };
})();

const POINTS: readonly Points[] = ['ingress', 'egress', 'both'];
const FORMATS: readonly CaptureFormat[] = ['pcap', 'pcapng'];

function limit(value: unknown, field: string, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw invalid(field, `${JSON.stringify(value)} is not an integer 0..${max} (0 = no limit)`);
  }
  return value;
}

/** The ring size option, checked (a configuration error names recorder.ring_bytes itself). */
export function validateRingBytes(value: unknown, field = 'ringBytes'): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < MIN_RECORDER_RING_BYTES || value > MAX_RECORDER_RING_BYTES || (value & (value - 1)) !== 0) {
    throw invalid(field, `${JSON.stringify(value)} must be a power of two ${MIN_RECORDER_RING_BYTES}..${MAX_RECORDER_RING_BYTES}`);
  }
  return value;
}

interface Live {
  session: RecordingSession;
  slot: number;
  ring: BpfMap;
  capture: CaptureRing;
  timers: NodeJS.Timeout[];
}

export class Recorder {
  readonly tables: RecorderTables;
  readonly #clock: BootClock;
  readonly #live = new Map<number, Live>();
  readonly #o: Required<Omit<RecorderOptions, 'clockObjectPath' | 'unavailable' | 'hostTraffic'>>;
  /** Why recordings are refused (the datapath has no recorder hooks), or undefined. */
  readonly unavailable: string | undefined;
  #nextId = 1;
  #clockTimer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Records of another recording found in a recording's ring (a slot reused while a packet was
   *  in flight: never expected), and malformed records; both are counted, never fatal. */
  foreignRecords = 0;
  badRecords = 0;
  /** The newest map errors met while stopping recordings (kept, not thrown: a stop must always end). */
  readonly errors: Error[] = [];
  /** All errors met, including those no longer in `errors`. */
  errorCount = 0;

  constructor(maps: RecorderMaps, o: RecorderOptions = {}) {
    this.#o = {
      statsIntervalMs: o.statsIntervalMs ?? 1000,
      settleMs: o.settleMs ?? 20,
      clockRefreshMs: o.clockRefreshMs ?? 60_000,
      ringBytes: validateRingBytes(o.ringBytes ?? DEFAULT_RECORDER_RING_BYTES),
      flushMs: o.flushMs ?? 50,
    };
    if (o.hostTraffic !== undefined && typeof o.hostTraffic !== 'boolean') throw invalid('hostTraffic', 'must be true or false');
    this.unavailable = o.unavailable;
    this.tables = new RecorderTables(maps, { hostTraffic: o.hostTraffic ?? false });
    this.#clock = new BootClock(o.clockObjectPath);
  }

  /** Bytes of each recording's ring. */
  get ringBytes(): number {
    return this.#o.ringBytes;
  }

  /**
   * The recorder of a loaded or adopted datapath, working through the datapath's own map handles
   * (LbDatapath.recorderMaps()): no map is opened by id, which would need CAP_SYS_ADMIN. The
   * handles stay the datapath's: close() leaves them open, and the recorder must be closed before
   * the datapath.
   */
  static forDatapath(
    dp: { recorderMaps(): Readonly<Record<RecorderMapName, BpfMap>>; readonly recorderUnavailable?: string | undefined },
    o: RecorderOptions = {},
  ): Recorder {
    const unavailable = o.unavailable ?? dp.recorderUnavailable;
    const given = dp.recorderMaps();
    const maps = {} as RecorderMaps;
    for (const name of REC_MAP_NAMES) {
      const m = given[name];
      if (!m) throw new Error(`the datapath has no map ${name}: it was built without the recorder`);
      maps[name] = m;
    }
    return new Recorder(maps, unavailable === undefined ? o : { ...o, unavailable });
  }

  /** Live recordings. */
  sessions(): RecordingSession[] {
    return [...this.#live.values()].map((l) => l.session);
  }

  /** The datapath slot of a live recording (its per-slot kernel counters: tables.counters(slot)). */
  slotOf(recordingId: number): number | undefined {
    return this.#live.get(recordingId)?.slot;
  }

  get clockOffset() {
    return this.#clock.offset;
  }

  /**
   * Validates the request and starts recording. Throws ValidationError: INVALID_ARGUMENT for a bad
   * request (field named), FAILED_PRECONDITION when the datapath's rule or recording slots are
   * exhausted or the datapath has no recorder (`unavailable`). Nothing is changed when it throws.
   */
  start(req: RecordingRequest, sink: RecordingSink): RecordingSession {
    if (this.#closed) throw new ValidationError('FAILED_PRECONDITION', '', 'the recorder is shut down');
    if (this.unavailable !== undefined) {
      throw new ValidationError('FAILED_PRECONDITION', '', `the packet recorder is not available: ${this.unavailable}`);
    }
    if (typeof req !== 'object' || req === null) throw invalid('', 'expected a recording request');
    const rules = validateFilters(req.filters);
    const snaplen = validateSnaplen(req.snaplen);
    const points = req.points ?? 'both';
    if (!POINTS.includes(points)) throw invalid('points', `${JSON.stringify(points)} is not one of ${POINTS.join(', ')}`);
    const format = req.format ?? 'pcap';
    if (!FORMATS.includes(format)) throw invalid('format', `${JSON.stringify(format)} is not one of ${FORMATS.join(', ')}`);
    const limits = {
      maxPackets: limit(req.maxPackets, 'max_packets'),
      maxBytes: limit(req.maxBytes, 'max_bytes'),
      maxDurationMs: limit(req.maxDurationMs, 'max_duration_ms', MAX_DURATION_MS),
    };
    if (this.tables.freeRecordingCount === 0) {
      throw limitReached('', `too many recordings: all ${this.tables.maps.rec_recordings.maxEntries} recording slots are in use; stop one first`);
    }
    if (rules.length > this.tables.freeRuleCount) {
      throw limitReached(
        'filters',
        `too many rules: ${rules.length} requested, ${this.tables.freeRuleCount} of the datapath's ` +
          `${REC_MAX_RULES} rule slots are free (other recordings use the rest; at most ${MAX_FILTERS_PER_RECORDING} per recording)`,
      );
    }

    if (!allocatorTuned) allocatorTuned = allocatorKeepFreed(KEEP_FREED.mmapThreshold, KEEP_FREED.trimThreshold);
    if (this.#clockAgeMs() > 10_000) this.#refreshClock();
    const id = this.#nextId++;
    const comment = `xlb recording ${id}: ${rules.map((r) => r.text).join(' | ')} (points ${points}, snaplen ${snaplen})`;
    const session = new RecordingSession({
      id,
      rules,
      snaplen,
      points,
      format,
      limits,
      header: captureWriter(format, { snaplen, comment }).header(),
      sink,
    });
    const ring = BpfMap.create({ type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: this.#o.ringBytes, name: 'xlb_rec_ring' });
    let capture: CaptureRing | undefined;
    let slot: number;
    try {
      capture = new CaptureRing(ring, (chunk, lim) => session.onChunk(chunk, lim), {
        format,
        recordingId: id,
        layout: RECORD_LAYOUT,
        headroom: CHUNK_HEADROOM,
        maxPackets: limits.maxPackets,
        maxBytes: limits.maxBytes,
        wallOffsetNs: this.#clock.offset.offsetNs,
        flushMs: this.#o.flushMs,
      }).unref();
      session.attach(capture);
      // Wake the reader once a sixteenth of its ring is waiting (at most 256 KiB): one wakeup per
      // batch of packets, with fifteen sixteenths left for the time it takes to be scheduled.
      const wakeupBytes = Math.min(this.#o.ringBytes >> 4, 256 << 10);
      slot = this.tables.activate({ id, snaplen, points: pointBits(points), wakeupBytes }, rules.map((r) => kernelRule(r)), ring);
    } catch (e) {
      capture?.close();
      ring.close();
      throw e;
    }
    const live: Live = { session, slot, ring, capture, timers: [] };
    this.#live.set(id, live);
    session.onStopRequested = () => this.#stopSession(live);
    sink.started?.({ id, snaplen, filters: rules.map((r) => r.text) });

    live.timers.push(setInterval(() => this.#tick(live), this.#o.statsIntervalMs));
    if (limits.maxDurationMs) live.timers.push(setTimeout(() => void session.stop('maxDuration'), limits.maxDurationMs));
    this.#clockTimer ??= setInterval(() => this.#refreshClock(), this.#o.clockRefreshMs).unref();
    return session;
  }

  /** Hands every recording what its ring holds now, partial chunks included (normally the event
   *  loop does it); returns the records read. */
  drain(): number {
    let n = 0;
    for (const l of this.#live.values()) if (!l.capture.closed) n += l.capture.drain(true);
    return n;
  }

  /** Stops every recording (reason 'shutdown'), waits for them to end, releases everything. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.sessions().map((s) => s.stop('shutdown')));
    if (this.#clockTimer) clearInterval(this.#clockTimer);
    this.#clock.close();
    this.tables.close();
  }

  #clockAgeMs(): number {
    return Number(process.hrtime.bigint() - this.#clock.offset.measuredAtMonoNs) / 1e6;
  }

  #refreshClock(): void {
    const { offsetNs } = this.#clock.refresh();
    for (const l of this.#live.values()) if (!l.capture.closed) l.capture.wallOffsetNs = offsetNs;
  }

  #error(e: unknown): void {
    this.errorCount++;
    this.errors.push(e instanceof Error ? e : new Error(String(e)));
    if (this.errors.length > MAX_KEPT_ERRORS) this.errors.splice(0, this.errors.length - MAX_KEPT_ERRORS);
  }

  #tick(l: Live): void {
    if (l.session.state === 'ended') return;
    try {
      l.session.setKernelCounters(this.tables.counters(l.slot));
    } catch (e) {
      this.#error(e);
    }
    l.session.reportStats();
  }

  #stopSession(l: Live): void {
    for (const t of l.timers) clearTimeout(t);
    let deactivated = true;
    try {
      this.tables.deactivate(l.slot);
    } catch (e) {
      // The session still ends; the slot stays out of the pool (the datapath may still use it).
      deactivated = false;
      this.#error(e);
    }
    setTimeout(() => {
      try {
        l.capture.drain(true);
        const st = l.capture.stats();
        this.foreignRecords += st.foreign;
        this.badRecords += st.bad;
        l.session.setKernelCounters(this.tables.counters(l.slot));
      } catch (e) {
        this.#error(e);
      }
      l.session.finish(); // closes the capture ring
      try {
        if (deactivated) this.tables.releaseRing(l.slot);
      } catch (e) {
        deactivated = false;
        this.#error(e);
      }
      l.ring.close();
      if (deactivated) this.tables.freeSlot(l.slot);
      this.#live.delete(l.session.id);
      if (this.#live.size === 0 && this.#clockTimer) {
        clearInterval(this.#clockTimer);
        this.#clockTimer = undefined;
      }
    }, this.#o.settleMs);
  }
}

export type { EndReason, Points, RecordingSink };
