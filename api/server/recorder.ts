// xlb.v1.Recorder/Record: one recording per bidirectional stream.
//   client → start (exactly once, first), then optionally stop
//   server → started, chunk…/stats… interleaved, end, then the stream closes with OK
// The recording also stops when the client cancels or disconnects (no `end` is sent then) and its
// rules are freed either way. A rejected start ends the stream with INVALID_ARGUMENT (bad field,
// named) or FAILED_PRECONDITION (rule / recording slots exhausted).
// api/server registers recorderHandlers(recorder) for the service.
import { Metadata, status, type ServerDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { ValidationError, invalid } from '../../lb/model/index.js';
import type { CaptureFilter__Output } from '../generated/xlb/v1/CaptureFilter.js';
import type { RecordEndReason } from '../generated/xlb/v1/RecordEndReason.js';
import type { RecorderHandlers } from '../generated/xlb/v1/Recorder.js';
import type { RecordRequest__Output } from '../generated/xlb/v1/RecordRequest.js';
import type { RecordResponse } from '../generated/xlb/v1/RecordResponse.js';
import type { RecordStart__Output } from '../generated/xlb/v1/RecordStart.js';
import type { RecordStats } from '../generated/xlb/v1/RecordStats.js';
import type {
  CaptureFormat,
  CaptureProto,
  EndReason,
  FilterSpec,
  Points,
  Recorder,
  RecordingRequest,
  RecordingSession,
  RecordingStats,
} from '../../recorder/index.js';

/** Largest file-bytes message: well under gRPC's default 4 MiB receive limit. */
export const MAX_CHUNK_BYTES = 1 << 20;

/** Bytes queued for one stream before records are dropped (counted lost) instead of buffered. */
export const DEFAULT_MAX_QUEUED_BYTES = 16 << 20;

export interface RecorderServiceOptions {
  maxQueuedBytes?: number;
  log?: { info(m: string): void; warn(m: string): void; error(m: string): void };
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

export function recorderHandlers(recorder: Recorder, o: RecorderServiceOptions = {}): RecorderHandlers {
  const maxQueued = o.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
  return {
    Record(call: ServerDuplexStream<RecordRequest__Output, RecordResponse>) {
      let session: RecordingSession | undefined;
      let finished = false; // status sent or client gone: nothing more to write
      let queued = 0;

      const finishWithError = (err: Partial<ServiceError>) => {
        if (finished) return;
        finished = true;
        void session?.stop('error');
        call.emit('error', err);
      };
      const send = (msg: RecordResponse, bytes = 0) => {
        if (finished) return;
        queued += bytes;
        call.write(msg, () => (queued -= bytes));
      };

      const start = (msg: RecordRequest__Output) => {
        try {
          session = recorder.start(requestFromProto(msg.start!), {
            started: (info) => send({ started: { recordingId: info.id, snaplen: info.snaplen, filters: info.filters } }),
            // A flush after a slow reader can hold many MiB; gRPC peers refuse messages over 4 MiB by
            // default, so the file bytes travel in slices (the client appends them in order).
            data: (chunk) => {
              for (let at = 0; at < chunk.length; at += MAX_CHUNK_BYTES) {
                const slice = chunk.subarray(at, at + MAX_CHUNK_BYTES);
                send({ chunk: slice }, slice.length);
              }
            },
            stats: (s) => send({ stats: statsToProto(s) }),
            end: (reason, s) => {
              if (finished) return;
              send({ end: { reason: END_REASONS[reason] ?? 'RECORD_END_REASON_UNSPECIFIED', stats: statsToProto(s) } });
              finished = true;
              call.end();
            },
            congested: () => queued > maxQueued,
          });
          const peer = call.getPeer();
          const by = peer && peer !== 'unknown' ? ` by ${peer}` : '';
          o.log?.info(`recording ${session.id} started${by}: ${session.rules.map((r) => r.text).join(' | ')}`);
          void session.ended.then((reason) => {
            const st = session!.stats();
            o.log?.info(`recording ${session!.id} ended (${reason}): matched ${st.matched}, captured ${st.captured}, lost ${st.lost}`);
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
