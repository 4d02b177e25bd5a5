// The recorder: owns the datapath's recorder maps and ring buffer, hands out recording slots and
// rule slots, demultiplexes ring records to recordings by recording id, and runs each recording's
// stop conditions and stats. One per loaded datapath (the daemon creates it next to LbDatapath).
//
//   const recorder = Recorder.forDatapath(dp);
//   const s = recorder.start({ filters: [{ dstCidr: '10.100.0.10', dstPort: 80, proto: 'tcp' }],
//                              maxPackets: 100 }, sink);
//   await s.ended;  …  await recorder.close();
import { RingBufferConsumer, type BpfMap, type RingRecords } from '../bpf/libbpf-ts/index.js';
import { invalid, ValidationError } from '../lb/model/index.js';
import { BootClock } from './clock.js';
import { REC_MAP_NAMES, decodeRecord, type RecorderMapName } from '../lb/datapath/index.js';
import { captureWriter, type CaptureFormat } from './pcap.js';
import {
  MAX_FILTERS_PER_RECORDING,
  kernelRule,
  limitReached,
  validateFilters,
  validateSnaplen,
  type FilterSpec,
} from './rules.js';
import { RecordingSession, pointBits, type EndReason, type Points, type RecordingSink } from './session.js';
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

const POINTS: readonly Points[] = ['ingress', 'egress', 'both'];
const FORMATS: readonly CaptureFormat[] = ['pcap', 'pcapng'];

function limit(value: unknown, field: string, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw invalid(field, `${JSON.stringify(value)} is not an integer 0..${max} (0 = no limit)`);
  }
  return value;
}

export class Recorder {
  readonly tables: RecorderTables;
  readonly #clock: BootClock;
  readonly #ring: RingBufferConsumer;
  readonly #sessions = new Map<number, RecordingSession>();
  readonly #slots = new Map<number, { slot: number; ruleSlots: number[] }>();
  readonly #timers = new Map<number, NodeJS.Timeout[]>();
  readonly #o: Required<Omit<RecorderOptions, 'clockObjectPath' | 'unavailable'>>;
  /** Why recordings are refused (the datapath has no recorder hooks), or undefined. */
  readonly unavailable: string | undefined;
  #nextId = 1;
  #clockTimer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Records whose recording id matched no live recording (stale ids after a restart). */
  unknownRecords = 0;
  /** Ring records too short for their header (never expected: counted instead of thrown). */
  badRecords = 0;
  /** Map errors met while stopping recordings (kept, not thrown: a stop must always end). */
  readonly errors: Error[] = [];

  constructor(maps: RecorderMaps, o: RecorderOptions = {}) {
    this.#o = {
      statsIntervalMs: o.statsIntervalMs ?? 1000,
      settleMs: o.settleMs ?? 20,
      clockRefreshMs: o.clockRefreshMs ?? 60_000,
    };
    this.unavailable = o.unavailable;
    this.tables = new RecorderTables(maps);
    this.#clock = new BootClock(o.clockObjectPath);
    try {
      this.#ring = new RingBufferConsumer(maps.rec_ring, (batch) => this.#onBatch(batch)).unref();
    } catch (e) {
      this.#clock.close();
      throw e;
    }
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
    return [...this.#sessions.values()];
  }

  /** The datapath slot of a live recording (its per-slot kernel counters: tables.counters(slot)). */
  slotOf(recordingId: number): number | undefined {
    return this.#slots.get(recordingId)?.slot;
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
          `${this.tables.maps.rec_rules.maxEntries} rule slots are free (other recordings use the rest; at most ${MAX_FILTERS_PER_RECORDING} per recording)`,
      );
    }

    if (this.#clockAgeMs() > 10_000) this.#clock.refresh();
    const id = this.#nextId++;
    const comment = `xlb recording ${id}: ${rules.map((r) => r.text).join(' | ')} (points ${points}, snaplen ${snaplen})`;
    const session = new RecordingSession({
      id,
      rules,
      snaplen,
      points,
      format,
      limits,
      writer: captureWriter(format, { snaplen, comment }),
      sink,
      toWallNs: (boot) => this.#clock.toWallNs(boot),
    });
    const slots = this.tables.activate(
      { id, snaplen, points: pointBits(points) },
      rules.map((r) => kernelRule(r, 0)),
    );
    this.#sessions.set(id, session);
    this.#slots.set(id, slots);
    session.onStopRequested = (s) => this.#stopSession(s);
    sink.started?.({ id, snaplen, filters: rules.map((r) => r.text) });
    session.flush(); // the file header goes out at once: a live reader can open the stream

    const timers = [setInterval(() => this.#tick(session), this.#o.statsIntervalMs)];
    if (limits.maxDurationMs) timers.push(setTimeout(() => void session.stop('maxDuration'), limits.maxDurationMs));
    this.#timers.set(id, timers);
    this.#clockTimer ??= setInterval(() => this.#clock.refresh(), this.#o.clockRefreshMs).unref();
    return session;
  }

  /** Consumes whatever the ring holds now (normally the event loop does it). */
  drain(): number {
    return this.#ring.drain();
  }

  /** Stops every recording (reason 'shutdown'), waits for them to end, releases everything. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.sessions().map((s) => s.stop('shutdown')));
    if (this.#clockTimer) clearInterval(this.#clockTimer);
    this.#ring.close();
    this.#clock.close();
  }

  #clockAgeMs(): number {
    return Number(process.hrtime.bigint() - this.#clock.offset.measuredAtMonoNs) / 1e6;
  }

  #onBatch(batch: RingRecords): void {
    const touched = new Set<RecordingSession>();
    for (const raw of batch) {
      let r;
      try {
        r = decodeRecord(raw);
      } catch (e) {
        // Only our own program writes the ring; a bad record is a bug, counted, never fatal.
        this.badRecords++;
        if (this.errors.length < 100) this.errors.push(e as Error);
        continue;
      }
      const s = this.#sessions.get(r.recordingId);
      if (!s) {
        this.unknownRecords++;
        continue;
      }
      s.record(r);
      touched.add(s);
    }
    for (const s of touched) s.flush();
  }

  #tick(s: RecordingSession): void {
    const slots = this.#slots.get(s.id);
    if (!slots || s.state === 'ended') return;
    s.setKernelCounters(this.tables.counters(slots.slot));
    s.reportStats();
  }

  #stopSession(s: RecordingSession): void {
    for (const t of this.#timers.get(s.id) ?? []) clearTimeout(t);
    this.#timers.delete(s.id);
    const slots = this.#slots.get(s.id)!;
    let deactivated = true;
    try {
      this.tables.deactivate(slots.slot, slots.ruleSlots);
    } catch (e) {
      // The session still ends; the slot stays out of the pool (the datapath may still use it).
      deactivated = false;
      this.errors.push(e as Error);
    }
    setTimeout(() => {
      try {
        this.#ring.drain();
        s.setKernelCounters(this.tables.counters(slots.slot));
      } catch (e) {
        this.errors.push(e as Error);
      }
      if (deactivated) this.tables.freeSlot(slots.slot);
      this.#sessions.delete(s.id);
      this.#slots.delete(s.id);
      if (this.#sessions.size === 0 && this.#clockTimer) {
        clearInterval(this.#clockTimer);
        this.#clockTimer = undefined;
      }
      s.finish();
    }, this.#o.settleMs);
  }
}

export type { EndReason, Points, RecordingSink };
