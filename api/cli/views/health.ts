// Health in the CLI's views: a check in one phrase, a backend's state in a few words, and their
// JSON forms (snake_case, like the rest of -o json).
import type { BackendHealth__Output } from '../../generated/xlb/v1/BackendHealth.js';
import type { HealthCheck__Output } from '../../generated/xlb/v1/HealthCheck.js';
import type { ServiceHealth__Output } from '../../generated/xlb/v1/ServiceHealth.js';
import type { JsonValue } from '../render/json.js';
import { duration, enumName, u64 } from './common.js';

/** "http /healthz every 2s (timeout 1s, rise 2, fall 3)", plus "direct" / "port 8080" when so. */
export function healthCheckText(h: HealthCheck__Output): string {
  const what = h.kind === 'http' ? `http ${h.path || '/'}` : h.kind;
  const extras = [h.mode === 'direct' ? 'direct' : '', h.port ? `port ${h.port}` : '', h.failOpen === false ? 'no fail-open' : ''].filter(Boolean);
  return `${what} every ${h.interval} (timeout ${h.timeout}, rise ${h.rise}, fall ${h.fall}${extras.length ? `, ${extras.join(', ')}` : ''})`;
}

export function serviceHealthText(h: ServiceHealth__Output | null | undefined): string {
  if (!h?.allBackendsDown) return '';
  return h.failingOpen ? '  ALL BACKENDS DOWN: failing open' : '  ALL BACKENDS DOWN: dropping new flows';
}

/** "up 3m12s", "down 12s: connect refused", "unknown". */
export function backendHealthText(h: BackendHealth__Output, nowMs: number): string {
  const state = enumName(h.state, 'HEALTH_STATE_') || '-';
  if (state === 'unknown') return h.lastError ? `unknown: ${h.lastError}` : 'unknown';
  const since = Number(u64(h.sinceMs));
  const age = since > 0 ? ` ${duration(Math.max(0, Math.floor((nowMs - since) / 1000)))}` : '';
  return `${state}${age}${h.lastError ? `: ${h.lastError}` : ''}`;
}

export function healthCheckJson(h: HealthCheck__Output): JsonValue {
  return {
    kind: h.kind,
    mode: h.mode,
    interval: h.interval,
    timeout: h.timeout,
    rise: h.rise ?? 0,
    fall: h.fall ?? 0,
    port: h.port || undefined,
    path: h.path || undefined,
    host: h.host || undefined,
    expect_status: h.expectStatus || undefined,
    payload: h.payload || undefined,
    payload_hex: h.payloadHex || undefined,
    fail_open: h.failOpen ?? true,
  };
}

export function backendHealthJson(h: BackendHealth__Output): JsonValue {
  return {
    state: enumName(h.state, 'HEALTH_STATE_'),
    since_ms: Number(u64(h.sinceMs)),
    last_error: h.lastError || undefined,
    last_check_ms: Number(u64(h.lastCheckMs)),
    probe: h.probe,
  };
}
