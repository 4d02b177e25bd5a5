// xlb.v1.Recorder/Record: one recording per bidirectional stream.
//   client → start (exactly once, first, within the start timeout), then optionally stop
//   server → started, chunk…/stats… interleaved, end, then the stream closes with OK
// The recording also stops when the client cancels or disconnects (no `end` is sent then) and its
// rules are freed either way. A rejected start ends the stream with INVALID_ARGUMENT (bad field,
// named), FAILED_PRECONDITION (the datapath's rule / recording slots exhausted) or
// RESOURCE_EXHAUSTED (this client's share of them used up).
//
// Throughput: the capture bytes arrive from the recorder in chunks of about 1 MiB with free
// headroom in front (CHUNK_HEADROOM); each becomes one RecordResponse whose protobuf encoding is
// written into that headroom, so the chunk is never copied to be serialized (recorderService()
// installs the serializer that passes such messages through), and in front of it the 5-byte gRPC
// message frame header, so grpc-js does not copy it into a frame of its own either (see
// sendFramedChunks): the chunk's memory goes to the socket as it is, and returns to the recorder
// (recycle) once written. grpc-js's framing copy allocated a fresh ~1 MiB Buffer per message,
// and V8 answered that external memory with a full collection every ~45 MB: at 150 kpps of 1 KiB
// frames a mark-compact every ~300 ms, pauses up to 27 ms plus incremental steps of up to 12 ms,
// during which the ring filled (measured with --trace-gc on xlbd).
// Backpressure: bytes handed to the stream and not yet written out are counted; above
// maxQueuedBytes the recording stops reading its ring (the kernel then counts what it cannot
// write as lost) and resumes as soon as it is back at or below it; stats are skipped meanwhile (the
// end carries them). No hysteresis: while the recording is paused its ring is the only buffer
// left, and waiting for half the queue to drain first let a 4 MiB ring overflow during each pause
// (measured: pauses of 100–280 ms at 25 kpps of 1 KiB frames, a few MiB lost each time).
// api/server registers recorderHandlers(recorder) for the service.
import { Metadata, status, type ServerDuplexStream, type ServiceDefinition, type ServiceError } from '@grpc/grpc-js';
import { BaseServerInterceptingCall } from '@grpc/grpc-js/build/src/server-interceptors.js';
import { ValidationError, invalid } from '../../lb/model/index.js';
import type { CaptureFilter__Output } from '../generated/xlb/v1/CaptureFilter.js';
import type { RecordEndReason } from '../generated/xlb/v1/RecordEndReason.js';
import type { RecorderHandlers } from '../generated/xlb/v1/Recorder.js';
import type { RecordRequest__Output } from '../generated/xlb/v1/RecordRequest.js';
import type { RecordResponse } from '../generated/xlb/v1/RecordResponse.js';
import type { RecordStart__Output } from '../generated/xlb/v1/RecordStart.js';
import type { RecordStats } from '../generated/xlb/v1/RecordStats.js';
import {
  type CaptureFormat,
  type CaptureProto,
  type EndReason,
  type FilterSpec,
  type Points,
  type Recorder,
  type RecordingRequest,
  type RecordingSession,
  type RecordingStats,
} from '../../recorder/index.js';

/** Largest file-bytes message: well under gRPC's default 4 MiB receive limit. */
export const MAX_CHUNK_BYTES = 1 << 20;

/** Bytes queued for one stream (written, not yet sent) above which its recording stops reading:
 *  the daemon's memory bound per recording stream. 16 MiB: a reader that stalls for a moment
 *  (its garbage collection, a busy CPU) is absorbed here and not by the ring (measured at 25 kpps
 *  of 1 KiB frames: 4 MiB lost up to 15 % of a 2 s recording, 16 MiB nothing once warm). */
export const DEFAULT_MAX_QUEUED_BYTES = 16 << 20;
/** A stream that has not sent `start` by then is ended (DEADLINE_EXCEEDED). */
export const DEFAULT_START_TIMEOUT_MS = 10_000;
/** One client's share of the datapath's 64 recording slots and 128 rules. */
export const DEFAULT_MAX_RECORDINGS_PER_PEER = 16;
export const DEFAULT_MAX_RULES_PER_PEER = 64;

export interface RecorderServiceOptions {
  maxQueuedBytes?: number;
  startTimeoutMs?: number;
  /** Recordings and rules one client (peer) may hold at once. */
  maxRecordingsPerPeer?: number;
  maxRulesPerPeer?: number;
  log?: { info(m: string): void; warn(m: string): void; error(m: string): void };
}

/** chunk = 2, length-delimited: the RecordResponse tag of a chunk. */
const CHUNK_TAG = (2 << 3) | 2;
const ENCODED = Symbol('xlb.encodedRecordResponse');
const FRAMED = Symbol('xlb.framedRecordResponse');
/** gRPC's length-prefixed message header: compressed flag (0), length (u32, big-endian). */
const GRPC_FRAME_HEADER = 5;

interface EncodedChunk extends RecordResponse {
  [ENCODED]: Buffer;
  /** The encoding behind its gRPC message header: the bytes grpc-js would write. */
  [FRAMED]?: Buffer;
}

let framedPassThrough: boolean | undefined;

/**
 * Makes grpc-js send a message that carries its own gRPC frame (encodedChunk()) as it is, instead
 * of copying it into a new Buffer behind a 5-byte header (BaseServerInterceptingCall
 * .serializeMessage, grpc-js 1.x). Every other message is framed by grpc-js as before. Installed
 * once per process; returns whether it is in place (false: this grpc-js has no such method, and
 * chunks are copied as before — correct, only slower).
 */
export function sendFramedChunks(): boolean {
  if (framedPassThrough !== undefined) return framedPassThrough;
  const proto = BaseServerInterceptingCall.prototype as unknown as { serializeMessage?: (value: unknown) => Buffer };
  const original = proto.serializeMessage;
  framedPassThrough = typeof original === 'function';
  if (original) {
    proto.serializeMessage = function (this: unknown, value: unknown): Buffer {
      const framed = (value as Partial<EncodedChunk> | null | undefined)?.[FRAMED];
      return framed ?? original.call(this, value);
    };
  }
  return framedPassThrough;
}

/**
 * A `chunk` RecordResponse whose protobuf encoding is written in front of the bytes, in the
 * headroom the recorder leaves there (no copy). The message is also an ordinary RecordResponse
 * object, so a service registered without recorderService() still sends it correctly (copying).
 */
export function encodedChunk(bytes: Buffer): RecordResponse {
  let n = bytes.length;
  const varint: number[] = [];
  do {
    varint.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n = Math.floor(n / 128);
  } while (n > 0);
  const prefix = 1 + varint.length;
  if (bytes.byteOffset < prefix) return { chunk: bytes };
  const msg = Buffer.from(bytes.buffer, bytes.byteOffset - prefix, prefix + bytes.length);
  msg[0] = CHUNK_TAG;
  msg.set(varint, 1);
  if (msg.byteOffset < GRPC_FRAME_HEADER) return { chunk: bytes, [ENCODED]: msg } as EncodedChunk;
  const framed = Buffer.from(msg.buffer, msg.byteOffset - GRPC_FRAME_HEADER, GRPC_FRAME_HEADER + msg.length);
  framed[0] = 0;
  framed.writeUInt32BE(msg.length, 1);
  return { chunk: bytes, [ENCODED]: msg, [FRAMED]: framed } as EncodedChunk;
}

/** The Recorder service definition with a response serializer that sends encodedChunk()
 *  messages as they are; everything else is encoded as usual. */
export function recorderService<T extends ServiceDefinition>(definition: T): T {
  const record = definition['Record'];
  if (!record) throw new Error('recorderService: the definition has no Record method');
  const encode = record.responseSerialize;
  sendFramedChunks();
  return {
    ...definition,
    Record: { ...record, responseSerialize: (m: RecordResponse) => (m as Partial<EncodedChunk>)[ENCODED] ?? encode(m) },
  };
}

const PROTOS: Record<string, CaptureProto> = {
  CAPTURE_PROTOCOL_ANY: 'any',
  CAPTURE_PROTOCOL_TCP: 'tcp',
  CAPTURE_PROTOCOL_UDP: 'udp',
  CAPTURE_PROTOCOL_ICMP: 'icmp',
};
const POINTS: Record<string, Points> = {
  CAPTURE_POINTS_UNSPECIFIED: 'both',
  CAPTURE_POINTS_INGRESS: 'ingress',
  CAPTURE_POINTS_EGRESS: 'egress',
  CAPTURE_POINTS_BOTH: 'both',
};
const FORMATS: Record<string, CaptureFormat> = {
  CAPTURE_FORMAT_UNSPECIFIED: 'pcap',
  CAPTURE_FORMAT_PCAP: 'pcap',
  CAPTURE_FORMAT_PCAPNG: 'pcapng',
};
const END_REASONS: Partial<Record<EndReason, RecordEndReason>> = {
  maxPackets: 'RECORD_END_REASON_MAX_PACKETS',
  maxBytes: 'RECORD_END_REASON_MAX_BYTES',
  maxDuration: 'RECORD_END_REASON_MAX_DURATION',
  stopped: 'RECORD_END_REASON_STOPPED',
  shutdown: 'RECORD_END_REASON_SHUTDOWN',
};

function enumValue<T>(table: Record<string, T>, value: unknown, field: string): T {
  const v = typeof value === 'string' ? table[value] : undefined;
  if (v === undefined) throw invalid(field, `${JSON.stringify(value)} is not one of ${Object.keys(table).join(', ')}`);
  return v;
}

/** uint64 (decimal string with the loader's options) → number; refuses what a double cannot hold. */
function uint64(value: unknown, field: string): number {
  const text = String(value ?? '0');
  if (!/^[0-9]+$/.test(text)) throw invalid(field, `${JSON.stringify(value)} is not an unsigned integer`);
  const n = BigInt(text);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(field, `${text} is too large (at most ${Number.MAX_SAFE_INTEGER})`);
  return Number(n);
}

function filterFromProto(f: CaptureFilter__Output, field: string): FilterSpec {
  return {
    srcCidr: f.srcCidr,
    dstCidr: f.dstCidr,
    srcPort: f.srcPort,
    dstPort: f.dstPort,
    proto: enumValue(PROTOS, f.proto, `${field}.proto`),
  };
}

/** RecordStart (proto) → RecordingRequest; field names in errors are the proto's. */
export function requestFromProto(start: RecordStart__Output): RecordingRequest {
  return {
    filters: (start.filters ?? []).map((f, i) => filterFromProto(f, `filters[${i}]`)),
    snaplen: start.snaplen,
    points: enumValue(POINTS, start.points, 'points'),
    maxPackets: uint64(start.maxPackets, 'max_packets'),
    maxBytes: uint64(start.maxBytes, 'max_bytes'),
    maxDurationMs: uint64(start.maxDurationMs, 'max_duration_ms'),
    format: enumValue(FORMATS, start.format, 'format'),
  };
}

export function statsToProto(s: RecordingStats): RecordStats {
  return { matched: String(s.matched), captured: String(s.captured), lost: String(s.lost), capturedBytes: String(s.capturedBytes) };
}

function fail(code: status, details: string): Partial<ServiceError> {
  return { code, details, metadata: new Metadata() };
}

/** Who a stream belongs to, for the per-client caps: the TLS client certificate when there is
 *  one, else the remote address (every connection over the unix socket is the same local peer). */
export function peerIdentity(call: Pick<ServerDuplexStream<unknown, unknown>, 'getAuthContext' | 'getPeer'>): string {
  const cert = call.getAuthContext().sslPeerCertificate;
  if (cert?.fingerprint256) return `client certificate ${String(cert.subject?.CN ?? '?')} (${cert.fingerprint256.slice(0, 23)}…)`;
  // "ADDRESS:PORT" over TCP (the port differs per connection, the address is the client),
  // "unknown" over a unix socket.
  const peer = call.getPeer();
  const at = peer.lastIndexOf(':');
  return peer !== 'unknown' && at > 0 ? `client ${peer.slice(0, at)}` : 'the local socket';
}

function positive(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a whole number >= 1, got ${v}`);
  return v;
}

export function recorderHandlers(recorder: Recorder, o: RecorderServiceOptions = {}): RecorderHandlers {
  const maxQueued = positive(o.maxQueuedBytes, DEFAULT_MAX_QUEUED_BYTES, 'maxQueuedBytes');
  const startTimeoutMs = positive(o.startTimeoutMs, DEFAULT_START_TIMEOUT_MS, 'startTimeoutMs');
  const maxRecordings = positive(o.maxRecordingsPerPeer, DEFAULT_MAX_RECORDINGS_PER_PEER, 'maxRecordingsPerPeer');
  const maxRules = positive(o.maxRulesPerPeer, DEFAULT_MAX_RULES_PER_PEER, 'maxRulesPerPeer');
  /** What each peer holds now. */
  const held = new Map<string, { recordings: number; rules: number }>();

  return {
    Record(call: ServerDuplexStream<RecordRequest__Output, RecordResponse>) {
      let session: RecordingSession | undefined;
      let finished = false; // status sent or client gone: nothing more to write
      let queued = 0;
      let congested = false;
      const peer = peerIdentity(call);
      let release: (() => void) | undefined;

      const startTimer = setTimeout(
        () => finishWithError(fail(status.DEADLINE_EXCEEDED, `start: no start message within ${startTimeoutMs} ms of opening the stream`)),
        startTimeoutMs,
      );
      const finishWithError = (err: Partial<ServiceError>) => {
        clearTimeout(startTimer);
        if (finished) return;
        finished = true;
        void session?.stop('error');
        call.emit('error', err);
      };
      const send = (msg: RecordResponse, bytes: number, written?: () => void) => {
        if (finished) return;
        queued += bytes;
        call.write(msg, () => {
          written?.(); // written out to the socket (a framed chunk is sent from its own memory)
          queued -= bytes;
          if (congested && queued <= maxQueued) {
            congested = false;
            session?.resume();
          }
        });
        if (!congested && queued > maxQueued) {
          congested = true;
          session?.pause();
        }
      };

      const start = (msg: RecordRequest__Output) => {
        clearTimeout(startTimer);
        try {
          const request = requestFromProto(msg.start!);
          const mine = held.get(peer) ?? { recordings: 0, rules: 0 };
          if (mine.recordings + 1 > maxRecordings) {
            return finishWithError(
              fail(
                status.RESOURCE_EXHAUSTED,
                `too many recordings for ${peer}: ${mine.recordings} running, at most ${maxRecordings} per client (recorder.max_recordings_per_peer); stop one first`,
              ),
            );
          }
          if (mine.rules + request.filters.length > maxRules) {
            return finishWithError(
              fail(
                status.RESOURCE_EXHAUSTED,
                `filters: too many rules for ${peer}: ${request.filters.length} requested, ${mine.rules} in use, at most ${maxRules} per client (recorder.max_rules_per_peer)`,
              ),
            );
          }
          session = recorder.start(request, {
            started: (info) => send({ started: { recordingId: info.id, snaplen: info.snaplen, filters: info.filters } }, 64),
            data: (chunk, recycle) => {
              // Chunks from the recorder stay under MAX_CHUNK_BYTES; anything larger travels in
              // slices (a gRPC peer refuses messages over 4 MiB by default).
              if (chunk.length <= MAX_CHUNK_BYTES) return send(encodedChunk(chunk), chunk.length, recycle);
              for (let at = 0; at < chunk.length; at += MAX_CHUNK_BYTES) {
                const slice = chunk.subarray(at, at + MAX_CHUNK_BYTES);
                send({ chunk: slice }, slice.length);
              }
            },
            stats: (s) => {
              if (!congested) send({ stats: statsToProto(s) }, 64);
            },
            end: (reason, s) => {
              if (finished) return;
              send({ end: { reason: END_REASONS[reason] ?? 'RECORD_END_REASON_UNSPECIFIED', stats: statsToProto(s) } }, 64);
              finished = true;
              call.end();
            },
          });
          mine.recordings++;
          mine.rules += request.filters.length;
          held.set(peer, mine);
          release = () => {
            mine.recordings--;
            mine.rules -= request.filters.length;
            if (mine.recordings === 0) held.delete(peer);
          };
          const s = session;
          o.log?.info(`recording ${s.id} started by ${peer}: ${s.rules.map((r) => r.text).join(' | ')}`);
          void s.ended.then((reason) => {
            release?.();
            const st = s.stats();
            o.log?.info(`recording ${s.id} ended (${reason}): matched ${st.matched}, captured ${st.captured}, lost ${st.lost}`);
          });
        } catch (e) {
          if (e instanceof ValidationError) return finishWithError(fail(e.grpcStatus as status, e.message));
          o.log?.error(`recorder: ${(e as Error)?.stack ?? String(e)}`);
          finishWithError(fail(status.INTERNAL, `internal error: ${(e as Error)?.message ?? String(e)}`));
        }
      };

      call.on('data', (msg: RecordRequest__Output) => {
        if (finished) return;
        if (msg.msg === 'start' && msg.start) {
          if (session) return finishWithError(fail(status.INVALID_ARGUMENT, 'start: the recording has already started (one start per stream)'));
          return start(msg);
        }
        if (msg.msg === 'stop') {
          if (!session) return finishWithError(fail(status.INVALID_ARGUMENT, 'stop: no recording started on this stream (send start first)'));
          void session.stop('stopped');
          return;
        }
        finishWithError(fail(status.INVALID_ARGUMENT, 'msg: expected start or stop'));
      });
      // The client cancelled or the connection broke: stop and free the rules, send nothing.
      const gone = () => {
        clearTimeout(startTimer);
        if (finished) return;
        finished = true;
        void session?.stop('cancelled');
      };
      call.on('cancelled', gone);
      call.on('close', () => {
        if (!finished) gone();
      });
      // Half-close (the client sent everything it will) is not a stop: the recording runs until a
      // stop condition, like a `tcpdump -c` whose stdin is closed.
      call.on('end', () => {
        if (!session && !finished) finishWithError(fail(status.INVALID_ARGUMENT, 'start: the stream ended without a start message'));
      });
    },
  };
}
