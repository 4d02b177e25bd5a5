// The probes themselves: one real exchange each, bounded by a timeout, always ending without
// leaving state behind on either host (TCP connections are closed with a reset, so neither side
// keeps TIME_WAIT entries for a 4-tuple the next probe may use again).
//   tcp   connect
//   http  connect, GET path (HTTP/1.1, Connection: close), the status code must be in the
//         expected range
//   udp   send the payload, any reply within the timeout is success (an ICMP port unreachable,
//         or silence, is failure)
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import type { CheckKind, StatusRange } from '../model/index.js';

export interface ProbeSpec {
  kind: CheckKind;
  /** Where the probe connects: the VIP (tunnel mode) or the backend / its check address. */
  address: string;
  port: number;
  timeoutMs: number;
  /** Bind to this local port (tunnel mode: the port the tc program routes by). */
  localPort?: number;
  path?: string;
  host?: string;
  expectStatus?: StatusRange;
  payload?: Buffer;
}

export interface ProbeResult {
  ok: boolean;
  /** Why it failed, for people: "connect refused", "timeout", "HTTP 503", ... */
  error?: string;
  /** The local port could not be bound (taken by someone else): not the backend's fault. */
  portBusy?: boolean;
}

const ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connect refused',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPIPE: 'connection closed',
  EADDRNOTAVAIL: 'address not available',
};

function describeError(e: NodeJS.ErrnoException): string {
  return (e.code && ERRORS[e.code]) ?? e.code ?? e.message;
}

function failure(e: NodeJS.ErrnoException): ProbeResult {
  return e.code === 'EADDRINUSE' ? { ok: false, error: 'local port in use', portBusy: true } : { ok: false, error: describeError(e) };
}

export function runProbe(spec: ProbeSpec): Promise<ProbeResult> {
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
    const timer = setTimeout(() => finish({ ok: false, error: connected ? 'timeout (no response)' : 'timeout' }), spec.timeoutMs);
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
        const code = Number(m[1]);
        const range = spec.expectStatus ?? { min: 200, max: 399 };
        finish(code >= range.min && code <= range.max ? { ok: true } : { ok: false, error: `HTTP ${code}` });
      } else if (head.includes('\n') || head.length > 1024) {
        finish({ ok: false, error: 'not an HTTP response' });
      }
    });
    socket.on('end', () => finish({ ok: false, error: 'connection closed without a response' }));
  });
}

const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})[ \r\n]/;

function httpRequest(spec: ProbeSpec): string {
  const host = spec.host ?? hostHeader(spec.address, spec.port);
  return `GET ${spec.path ?? '/'} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: xlb-health\r\nAccept: */*\r\nConnection: close\r\n\r\n`;
}

function hostHeader(address: string, port: number): string {
  const host = address.includes(':') ? `[${address}]` : address;
  return port === 80 ? host : `${host}:${port}`;
}

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
    const timer = setTimeout(() => finish({ ok: false, error: 'timeout (no reply)' }), spec.timeoutMs);
    socket.on('error', (e: NodeJS.ErrnoException) =>
      finish(e.code === 'ECONNREFUSED' ? { ok: false, error: 'port unreachable' } : failure(e)),
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
