// One backend's health as a small state machine: unknown → up after `rise` consecutive successes,
// → down after `fall` consecutive failures, and between up and down the same way. An unknown
// backend is programmed like an up one (a new backend or a fresh start does not black-hole
// traffic before its first checks); the state a restart restores is the last one seen.

export type HealthStatus = 'unknown' | 'up' | 'down';

export interface HealthRecord {
  status: HealthStatus;
  /** Wall clock (ms) of the last change of status (or of the restore). */
  sinceMs: number;
  /** The last failure, e.g. "connect refused", "timeout", "HTTP 503"; cleared when it comes up. */
  lastError: string | undefined;
  /** Wall clock (ms) of the last finished probe; 0 = none yet. */
  lastCheckMs: number;
  /** Consecutive successes / failures so far. */
  successes: number;
  failures: number;
}

export interface Transition {
  from: HealthStatus;
  to: HealthStatus;
}

export function newRecord(nowMs: number, status: HealthStatus = 'unknown', sinceMs = nowMs): HealthRecord {
  return { status, sinceMs, lastError: undefined, lastCheckMs: 0, successes: 0, failures: 0 };
}

/** Applies one probe result to `rec` (in place); returns the transition, if any. */
export function observe(
  rec: HealthRecord,
  result: { ok: boolean; error?: string },
  o: { rise: number; fall: number; nowMs: number },
): Transition | undefined {
  rec.lastCheckMs = o.nowMs;
  const from = rec.status;
  if (result.ok) {
    rec.successes++;
    rec.failures = 0;
    if (from !== 'up' && rec.successes >= o.rise) {
      rec.status = 'up';
      rec.lastError = undefined;
    }
  } else {
    rec.failures++;
    rec.successes = 0;
    rec.lastError = result.error ?? 'failed';
    if (from !== 'down' && rec.failures >= o.fall) rec.status = 'down';
  }
  if (rec.status === from) return undefined;
  rec.sinceMs = o.nowMs;
  return { from, to: rec.status };
}
