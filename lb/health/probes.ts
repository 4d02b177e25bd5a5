// The probes themselves: one real exchange each, bounded by a timeout, always ending without
// leaving state behind on either host (TCP connections are closed with a reset, so neither side
// keeps TIME_WAIT entries for a 4-tuple the next probe may use again).
//   tcp   connect
//   http  connect, GET path (HTTP/1.1, Connection: close), the status code must be in the
//         expected range
//   udp   send the payload, any reply within the timeout is success (an ICMP port unreachable,
//         or silence, is failure)
// runProbe runs them on the addon's prober thread (native-probes.ts). runProbeInJs, below, is the
// same exchange with Node sockets on the event loop: about ten times the CPU per probe (measured:
// benchmarks/health.ts), kept as the reference the native prober is tested against.
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { runNativeProbe } from './native-probes.js';
import {
  CLOSED_WITHOUT_RESPONSE, NOT_HTTP, PORT_UNREACHABLE, TIMEOUT, errnoFailure, httpRequest, httpStatusResult,
  type ProbeResult, type ProbeSpec,
} from './probe-spec.js';

export type { ProbeResult, ProbeSpec } from './probe-spec.js';
export { prepareProbe } from './native-probes.js';

function failure(e: NodeJS.ErrnoException): ProbeResult {
  return errnoFailure(e.code, e.message);
}

/** One probe, on the prober thread. */
export function runProbe(spec: ProbeSpec): Promise<ProbeResult> {
  return runNativeProbe(spec);
}

/** One probe with Node sockets on the event loop. */
export function runProbeInJs(spec: ProbeSpec): Promise<ProbeResult> {
  switch (spec.kind) {
    case 'udp':
      return udpProbe(spec);
    case 'http':
      return tcpProbe(spec, true);
    default:
      return tcpProbe(spec, false);
  }
}

function tcpProbe(spec: ProbeSpec, asHttp: boolean): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let done = false;
    let connected = false;
    let head = '';
    // No TCP_NODELAY: a probe writes once; the setsockopt would be one more system call per probe.
    const options: net.NetConnectOpts = { host: spec.address, port: spec.port };
    if (spec.localPort !== undefined) options.localPort = spec.localPort;
    const socket = net.connect(options);
    const finish = (r: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (connected && !socket.destroyed) socket.resetAndDestroy();
      else socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, error: connected ? TIMEOUT.response : TIMEOUT.connect }), spec.timeoutMs);
    socket.on('error', (e: NodeJS.ErrnoException) => finish(failure(e)));
    socket.once('connect', () => {
      connected = true;
      if (!asHttp) return finish({ ok: true });
      socket.write(httpRequest(spec));
    });
    if (!asHttp) return;
    // Only the status line matters. Reading it straight off the socket costs about half of what a
    // node:http request does per probe (measured: benchmarks/health.ts), which counts at thousands
    // of probes per second.
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const m = STATUS_LINE.exec(head);
      if (m) {
        finish(httpStatusResult(Number(m[1]), spec.expectStatus));
      } else if (head.includes('\n') || head.length > 1024) {
        finish({ ok: false, error: NOT_HTTP });
      }
    });
    socket.on('end', () => finish({ ok: false, error: CLOSED_WITHOUT_RESPONSE }));
  });
}

const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})[ \r\n]/;

function udpProbe(spec: ProbeSpec): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let done = false;
    const socket = dgram.createSocket({ type: net.isIPv6(spec.address) ? 'udp6' : 'udp4' });
    const finish = (r: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        socket.close();
      } catch {
        // not bound yet
      }
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, error: TIMEOUT.reply }), spec.timeoutMs);
    socket.on('error', (e: NodeJS.ErrnoException) =>
      finish(e.code === 'ECONNREFUSED' ? { ok: false, error: PORT_UNREACHABLE } : failure(e)),
    );
    socket.on('message', () => finish({ ok: true }));
    socket.bind(spec.localPort ?? 0, () => {
      // Connected: only the probed address:port's replies arrive, and ICMP errors become ECONNREFUSED.
      socket.connect(spec.port, spec.address, () => {
        socket.send(spec.payload ?? Buffer.alloc(0), (e) => {
          if (e) finish(failure(e as NodeJS.ErrnoException));
        });
      });
    });
  });
}
