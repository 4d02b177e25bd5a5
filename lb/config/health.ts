// health: settings of the health checker as a whole (the checks themselves are per service, in
// `services:` or the API). source_ports: the local ports tunnel-mode probes bind, which the probe
// tunnel recognises them by; keep them out of net.ipv4.ip_local_port_range (32768-60999 by default).
import type { Resolver } from './resolver.js';
import { integer } from './resolver.js';

export interface HealthSettings {
  sourcePorts: { min: number; max: number };
  /** Probes running at once, over every service. */
  maxConcurrency: number;
}

export const HEALTH_DEFAULTS = Object.freeze({ sourcePorts: '61000-61999', maxConcurrency: 256 });

export function resolveHealthSettings(r: Resolver): HealthSettings {
  const portsS = r.get(['health', 'source_ports'], undefined, HEALTH_DEFAULTS.sourcePorts);
  const m = typeof portsS.value === 'string' ? /^(\d{1,5})-(\d{1,5})$/.exec(portsS.value) : null;
  const min = m ? Number(m[1]) : NaN;
  const max = m ? Number(m[2]) : NaN;
  if (!m || min < 1024 || max > 65535 || min > max) {
    r.fail(portsS, `${JSON.stringify(portsS.value)} must be a port range FIRST-LAST within 1024-65535, e.g. 61000-61999`);
  }
  const concS = r.get(['health', 'max_concurrency'], undefined, HEALTH_DEFAULTS.maxConcurrency);
  const maxConcurrency = integer(r, concS, 1, 4096);
  if (maxConcurrency > max - min + 1) {
    r.fail(concS, `${maxConcurrency} probes at once need as many source ports, and health.source_ports has ${max - min + 1}`);
  }
  return { sourcePorts: { min, max }, maxConcurrency };
}
