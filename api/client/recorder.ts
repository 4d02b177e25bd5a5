// Client side of xlb.v1.Recorder/Record: opens the stream with the same transport rules as
// api/client (unix socket, mTLS, loopback plaintext), sends start, and hands the responses to
// callbacks. Used by `xlb record` and the tests.
import * as grpc from '@grpc/grpc-js';
import { transportFor, parseServerAddress, XlbApiError, DEFAULT_SERVER, type ConnectOptions } from './index.js';
import { loadXlbProto } from '../generated/load.js';
import type { RecordEnd__Output } from '../generated/xlb/v1/RecordEnd.js';
import type { RecorderClient } from '../generated/xlb/v1/Recorder.js';
import type { RecordRequest } from '../generated/xlb/v1/RecordRequest.js';
import type { RecordResponse__Output } from '../generated/xlb/v1/RecordResponse.js';
import type { RecordStart } from '../generated/xlb/v1/RecordStart.js';
import type { RecordStarted__Output } from '../generated/xlb/v1/RecordStarted.js';
import type { RecordStats__Output } from '../generated/xlb/v1/RecordStats.js';

/** Bytes the daemon may send ahead of what this client has read (per stream and connection). */
export const RECORD_FLOW_CONTROL_WINDOW = 4 << 20;

export interface RecordingCallbacks {
  started?(s: RecordStarted__Output): void;
  chunk(bytes: Buffer): void;
  stats?(s: RecordStats__Output): void;
}

export interface RecordingCall {
  /** Asks the server to stop; it drains, sends the last chunks and `end`. */
  stop(): void;
  /** Goes away at once (the server stops and frees the rules; no `end` arrives). */
  cancel(): void;
  /** Stops reading (gRPC flow control then slows the server, which drops and counts as lost). */
  pause(): void;
  resume(): void;
  /** The `end` message, or undefined if the stream closed without one (cancelled). Rejects with
   *  XlbApiError when the server refused the start or the connection failed. */
  readonly done: Promise<RecordEnd__Output | undefined>;
}

export class RecorderApiClient {
  readonly raw: RecorderClient;
  readonly server: string;

  private constructor(raw: RecorderClient, server: string) {
    this.raw = raw;
    this.server = server;
  }

  static connect(o: ConnectOptions = {}): RecorderApiClient {
    const target = parseServerAddress(o.server ?? DEFAULT_SERVER);
    const { credentials, channelOptions } = transportFor(target, o);
    const Ctor = loadXlbProto().xlb.v1.Recorder;
    // HTTP/2's default window (64 KiB) would let the daemon send one window per round trip; a
    // recording streams tens of MiB per second. The window is also what this client buffers at most.
    const options = { ...channelOptions, 'grpc-node.flow_control_window': RECORD_FLOW_CONTROL_WINDOW };
    return new RecorderApiClient(new Ctor(target.grpcTarget, credentials, options), target.display);
  }

  record(start: RecordStart, cb: RecordingCallbacks): RecordingCall {
    const call = this.raw.Record();
    let end: RecordEnd__Output | undefined;
    let cancelled = false;
    const done = new Promise<RecordEnd__Output | undefined>((resolve, reject) => {
      call.on('data', (m: RecordResponse__Output) => {
        if (m.msg === 'started' && m.started) cb.started?.(m.started);
        else if (m.msg === 'chunk' && m.chunk) cb.chunk(m.chunk);
        else if (m.msg === 'stats' && m.stats) cb.stats?.(m.stats);
        else if (m.msg === 'end' && m.end) end = m.end;
      });
      call.on('error', (err: grpc.ServiceError) => {
        if (cancelled && err.code === grpc.status.CANCELLED) resolve(undefined);
        else reject(new XlbApiError(err, 'Record', this.server));
      });
      // The last messages may still be queued when the status arrives: resolve once both the
      // OK status and the end of the readable side were seen.
      let statusOk = false;
      let readEnded = false;
      const settle = () => statusOk && readEnded && resolve(end);
      call.on('status', (s: grpc.StatusObject) => {
        statusOk = s.code === grpc.status.OK;
        settle();
      });
      call.on('end', () => {
        readEnded = true;
        settle();
      });
    });
    const request: RecordRequest = { start };
    call.write(request);
    return {
      stop: () => {
        if (!cancelled) call.write({ stop: {} } satisfies RecordRequest);
      },
      cancel: () => {
        cancelled = true;
        call.cancel();
      },
      pause: () => call.pause(),
      resume: () => call.resume(),
      done,
    };
  }

  close(): void {
    this.raw.close();
  }
}
