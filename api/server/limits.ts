// What one API client can make xlbd hold, bounded. grpc-js enforces none of these by default (no
// stream limit, unlimited HTTP/2 session memory, no connection cap, no deadline for a request to
// arrive), so a single hostile or broken client could pile up memory until the kernel kills the
// daemon, or keep every slot busy. The worst case with the defaults below is roughly
//   maxConnections × maxSessionMemoryMb (HTTP/2 buffers) + maxInFlightCalls × maxMessageBytes
//   = 128 × 16 MiB (only while peers stop reading) + 32 × 16 MiB.
// Messages: an Apply of 10 000 services × 16 IPv4 backends is ≈ 4.5 MiB (IPv6 backends and names
// make it larger), so the cap is 16 MiB rather than grpc-js's 4 MiB default.
// Long-lived streams (recordings, health watches, reflection) are not counted as calls in flight:
// they carry small messages and the recorder bounds its own sessions.
import { ServerInterceptingCall, status, type ServerInterceptor } from '@grpc/grpc-js';
import { Metadata } from '@grpc/grpc-js';

export interface ApiLimits {
  /** Connections at once (per listener); further ones are closed on accept. */
  maxConnections: number;
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS: calls open at once on one connection. */
  maxConcurrentStreams: number;
  /** Unary calls being received or executed at once, across all connections. */
  maxInFlightCalls: number;
  /** A unary request must arrive completely within this (slow senders hold a call slot). */
  requestTimeoutMs: number;
  /** Largest request message (after decompression). */
  maxMessageBytes: number;
  /** Node's HTTP/2 per-session memory cap, in MiB: a session above it gets ENHANCE_YOUR_CALM. */
  maxSessionMemoryMb: number;
  /** Server keepalive: ping a connection idle this long, drop it if the ping is not answered. */
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
  /** A connection without open calls is closed after this; also bounds a socket that never
   *  speaks HTTP/2 or never finishes its TLS handshake. */
  maxConnectionIdleMs: number;
}

export const DEFAULT_API_LIMITS: Readonly<ApiLimits> = Object.freeze({
  maxConnections: 128,
  maxConcurrentStreams: 32,
  maxInFlightCalls: 32,
  requestTimeoutMs: 10_000,
  maxMessageBytes: 16 * 1024 * 1024,
  maxSessionMemoryMb: 16,
  keepaliveTimeMs: 60_000,
  keepaliveTimeoutMs: 20_000,
  maxConnectionIdleMs: 300_000,
});

/** The grpc-js server options that carry the limits. */
export function grpcServerOptions(l: ApiLimits): Record<string, number> {
  return {
    'grpc.max_concurrent_streams': l.maxConcurrentStreams,
    'grpc.max_receive_message_length': l.maxMessageBytes,
    'grpc-node.max_session_memory': l.maxSessionMemoryMb,
    'grpc.keepalive_time_ms': l.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': l.keepaliveTimeoutMs,
    'grpc.max_connection_idle_ms': l.maxConnectionIdleMs,
  };
}

/**
 * Counts unary calls from their start to their status (or cancellation): beyond the cap a call is
 * answered RESOURCE_EXHAUSTED before its body is read; a call whose request has not fully arrived
 * after requestTimeoutMs is answered DEADLINE_EXCEEDED and its slot freed.
 */
export function callLimiter(l: ApiLimits): ServerInterceptor {
  let inFlight = 0;
  return (method, call) => {
    if (method.requestStream || method.responseStream) return new ServerInterceptingCall(call);
    let counted = false;
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (counted) inFlight--;
      counted = false;
    };
    const fail = (code: status, details: string) => call.sendStatus({ code, details, metadata: new Metadata() });
    return new ServerInterceptingCall(call, {
      start(next) {
        if (inFlight >= l.maxInFlightCalls) {
          fail(status.RESOURCE_EXHAUSTED, `too many API calls in progress (${l.maxInFlightCalls}); retry later`);
          return;
        }
        inFlight++;
        counted = true;
        timer = setTimeout(() => {
          timer = undefined;
          fail(status.DEADLINE_EXCEEDED, `the request did not arrive completely within ${l.requestTimeoutMs} ms`);
          done();
        }, l.requestTimeoutMs);
        timer.unref();
        next({
          onReceiveHalfClose(nextHalfClose) {
            if (timer) clearTimeout(timer);
            timer = undefined;
            nextHalfClose();
          },
          onCancel: done,
        });
      },
      sendStatus(s, next) {
        done();
        next(s);
      },
    });
  };
}
