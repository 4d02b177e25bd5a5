// What a probe is and how its outcome reads, shared by the native prober (native-probes.ts, the
// default) and the Node-socket one (probes.ts): the same request bytes, the same status rule and
// the same error texts whichever ran it.
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

/** A failure by errno name (ECONNREFUSED …); a taken local port is flagged, not blamed. */
export function errnoFailure(code: string | undefined, message?: string): ProbeResult {
  if (code === 'EADDRINUSE') return { ok: false, error: 'local port in use', portBusy: true };
  return { ok: false, error: (code && ERRORS[code]) ?? code ?? message ?? 'unknown error' };
}

/** The status code against the expected range (default 200-399). */
export function httpStatusResult(code: number, expect: StatusRange | undefined): ProbeResult {
  const range = expect ?? { min: 200, max: 399 };
  return code >= range.min && code <= range.max ? { ok: true } : { ok: false, error: `HTTP ${code}` };
}

export const TIMEOUT = {
  connect: 'timeout',
  response: 'timeout (no response)',
  reply: 'timeout (no reply)',
} as const;
export const NOT_HTTP = 'not an HTTP response';
export const CLOSED_WITHOUT_RESPONSE = 'connection closed without a response';
export const PORT_UNREACHABLE = 'port unreachable';

/** The whole GET request (HTTP/1.1, Connection: close). */
export function httpRequest(spec: ProbeSpec): string {
  const host = spec.host ?? hostHeader(spec.address, spec.port);
  return `GET ${spec.path ?? '/'} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: xlb-health\r\nAccept: */*\r\nConnection: close\r\n\r\n`;
}

function hostHeader(address: string, port: number): string {
  const host = address.includes(':') ? `[${address}]` : address;
  return port === 80 ? host : `${host}:${port}`;
}
