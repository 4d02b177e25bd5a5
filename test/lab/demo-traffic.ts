// The demo's traffic: real HTTP from the client through a VIP, with tcpdump on every link the
// packets cross, and how it is shown — requests per backend, and the direct-server-return path
// with what each capture saw next to what `xlb stats` counted.
import { captureDuring, summarize, type WireSummary } from '../e2e/wire.js';
import { bold, dim, out, pad, rpad, shareBars } from './demo-print.js';
import type { HttpLoadResult, Lab } from './lab.js';

export interface DemoVip {
  /** the service id as the CLI spells it: 10.100.0.10:80/tcp, [fd00:100::10]:80/tcp */
  service: string;
  vip: string;
  family: 4 | 6;
  tunnel: 'IPIP' | 'IP6IP6';
  /** backend address per backend node name */
  backends: Map<string, string>;
}

export interface TrafficResult {
  svc: DemoVip;
  url: string;
  load: HttpLoadResult;
  /** router ↔ LB node link */
  lbWire: WireSummary;
  clientWire: WireSummary;
  backendWires: Map<string, WireSummary>;
}

/** `connections` HTTP GETs from c1 to the VIP, one new TCP connection each, captured along the path. */
export async function runTraffic(lab: Lab, svc: DemoVip, connections: number): Promise<TrafficResult> {
  const url = lab.url(svc.vip);
  const points = [
    { node: 'r', dev: lab.lbContext('lb1').gatewayIfname },
    { node: 'c1', dev: 'eth0', filter: 'tcp port 80' },
    ...lab.backends.map((b) => ({ node: 'r', dev: b.routerIfname })),
  ];
  const { result: load, packets } = await captureDuring(lab, points, async () => {
    const r = await lab.httpLoad('c1', { url, connections, concurrency: 16 });
    await new Promise((res) => setTimeout(res, 300)); // the last FIN/ACKs
    return r;
  });
  const [lbPackets, clientPackets, ...backendPackets] = packets;
  return {
    svc,
    url,
    load,
    lbWire: summarize(lbPackets!, svc.vip, 80),
    clientWire: summarize(clientPackets!, svc.vip, 80),
    backendWires: new Map(lab.backends.map((b, i) => [b.name, summarize(backendPackets[i]!, svc.vip, 80)])),
  };
}

export function backendsServed(lab: Lab, load: HttpLoadResult): number {
  return lab.backends.filter((b) => (load.perBackend[b.name] ?? 0) > 0).length;
}

export function printLoad(lab: Lab, url: string, load: HttpLoadResult, asked: number, note?: (name: string) => string): void {
  const failed = load.failed ? `, ${load.failed} FAILED ${JSON.stringify(load.errors)}` : '';
  out(`   ${url}  ${load.ok}/${asked} answered in ${(load.durationMs / 1000).toFixed(2)} s${failed}`);
  shareBars(load.perBackend, lab.backends.map((b) => b.name), load.ok, note);
}

/**
 * The DSR path of each VIP and what the captures saw on each link, with `xlb stats`' per-backend
 * packet counts next to the frames tunnelled to that backend (they should be equal).
 */
export function printDsr(lab: Lab, results: TrafficResult[], statsPackets: (svc: DemoVip, backend: string) => number): void {
  const c1 = lab.node('c1');
  const lb1 = lab.node('lb1');
  for (const r of results) {
    const v4 = r.svc.family === 4;
    const client = v4 ? c1.ipv4 : c1.ipv6;
    const lbAddr = v4 ? lb1.ipv4 : lb1.ipv6;
    const backendAddr = v4 ? '10.3.N.2' : 'fd00:3:N::2';
    out(`   ${bold(r.svc.service)} (${r.svc.tunnel} tunnel)`);
    out(`     request  c1 ──▶ r ──▶ lb1 ══▶ r ══▶ bN   ${client} → ${r.svc.vip}; lb1 wraps it in ${lbAddr} → ${backendAddr}`);
    out(`     reply    bN ──▶ r ──▶ c1                ${r.svc.vip} → ${client} straight from the backend; lb1 is not on the way`);
    out(dim(`     ${pad('link (captured on)', 22)}${rpad('requests', 9)}${rpad('tunnelled', 11)}${rpad('replies', 9)}${rpad('xlb stats', 11)}`));
    const row = (name: string, s: WireSummary, stats: string, note: string) =>
      out(`     ${pad(name, 22)}${rpad(s.requests.length, 9)}${rpad(s.tunnelled.length, 11)}${rpad(s.replies.length, 9)}${rpad(stats, 11)}  ${note}`);
    row('c1 ↔ r   (c1 eth0)', r.clientWire, '', `${r.clientWire.replySynAcks.length} SYN-ACKs from the VIP reach the client`);
    const total = lab.backends.reduce((n, b) => n + statsPackets(r.svc, b.name), 0);
    row('r ↔ lb1  (r to-lb1)', r.lbWire, String(total), r.lbWire.replies.length === 0 ? 'every request in, and out again tunnelled; no reply: DSR' : 'REPLIES CROSSED THE LB');
    for (const b of lab.backends) {
      row(`r ↔ ${b.name}   (r to-${b.name})`, r.backendWires.get(b.name)!, String(statsPackets(r.svc, b.name)), 'tunnelled requests in, plain replies out');
    }
  }
}

/** Do the captures agree with xlb stats, frame for frame, per backend? */
export function statsMatchCaptures(lab: Lab, r: TrafficResult, statsPackets: (svc: DemoVip, backend: string) => number): boolean {
  return lab.backends.every((b) => {
    const n = statsPackets(r.svc, b.name);
    return n === r.lbWire.tunnelledTo.get(r.svc.backends.get(b.name)!) && n === r.backendWires.get(b.name)!.tunnelled.length;
  });
}
