// `npm run demo` (node dist/test/lab/demo.js, as root): the whole of xlb on one machine, in network
// namespaces. Builds the lab (1 client, a router, 1 LB node, 3 backends), loads the XDP load
// balancer on the LB node, puts an IPv4 and an IPv6 VIP with 3 backends on it, sends real HTTP from
// the client and shows what happened: requests per backend, the DSR path with capture evidence, and
// the datapath's own counters. Then it tears everything down (also on Ctrl-C or an error).
//
// From the TypeScript sources, without a build of the TS (BPF objects and addon still needed):
//   node --import ./test/lab/ts-register.mjs test/lab/demo.ts [--requests N] [--ipv4-only]
//
// Each step is a function, so the LB steps (startLoadBalancer, configureServices, readCounters)
// can be switched to drive xlbd / the CLI without touching the rest.
import { parseArgs } from 'node:util';
import type { DatapathCounters } from '../../lb/datapath/index.js';
import { counterDelta, quiesce, type CounterDelta } from '../e2e/counters.js';
import { backendId, backendsOf, E2E_SEED, startLbNode, type LbNode } from '../e2e/lb-node.js';
import { captureDuring, summarize, type WireSummary } from '../e2e/wire.js';
import { Lab, type HttpLoadResult, type LabNode } from './lab.js';
import { recordRequests } from './demo-recorder.js';

const tty = process.stdout.isTTY === true;
const bold = (s: string) => (tty ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string) => (tty ? `\x1b[2m${s}\x1b[0m` : s);
const out = (s = '') => process.stdout.write(`${s}\n`);
const pad = (s: string | number, n: number) => String(s).padEnd(n);
const rpad = (s: string | number, n: number) => String(s).padStart(n);

interface DemoOptions {
  requests: number;
  ipv6: boolean;
}

interface DemoService {
  id: number;
  vip: string;
  family: 4 | 6;
  tunnel: string;
  /** Maglev slots per backend name */
  slots: Map<string, number>;
  tableSize: number;
}

interface TrafficResult {
  svc: DemoService;
  url: string;
  load: HttpLoadResult;
  lbWire: WireSummary;
  clientWire: WireSummary;
  backendWires: Map<string, WireSummary>;
}

let step = 0;
const STEPS = 7;
function heading(title: string): void {
  step++;
  out();
  out(bold(`[${step}/${STEPS}] ${title}`));
}

function parseOptions(): DemoOptions {
  const { values } = parseArgs({
    options: { requests: { type: 'string', default: '300' }, 'ipv4-only': { type: 'boolean', default: false }, help: { type: 'boolean' } },
  });
  if (values.help) {
    out('usage: demo [--requests N] [--ipv4-only]   (as root; after npm run build)');
    process.exit(0);
  }
  const requests = Number(values.requests);
  if (!Number.isInteger(requests) || requests < 1 || requests > 10_000) throw new Error(`--requests must be an integer 1 … 10000, got ${values.requests}`);
  return { requests, ipv6: !values['ipv4-only'] };
}

// ---- steps ---------------------------------------------------------------------------------------

async function buildLab(o: DemoOptions): Promise<Lab> {
  return Lab.create({ backends: 3, lbNodes: 1, clients: 1, ipv6: o.ipv6 });
}

function printTopology(lab: Lab, lb: LbNode): void {
  heading('Topology (network namespaces on this machine; nothing outside them is touched)');
  const c1 = lab.node('c1');
  const lb1 = lab.node('lb1');
  const v6 = (n: LabNode) => (lab.ipv6 ? n.ipv6 : '-');
  out();
  out(`   c1 (client) ───── r (router) ───── lb1 (LB: XDP on eth0)`);
  out(`                         │`);
  out(`                         ├───── b1 ┐`);
  out(`                         ├───── b2 ├ backends: VIPs on lo, decap (tc) on eth0, HTTP :80`);
  out(`                         └───── b3 ┘`);
  out();
  out(dim(`   ${pad('node', 6)}${pad('role', 9)}${pad('IPv4', 12)}${pad('IPv6', 15)}what runs there`));
  out(`   ${pad('c1', 6)}${pad('client', 9)}${pad(c1.ipv4, 12)}${pad(v6(c1), 15)}HTTP load generator`);
  out(`   ${pad('r', 6)}${pad('router', 9)}${pad('10.x.N.1', 12)}${pad(lab.ipv6 ? 'fd00:x:N::1' : '-', 15)}routes the VIPs ${lab.plan.vipPrefix4}${lab.ipv6 ? `, ${lab.plan.vipPrefix6}` : ''} → lb1`);
  out(`   ${pad('lb1', 6)}${pad('LB', 9)}${pad(lb1.ipv4, 12)}${pad(v6(lb1), 15)}xlb_lb, native XDP on eth0 (prog id ${lb.dp.program.id})`);
  for (const b of lab.backends) {
    out(`   ${pad(b.name, 6)}${pad('backend', 9)}${pad(b.ipv4, 12)}${pad(v6(b), 15)}VIPs on lo, xlb_decap on eth0, HTTP server`);
  }
  out(`   VIPs: ${[...lab.vips4, ...lab.vips6].join(', ')}`);
}

/** Loads and attaches the LB on lb1. (Later: start xlbd on the node instead.) */
async function startLoadBalancer(lab: Lab): Promise<LbNode> {
  return startLbNode(lab, 'lb1');
}

/** One service per VIP, the three backends each. (Later: xlb service create / backend add.) */
function configureServices(lab: Lab, lb: LbNode): DemoService[] {
  const vips: Array<{ vip: string; family: 4 | 6; tunnel: string }> = [
    { vip: lab.vips4[0]!, family: 4, tunnel: 'IPIP' },
    ...(lab.ipv6 ? [{ vip: lab.vips6[0]!, family: 6 as const, tunnel: 'IP6IP6' }] : []),
  ];
  return vips.map((v, i) => {
    const id = i + 1;
    const backends = backendsOf(id, lab.backends.map((node) => ({ node })), v.family);
    lb.dp.upsertService({ id, vip: v.vip, port: 80, protocol: 'tcp' });
    const placed = lb.dp.setBackends(id, backends);
    const slots = new Map(lab.backends.map((b, j) => [b.name, placed.slotsPerBackend.get(backends[j]!.id) ?? 0]));
    return { id, ...v, slots, tableSize: lb.dp.options.tableSize };
  });
}

function printLoadBalancer(lab: Lab, lb: LbNode, services: DemoService[]): void {
  heading('Load balancer on lb1, configured directly through LbDatapath (the maps)');
  const cfg = lb.dp.getConfig()!;
  out(`   XDP program xlb_lb: Maglev table M=${lb.dp.options.tableSize}, hash seed 0x${E2E_SEED.toString(16)}, tunnel MTU ${lb.dp.options.mtu}`);
  out(`   encapsulated frames: src MAC ${cfg.ifMac} (lb1 eth0) → dst MAC ${cfg.gatewayMac} (r, next hop), XDP_TX`);
  out(`   outer source: ${cfg.sourceV4}${cfg.sourceV6 ? ` / ${cfg.sourceV6}` : ''}`);
  for (const s of services) {
    const vip = s.family === 6 ? `[${s.vip}]` : s.vip;
    const shares = lab.backends.map((b) => `${b.name} ${((100 * s.slots.get(b.name)!) / s.tableSize).toFixed(1)}%`).join(', ');
    out(`   service ${s.id}: ${vip}:80/tcp → ${lab.backends.map((b) => (s.family === 4 ? b.ipv4 : b.ipv6)).join(', ')} (${s.tunnel}); table slots ${shares}`);
  }
}

/** HTTP from c1 to a VIP, one new connection per request, with captures along the path. */
async function runTraffic(lab: Lab, svc: DemoService, requests: number): Promise<TrafficResult> {
  const url = lab.url(svc.vip);
  const points = [
    { node: 'r', dev: lab.lbContext('lb1').gatewayIfname },
    { node: 'c1', dev: 'eth0', filter: 'tcp port 80' },
    ...lab.backends.map((b) => ({ node: 'r', dev: b.routerIfname })),
  ];
  const { result: load, packets } = await captureDuring(lab, points, async () => {
    const r = await lab.httpLoad('c1', { url, connections: requests, concurrency: 16 });
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

function printTraffic(lab: Lab, results: TrafficResult[], requests: number): void {
  heading(`Traffic: ${requests} HTTP GETs per VIP from c1, one new TCP connection each`);
  for (const r of results) {
    const failed = r.load.failed ? `, ${r.load.failed} FAILED ${JSON.stringify(r.load.errors)}` : '';
    out(`   ${r.url}  ${r.load.ok}/${requests} ok in ${(r.load.durationMs / 1000).toFixed(2)} s${failed}`);
    for (const b of lab.backends) {
      const n = r.load.perBackend[b.name] ?? 0;
      const share = r.load.ok ? n / r.load.ok : 0;
      const bar = '#'.repeat(Math.round(share * 40)).padEnd(40, '.');
      out(`     ${pad(b.name, 4)}${bar} ${rpad(n, 5)}  ${rpad((100 * share).toFixed(1), 5)}%`);
    }
  }
}

function printDsr(lab: Lab, results: TrafficResult[]): void {
  heading('Direct server return: the path, and what captures on each link saw');
  const c1 = lab.node('c1');
  const lb1 = lab.node('lb1');
  for (const r of results) {
    const v4 = r.svc.family === 4;
    const client = v4 ? c1.ipv4 : c1.ipv6;
    const lbAddr = v4 ? lb1.ipv4 : lb1.ipv6;
    const backendAddr = v4 ? '10.3.N.2' : 'fd00:3:N::2';
    out(`   ${bold(`${r.svc.family === 6 ? `[${r.svc.vip}]` : r.svc.vip}:80`)} (IPv${r.svc.family} VIP, ${r.svc.tunnel} tunnel)`);
    out(`     request  c1 ──▶ r ──▶ lb1 ══▶ r ══▶ bN   ${client} → ${r.svc.vip}; lb1 wraps it in ${lbAddr} → ${backendAddr}`);
    out(`     reply    bN ──▶ r ──▶ c1                ${r.svc.vip} → ${client} straight from the backend; lb1 is not on the way`);
    out(dim(`     ${pad('link (captured on)', 26)}${rpad('requests', 9)}${rpad('tunnelled', 11)}${rpad('replies', 9)}`));
    const row = (name: string, s: WireSummary, note: string) =>
      out(`     ${pad(name, 26)}${rpad(s.requests.length, 9)}${rpad(s.tunnelled.length, 11)}${rpad(s.replies.length, 9)}  ${note}`);
    row('c1 ↔ r   (c1 eth0)', r.clientWire, `${r.clientWire.replySynAcks.length} SYN-ACKs from the VIP reach the client`);
    row('r ↔ lb1  (r to-lb1)', r.lbWire, r.lbWire.replies.length === 0 ? 'every request in and out again, no reply: DSR' : 'REPLIES CROSSED THE LB');
    for (const b of lab.backends) {
      const s = r.backendWires.get(b.name)!;
      row(`r ↔ ${b.name}   (r to-${b.name})`, s, 'tunnelled requests in, plain replies out');
    }
  }
}

/** The datapath's per-CPU counters, summed. (Later: xlb stats.) */
function readCounters(lb: LbNode): DatapathCounters {
  return lb.dp.readCounters();
}

function printCounters(lab: Lab, services: DemoService[], d: CounterDelta): void {
  heading('Datapath counters on lb1 (per-CPU BPF maps, summed)');
  const p = (k: string) => d.packets[k] ?? 0;
  out(`   verdicts     tx ${p('verdict.tx')}   pass ${p('verdict.pass')}   drop ${p('verdict.drop')}`);
  out(`   tunnelled    IPIP ${p('tx.ipip')}   IP6IP6 ${p('tx.ip6ip6')}   4in6 ${p('tx.ip4in6')}   6in4 ${p('tx.ip6in4')}`);
  out(`   ICMP sent    frag-needed ${p('tx.icmpFragNeeded')}   packet-too-big ${p('tx.icmp6PacketTooBig')}`);
  out(`   flow table   new ${p('flow.new')}   hit ${p('flow.hit')}   miss ${p('flow.miss')}   reselect ${p('flow.reselect')}`);
  const passes = Object.entries(d.packets).filter(([k]) => k.startsWith('pass.')).map(([k, v]) => `${k.slice(5)} ${v}`);
  out(`   passed       ${passes.join('   ') || 'none'}   ${dim('(ARP/NDP and other traffic not for a VIP goes to the kernel)')}`);
  const drops = Object.entries(d.packets).filter(([k]) => k.startsWith('drop.')).map(([k, v]) => `${k.slice(5)} ${v}`);
  out(`   dropped      ${drops.join('   ') || 'none'}`);
  out(dim(`   ${pad('per backend', 13)}${pad('service', 9)}${pad('backend', 9)}${pad('address', 15)}${rpad('packets', 9)}${rpad('bytes', 11)}`));
  for (const s of services) {
    lab.backends.forEach((b, i) => {
      const c = d.backends.get(backendId(s.id, i + 1)) ?? { packets: 0, bytes: 0 };
      out(`   ${pad('', 13)}${pad(s.id, 9)}${pad(b.name, 9)}${pad(s.family === 4 ? b.ipv4 : b.ipv6, 15)}${rpad(c.packets, 9)}${rpad(c.bytes, 11)}`);
    });
  }
}

async function teardown(lab: Lab | undefined, lb: LbNode | undefined): Promise<void> {
  heading('Teardown');
  try {
    lb?.stop();
  } finally {
    await lab?.destroy();
  }
  out('   XDP program detached, namespaces, processes and pins removed.');
}

// ---- main ----------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const o = parseOptions();
  if (process.getuid?.() !== 0) throw new Error('the demo needs root (network namespaces, XDP, BPF maps)');
  let lab: Lab | undefined;
  let lb: LbNode | undefined;
  let summary: string[] = [];
  // Ctrl-C: the lab's own signal hook removes the namespaces; detach the program before that.
  process.once('SIGINT', () => {
    out('\ninterrupted: tearing down');
    try {
      lb?.stop();
    } catch {
      // the namespace deletion detaches it anyway
    }
    if (!lab) process.exit(130); // no lab yet, so no lab hook to finish the job
  });
  out(bold('xlb demo: XDP L4 load balancer, Maglev + IP-in-IP direct server return, in network namespaces'));
  try {
    lab = await buildLab(o);
    lb = await startLoadBalancer(lab);
    const services = configureServices(lab, lb);
    printTopology(lab, lb);
    printLoadBalancer(lab, lb, services);
    const before = readCounters(lb);
    const results: TrafficResult[] = [];
    for (const s of services) results.push(await runTraffic(lab, s, o.requests));
    const delta = counterDelta(before, await quiesce(lb.dp));
    printTraffic(lab, results, o.requests);
    printDsr(lab, results);
    printCounters(lab, services, delta);
    heading('Recording requests inside the XDP program (xlb record → tshark)');
    const rec = await recordRequests(lab, lb, services[0]!.vip, 3);
    out(dim(`   $ ${rec.command}`));
    for (const line of rec.lines) out(`   ${line}`);
    summary = results.map((r) => {
      const served = lab!.backends.filter((b) => (r.load.perBackend[b.name] ?? 0) > 0).length;
      const good = r.load.failed === 0 && served === lab!.backends.length && r.lbWire.replies.length === 0 && r.lbWire.requests.length > 0;
      if (!good) process.exitCode = 1;
      return `${good ? 'OK' : 'PROBLEM'}  ${r.url}: ${r.load.ok}/${o.requests} answered, ${served}/${lab!.backends.length} backends served, ${r.lbWire.replies.length} replies through lb1`;
    });
    if (!rec.ok) process.exitCode = 1;
    summary.push(`${rec.ok ? 'OK' : 'PROBLEM'}  recorder: ${rec.lines.length} packets of 3 requests recorded in XDP (as received and as sent), read by tshark`);
  } finally {
    await teardown(lab, lb);
  }
  out();
  for (const line of summary) out(bold(line));
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});
