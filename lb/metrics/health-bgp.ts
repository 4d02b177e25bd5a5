// Health-check and BGP metrics read at scrape time from the daemon's reports: each checked
// backend's state, services with every backend down, and this node's BGP announcements and
// sessions. (Transitions and probe results are counted as they happen: registry.ts.)
import type { Registry } from 'prom-client';
import { METRIC } from './names.js';
import { scrapedCounter, scrapedGauge, type Sample } from './scraped.js';
import type { Snapshot } from './snapshot.js';

const BGP_STATES = ['idle', 'connect', 'active', 'opensent', 'openconfirm', 'established', 'unknown'];

export function registerHealthBgpMetrics(registry: Registry, snapshot: () => Snapshot): void {
  type SB = Sample<'service' | 'backend'>;
  scrapedGauge({
    registry,
    name: METRIC.backendUp,
    help: "A checked backend's health: 1 up, 0 down (backends of services without a check, and backends not checked yet, are left out).",
    labelNames: ['service', 'backend'],
    snapshot,
    samples: (s) =>
      s.stats?.services.flatMap((svc) =>
        svc.backends.flatMap((b): SB[] => (b.health && b.health.status !== 'unknown' ? [[{ service: svc.id, backend: b.address }, b.health.status === 'up' ? 1 : 0]] : [])),
      ),
  });
  scrapedGauge({
    registry,
    name: METRIC.serviceAllDown,
    help: 'A service with a health check has every active backend down (1), or not (0).',
    labelNames: ['service'],
    snapshot,
    samples: (s) => s.stats?.services.flatMap((svc): Sample<'service'>[] => (svc.health ? [[{ service: svc.id }, svc.health.allBackendsDown ? 1 : 0]] : [])),
  });
  scrapedGauge({
    registry,
    name: METRIC.serviceFailingOpen,
    help: 'Every backend is down and the service fails open (fail_open: true): new flows still go to all of them.',
    labelNames: ['service'],
    snapshot,
    samples: (s) => s.stats?.services.flatMap((svc): Sample<'service'>[] => (svc.health ? [[{ service: svc.id }, svc.health.failingOpen ? 1 : 0]] : [])),
  });
  scrapedGauge({
    registry,
    name: METRIC.healthInFlight,
    help: 'Health probes running now.',
    snapshot,
    samples: (s) => (s.status?.health ? [[{}, s.status.health.inFlight]] : undefined),
  });
  scrapedCounter({
    registry,
    name: METRIC.healthLate,
    help: 'Probes that waited for a free slot (health.max_concurrency): a growing rate means intervals are not kept.',
    snapshot,
    samples: (s) => (s.status?.health ? [[{}, s.status.health.lateProbes]] : undefined),
  });

  scrapedCounter({
    registry,
    name: METRIC.healthProbes,
    help: 'Health probes finished, by result (ok, failed).',
    labelNames: ['result'],
    snapshot,
    samples: (s) => (s.status?.health ? [[{ result: 'ok' }, s.status.health.probesOk], [{ result: 'failed' }, s.status.health.probesFailed]] : undefined),
  });

  const bgp = (s: Snapshot) => (s.status?.bgp?.enabled ? s.status.bgp : undefined);
  scrapedGauge({
    registry,
    name: METRIC.bgpAnnounced,
    help: "Whether this node announces the VIP's host route in gobgpd (1) or not (0).",
    labelNames: ['vip'],
    snapshot,
    samples: (s) => bgp(s)?.prefixes.map((p): Sample<'vip'> => [{ vip: p.prefix.split('/')[0] }, p.announced ? 1 : 0]),
  });
  scrapedGauge({
    registry,
    name: METRIC.bgpSessionUp,
    help: "A BGP session of this node's gobgpd is established (1) or not (0).",
    labelNames: ['neighbor'],
    snapshot,
    samples: (s) => bgp(s)?.neighbors.map((n): Sample<'neighbor'> => [{ neighbor: n.address }, n.state === 'established' ? 1 : 0]),
  });
  scrapedGauge({
    registry,
    name: METRIC.bgpSessionState,
    help: 'The BGP session state as gobgpd reports it: 1 for the current state, 0 for the others.',
    labelNames: ['neighbor', 'state'],
    snapshot,
    samples: (s) =>
      bgp(s)?.neighbors.flatMap((n) => BGP_STATES.map((st): Sample<'neighbor' | 'state'> => [{ neighbor: n.address, state: st }, n.state === st ? 1 : 0])),
  });
  scrapedGauge({
    registry,
    name: METRIC.bgpGobgpdUp,
    help: "gobgpd's API answers (1) or not (0).",
    snapshot,
    samples: (s) => (bgp(s) ? [[{}, bgp(s)!.connected ? 1 : 0]] : undefined),
  });
  scrapedGauge({
    registry,
    name: METRIC.bgpDrained,
    help: 'xlb drain-node is in effect (1): nothing is announced.',
    snapshot,
    samples: (s) => (bgp(s) ? [[{}, bgp(s)!.drained ? 1 : 0]] : undefined),
  });
}
