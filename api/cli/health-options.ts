// The health-check options of `xlb service add|set`: --check KIND[:PATH] and its settings, turned
// into the HealthCheck message. Values go to the daemon as written (durations as text); the daemon
// judges them and names the field (service.health_check.interval, ...).
import { InvalidArgumentError, type Command } from 'commander';
import type { HealthCheck, HealthCheck__Output } from '../generated/xlb/v1/HealthCheck.js';

export interface CheckOptions {
  check?: string;
  checkMode?: string;
  checkInterval?: string;
  checkTimeout?: string;
  rise?: number;
  fall?: number;
  checkPort?: number;
  checkHost?: string;
  checkExpect?: string;
  checkPayload?: string;
  failOpen?: boolean;
}

/** A whole number as the wire carries it; the daemon says what range it accepts. */
function parseCount(text: string): number {
  if (!/^[0-9]+$/.test(text) || Number(text) > 0xffffffff) throw new InvalidArgumentError('must be a whole number.');
  return Number(text);
}

export function addCheckOptions(cmd: Command, forSet: boolean): Command {
  return cmd
    .option('--check <kind[:path]>', `health check: tcp, http[:/path], udp${forSet ? ', or none to remove it' : ''}`)
    .option('--check-mode <mode>', 'tunnel (default: VIP:port through the tunnel, as clients) or direct (the backend address)')
    .option('--check-interval <duration>', 'time between probes, e.g. 2s (default), 500ms')
    .option('--check-timeout <duration>', 'a probe fails after this long (default 1s, at most half the interval); shorter than the interval')
    .option('--rise <n>', 'successes in a row that bring a backend up (default 2)', parseCount)
    .option('--fall <n>', 'failures in a row that take a backend down (default 3)', parseCount)
    .option('--check-port <port>', "port probed (default: the service's)", parseCount)
    .option('--check-host <host>', 'http: Host header')
    .option('--check-expect <codes>', 'http: accepted status codes, e.g. 200 or 200-399 (default)')
    .option('--check-payload <text>', 'udp: the datagram sent')
    .option('--fail-open', 'when every backend is down, keep sending new flows to all of them (the default)')
    .option('--no-fail-open', 'when every backend is down, drop new flows');
}

export function hasCheckOptions(o: CheckOptions): boolean {
  return (
    o.check !== undefined || o.checkMode !== undefined || o.checkInterval !== undefined || o.checkTimeout !== undefined ||
    o.rise !== undefined || o.fall !== undefined || o.checkPort !== undefined || o.checkHost !== undefined ||
    o.checkExpect !== undefined || o.checkPayload !== undefined || o.failOpen !== undefined
  );
}

/** The message for the options, on top of `base` (the service's current check, for `set`). */
export function healthCheckFromOptions(o: CheckOptions, base?: HealthCheck__Output | null): HealthCheck {
  const out: HealthCheck = base ? { ...base } : {};
  if (base && base.optionalFailOpen !== 'failOpen') delete out.failOpen;
  delete (out as { optionalFailOpen?: unknown }).optionalFailOpen;
  delete (out as { optionalRise?: unknown }).optionalRise;
  delete (out as { optionalFall?: unknown }).optionalFall;
  if (o.check !== undefined) {
    const colon = o.check.indexOf(':');
    out.kind = colon < 0 ? o.check : o.check.slice(0, colon);
    if (colon >= 0) out.path = o.check.slice(colon + 1);
    else if (base && base.kind !== out.kind) out.path = '';
    if (base && base.kind !== out.kind) {
      out.expectStatus = '';
      out.host = '';
      out.payload = '';
      out.payloadHex = '';
    }
  }
  if (o.checkMode !== undefined) out.mode = o.checkMode;
  if (o.checkInterval !== undefined) out.interval = o.checkInterval;
  if (o.checkTimeout !== undefined) out.timeout = o.checkTimeout;
  if (o.rise !== undefined) out.rise = o.rise;
  if (o.fall !== undefined) out.fall = o.fall;
  if (o.checkPort !== undefined) out.port = o.checkPort;
  if (o.checkHost !== undefined) out.host = o.checkHost;
  if (o.checkExpect !== undefined) out.expectStatus = o.checkExpect;
  if (o.checkPayload !== undefined) out.payload = o.checkPayload;
  if (o.failOpen !== undefined) out.failOpen = o.failOpen;
  return out;
}
