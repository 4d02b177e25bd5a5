// What this node should announce: one host route per VIP (/32, /128), decided from the desired
// services and their health.
//   when_healthy  announced while at least one of the VIP's services has a healthy backend
//                 (an active backend that is up, or not checked);
//   always        announced while the VIP has a service;
//   drained       nothing is announced (xlb drain-node).
// A VIP whose last service is deleted simply disappears from the set, so it is withdrawn.
import type { Service } from '../model/index.js';

export type AnnounceMode = 'when_healthy' | 'always';

export interface Announcement {
  /** "10.0.0.10/32" */
  prefix: string;
  vip: string;
  family: 4 | 6;
  announce: boolean;
  reason: string;
}

export function hostPrefix(vip: string): string {
  return vip.includes(':') ? `${vip}/128` : `${vip}/32`;
}

/** One entry per VIP, in service order. `healthy(s)`: s has a backend that takes new flows. */
export function announcements(
  services: readonly Service[],
  o: { mode: AnnounceMode; drained: boolean; healthy: (s: Service) => boolean },
): Announcement[] {
  const byVip = new Map<string, Announcement>();
  for (const s of services) {
    let a = byVip.get(s.vip);
    if (!a) {
      a = { prefix: hostPrefix(s.vip), vip: s.vip, family: s.family, announce: false, reason: 'no healthy backend' };
      byVip.set(s.vip, a);
    }
    if (o.mode === 'always') {
      a.announce = true;
      a.reason = 'always';
    } else if (!a.announce && o.healthy(s)) {
      a.announce = true;
      a.reason = 'healthy';
    }
  }
  const out = [...byVip.values()];
  if (o.drained) for (const a of out) if (a.announce) Object.assign(a, { announce: false, reason: 'node drained' });
  return out;
}
