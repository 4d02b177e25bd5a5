// Health checks of a service, and the per-backend overrides of where a backend is probed: the
// vocabulary and its validation. Like the rest of the model this is plain data checked field by
// field, whichever door it came through (gRPC, the config file, `xlb apply`, the state file, and
// later Kubernetes annotations); errors name the field in snake_case.
import { parseUnicastIp } from './address.js';
import { describeValue, invalid, joinField } from './errors.js';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

export type CheckKind = 'tcp' | 'http' | 'udp';
export const CHECK_KINDS: readonly (CheckKind | 'none')[] = ['tcp', 'http', 'udp', 'none'];
/** tunnel: VIP:port through the tunnel to the backend, as clients reach it; direct: backend:port. */
export type CheckMode = 'tunnel' | 'direct';
export const CHECK_MODES: readonly CheckMode[] = ['tunnel', 'direct'];

export interface StatusRange {
  min: number;
  max: number;
}

export interface HealthCheckSpec {
  kind: CheckKind;
  mode: CheckMode;
  intervalMs: number;
  timeoutMs: number;
  /** Consecutive successes that bring a backend up; consecutive failures that take it down. */
  rise: number;
  fall: number;
  /** Port probed; absent = the service's port. */
  port?: number;
  /** http: request path (starts with '/'), Host header (absent: the probed address), accepted status codes. */
  path?: string;
  host?: string;
  expectStatus?: StatusRange;
  /** udp: the datagram sent (text, or bytes in hex); absent = an empty datagram. */
  payload?: string;
  payloadHex?: string;
  /** When every backend is down: keep them all (true, the default) or program none (false). */
  failOpen: boolean;
}

/** Loosely typed input (proto, YAML, state file); absent = default. */
export interface HealthCheckInput {
  kind?: unknown;
  mode?: unknown;
  interval?: unknown;
  timeout?: unknown;
  rise?: unknown;
  fall?: unknown;
  port?: unknown;
  path?: unknown;
  host?: unknown;
  expectStatus?: unknown;
  payload?: unknown;
  payloadHex?: unknown;
  failOpen?: unknown;
}

export const HEALTH_CHECK_DEFAULTS = Object.freeze({
  mode: 'tunnel' as CheckMode,
  intervalMs: 2000,
  /** The default timeout: this, or half the interval when the interval is shorter than twice it. */
  timeoutMs: 1000,
  rise: 2,
  fall: 3,
  path: '/',
  expectStatus: Object.freeze({ min: 200, max: 399 }),
  failOpen: true,
});
export const HEALTH_CHECK_LIMITS = Object.freeze({
  intervalMinMs: 100,
  intervalMaxMs: 3_600_000,
  timeoutMinMs: 10,
  riseFallMax: 100,
  pathMaxLength: 1024,
  hostMaxLength: 255,
  payloadMaxBytes: 512,
});

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000 } as const;

/** "2s", "500ms", "1.5s", "1m" → milliseconds (a whole number). */
export function parseDuration(value: unknown, field: string): number {
  if (typeof value !== 'string') {
    throw invalid(field, `${describeValue(value)} is not a duration; write it with a unit, e.g. 2s or 500ms`);
  }
  const m = DURATION.exec(value.trim());
  if (!m) throw invalid(field, `${describeValue(value)} is not a duration; write it with a unit, e.g. 2s or 500ms`);
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  if (!Number.isInteger(ms)) throw invalid(field, `${describeValue(value)} is not a whole number of milliseconds`);
  return ms;
}

/** Canonical text of a duration: whole seconds as "2s", else milliseconds "500ms". */
export function formatDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

export function formatStatusRange(r: StatusRange): string {
  return r.min === r.max ? String(r.min) : `${r.min}-${r.max}`;
}

function isAbsent(v: unknown): boolean {
  return v === undefined || v === null || v === '';
}

function integerIn(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(field, `${describeValue(value)} is out of range; must be an integer ${min}..${max}`);
  }
  return value;
}

function oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[], what: string): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value.toLowerCase())) return value.toLowerCase() as T;
  throw invalid(field, `unknown ${what} ${describeValue(value)}; expected one of: ${allowed.join(', ')}`);
}

function parseStatusRange(value: unknown, field: string): StatusRange {
  const text = typeof value === 'number' ? String(value) : value;
  const m = typeof text === 'string' ? /^(\d{3})(?:-(\d{3}))?$/.exec(text.trim()) : null;
  if (!m) throw invalid(field, `${describeValue(value)} is not a status code or range, e.g. 200 or 200-399`);
  const min = Number(m[1]);
  const max = m[2] === undefined ? min : Number(m[2]);
  if (min < 100 || max > 599 || min > max) throw invalid(field, `${describeValue(value)}: codes must be 100..599, the first not above the second`);
  return { min, max };
}

function printable(value: unknown, field: string, max: number, what: string): string {
  if (typeof value !== 'string') throw invalid(field, `expected a string, got ${describeValue(value)}`);
  if (value.length > max) throw invalid(field, `is ${value.length} characters long; at most ${max} allowed`);
  if (!/^[\x21-\x7e]+$/.test(value)) throw invalid(field, `${describeValue(value)}: ${what} may only contain printable ASCII without spaces`);
  return value;
}

/**
 * Validates a service's health check. `servicePort` 0 (an all-ports service) makes `port`
 * required. Returns undefined for "no check" (absent, or kind none).
 */
export function validateHealthCheck(input: unknown, servicePort: number, field: string): HealthCheckSpec | undefined {
  if (input === undefined || input === null) return undefined;
  if (!isPlainObject(input)) throw invalid(field, `expected a health check { kind, interval, timeout, rise, fall, ... }, got ${describeValue(input)}`);
  const f = (name: string) => joinField(field, name);
  if (isAbsent(input.kind)) throw invalid(f('kind'), `is required (one of: ${CHECK_KINDS.join(', ')})`);
  const kind = oneOf(input.kind, f('kind'), CHECK_KINDS, 'check kind');
  if (kind === 'none') return undefined;

  const mode = isAbsent(input.mode) ? HEALTH_CHECK_DEFAULTS.mode : oneOf(input.mode, f('mode'), CHECK_MODES, 'check mode');
  const L = HEALTH_CHECK_LIMITS;
  const intervalMs = isAbsent(input.interval) ? HEALTH_CHECK_DEFAULTS.intervalMs : parseDuration(input.interval, f('interval'));
  if (intervalMs < L.intervalMinMs || intervalMs > L.intervalMaxMs) {
    throw invalid(f('interval'), `${formatDuration(intervalMs)} is out of range; must be ${formatDuration(L.intervalMinMs)}..${formatDuration(L.intervalMaxMs)}`);
  }
  let timeoutMs: number;
  if (isAbsent(input.timeout)) {
    timeoutMs = Math.min(HEALTH_CHECK_DEFAULTS.timeoutMs, Math.floor(intervalMs / 2));
  } else {
    timeoutMs = parseDuration(input.timeout, f('timeout'));
    if (timeoutMs < L.timeoutMinMs) throw invalid(f('timeout'), `${formatDuration(timeoutMs)} is too short; at least ${formatDuration(L.timeoutMinMs)}`);
    if (timeoutMs >= intervalMs) {
      throw invalid(f('timeout'), `${formatDuration(timeoutMs)} must be shorter than the interval (${formatDuration(intervalMs)}): a probe must end before the next starts`);
    }
  }
  const rise = isAbsent(input.rise) ? HEALTH_CHECK_DEFAULTS.rise : integerIn(input.rise, f('rise'), 1, L.riseFallMax);
  const fall = isAbsent(input.fall) ? HEALTH_CHECK_DEFAULTS.fall : integerIn(input.fall, f('fall'), 1, L.riseFallMax);
  let port: number | undefined;
  if (!isAbsent(input.port) && input.port !== 0) port = integerIn(input.port, f('port'), 1, 65535);
  if (port === undefined && servicePort === 0) throw invalid(f('port'), 'is required: the service covers all ports, so the check must name one');

  const only = (name: string, key: keyof HealthCheckInput, forKind: CheckKind) => {
    if (kind !== forKind && !isAbsent(input[key])) throw invalid(f(name), `applies to kind ${forKind} only (this check is ${kind})`);
  };
  only('path', 'path', 'http');
  only('host', 'host', 'http');
  only('expect_status', 'expectStatus', 'http');
  only('payload', 'payload', 'udp');
  only('payload_hex', 'payloadHex', 'udp');

  const failOpen = isAbsent(input.failOpen) ? HEALTH_CHECK_DEFAULTS.failOpen : input.failOpen;
  if (typeof failOpen !== 'boolean') throw invalid(f('fail_open'), `${describeValue(failOpen)} is not true or false`);

  const spec: HealthCheckSpec = { kind, mode, intervalMs, timeoutMs, rise, fall, failOpen };
  if (port !== undefined) spec.port = port;
  if (kind === 'http') {
    const path = isAbsent(input.path) ? HEALTH_CHECK_DEFAULTS.path : printable(input.path, f('path'), L.pathMaxLength, 'a path');
    if (!path.startsWith('/')) throw invalid(f('path'), `${describeValue(path)} must start with '/'`);
    spec.path = path;
    if (!isAbsent(input.host)) spec.host = printable(input.host, f('host'), L.hostMaxLength, 'a Host header');
    spec.expectStatus = isAbsent(input.expectStatus) ? { ...HEALTH_CHECK_DEFAULTS.expectStatus } : parseStatusRange(input.expectStatus, f('expect_status'));
  }
  if (kind === 'udp') {
    if (!isAbsent(input.payload) && !isAbsent(input.payloadHex)) throw invalid(f('payload_hex'), 'give payload or payload_hex, not both');
    if (!isAbsent(input.payload)) {
      if (typeof input.payload !== 'string') throw invalid(f('payload'), `expected a string, got ${describeValue(input.payload)}`);
      if (Buffer.byteLength(input.payload) > L.payloadMaxBytes) throw invalid(f('payload'), `is longer than ${L.payloadMaxBytes} bytes`);
      spec.payload = input.payload;
    }
    if (!isAbsent(input.payloadHex)) {
      const hex = input.payloadHex;
      if (typeof hex !== 'string' || !/^([0-9a-fA-F]{2})+$/.test(hex)) throw invalid(f('payload_hex'), `${describeValue(hex)} is not an even number of hex digits`);
      if (hex.length / 2 > L.payloadMaxBytes) throw invalid(f('payload_hex'), `is longer than ${L.payloadMaxBytes} bytes`);
      spec.payloadHex = hex.toLowerCase();
    }
  }
  return spec;
}

/** Where one backend is probed instead of the default (its address, the check's port). */
export interface CheckOverride {
  /** Probed directly at this address (tunnel mode can only reach the VIP on the backend itself). */
  checkAddress?: string;
  checkPort?: number;
}

export function validateCheckOverride(address: unknown, port: unknown, field: string): CheckOverride {
  const out: CheckOverride = {};
  if (!isAbsent(address)) out.checkAddress = parseUnicastIp(address, joinField(field, 'check_address'), 'check address').text;
  if (!isAbsent(port) && port !== 0) out.checkPort = integerIn(port, joinField(field, 'check_port'), 1, 65535);
  return out;
}

export function sameHealthCheck(a: HealthCheckSpec | undefined, b: HealthCheckSpec | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** The document (YAML, state file, API output) form, snake_case, canonical text. */
export function healthCheckToDocument(h: HealthCheckSpec): Record<string, unknown> {
  const out: Record<string, unknown> = {
    kind: h.kind,
    mode: h.mode,
    interval: formatDuration(h.intervalMs),
    timeout: formatDuration(h.timeoutMs),
    rise: h.rise,
    fall: h.fall,
  };
  if (h.port !== undefined) out.port = h.port;
  if (h.path !== undefined) out.path = h.path;
  if (h.host !== undefined) out.host = h.host;
  if (h.expectStatus !== undefined) out.expect_status = formatStatusRange(h.expectStatus);
  if (h.payload !== undefined) out.payload = h.payload;
  if (h.payloadHex !== undefined) out.payload_hex = h.payloadHex;
  out.fail_open = h.failOpen;
  return out;
}

export const HEALTH_CHECK_KEYS = ['kind', 'mode', 'interval', 'timeout', 'rise', 'fall', 'port', 'path', 'host', 'expect_status', 'payload', 'payload_hex', 'fail_open'];

/** The document form (snake_case) → input. Unknown keys are refused by the caller (checkKeys). */
export function healthCheckInputFromDocument(d: Record<string, unknown>): HealthCheckInput {
  return {
    kind: d.kind,
    mode: d.mode,
    interval: d.interval,
    timeout: d.timeout,
    rise: d.rise,
    fall: d.fall,
    port: d.port,
    path: d.path,
    host: d.host,
    expectStatus: d.expect_status,
    payload: d.payload,
    payloadHex: d.payload_hex,
    failOpen: d.fail_open,
  };
}
