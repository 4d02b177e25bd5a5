// The demo behind `npm run demo` (scripts/demo.ts, as root): the whole of xlb on one machine, in network
// namespaces, driven the way an operator drives it. Builds the lab (1 client, a router, 1 LB node,
// 3 backends); on each backend runs `xlb decap attach`; runs BIRD on the router and gobgpd on the
// LB node; starts xlbd on the LB node from a config file; creates an IPv4 and an IPv6 service with
// `xlb service add` / `xlb backend add` and shows their VIP routes appearing on the router by BGP;
// sends real HTTP from the client and shows what happened (requests per backend, the DSR path with
// capture evidence, `xlb stats`, metrics); adds a health check and lets a backend's web server die
// and come back; drains a backend; records a few requests inside XDP with `xlb record` and reads
// them with tshark; then tears everything down (also on Ctrl-C or an error). Every command is printed as it runs (`lb1# xlb service list`), followed by its output.
// Ends with OK / PROBLEM lines; exits non-zero on any PROBLEM.
//
// From the TypeScript sources, without a build of the TS (BPF objects and addon still needed):
//   node --import ./test/lab/ts-register.mjs scripts/demo.ts [--requests N] [--ipv4-only]
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { xlbTools, type XlbTools } from './demo-install.js';
import { block, bold, dim, note, out, pad, printChecks, showCommand, stepHeadings, type Check } from './demo-print.js';
import { recordRequests } from './demo-recorder.js';
import { DemoShell } from './demo-shell.js';
import { backendsServed, printDsr, printLoad, runTraffic, statsMatchCaptures, type DemoVip, type TrafficResult } from './demo-traffic.js';
import { DEMO_NODE, DemoDaemon, writeDaemonConfig } from './demo-xlbd.js';
import { demoBgpConfig, healthStep, showAnnouncements, startBgpSpeakers, type BgpSpeakers } from './demo-bgp-health.js';
import { Lab, type LabNode } from './lab.js';

const heading = stepHeadings(13);

interface DemoOptions {
  requests: number;
  ipv6: boolean;
}

interface StatsJson {
  services: Array<{ service_id: string; packets: number; backends: Array<{ address: string; packets: number }> }>;
}

interface StatusJson {
  interfaces: Array<{ name: string; attached: boolean; mode: string; program_id: number }>;
  gateway: { ip: string; mac: string; resolved: boolean };
  services: number;
  backends: number;
}

/** Everything the run created, so teardown (normal, error or Ctrl-C) knows what to undo. */
class DemoRun {
  tools: XlbTools | undefined;
  lab: Lab | undefined;
  shell: DemoShell | undefined;
  daemon: DemoDaemon | undefined;
  bgp: BgpSpeakers | undefined;
  decapAttached: string[] = [];
  checks: Check[] = [];

  check(ok: boolean, text: string): void {
    this.checks.push({ ok, text });
  }
}

function parseOptions(args: string[]): DemoOptions {
  const { values } = parseArgs({
    args,
    options: { requests: { type: 'string', default: '300' }, 'ipv4-only': { type: 'boolean', default: false }, help: { type: 'boolean' } },
  });
  if (values.help) {
    out('usage: demo [--requests N] [--ipv4-only]   (as root; after npm run build)');
    process.exit(0);
  }
  const requests = Number(values.requests);
  if (!Number.isInteger(requests) || requests < 10 || requests > 10_000) throw new Error(`--requests must be an integer 10 … 10000, got ${values.requests}`);
  return { requests, ipv6: !values['ipv4-only'] };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- steps ---------------------------------------------------------------------------------------

function printTopology(lab: Lab): void {
  heading('Topology (network namespaces on this machine; nothing outside them is touched)');
  const v6 = (n: LabNode) => (lab.ipv6 ? n.ipv6 : '-');
  out();
  out(`   c1 (client) ───── r (router, BIRD) ───── lb1 (LB: xlbd, XDP on eth0, gobgpd)`);
  out(`                         │`);
  out(`                         ├───── b1 ┐`);
  out(`                         ├───── b2 ├ backends: VIPs on lo, xlb decap on eth0, HTTP :80`);
  out(`                         └───── b3 ┘`);
  out();
  out(dim(`   ${pad('node', 6)}${pad('role', 9)}${pad('IPv4', 12)}${pad('IPv6', 15)}what runs there`));
  const c1 = lab.node('c1');
  out(`   ${pad('c1', 6)}${pad('client', 9)}${pad(c1.ipv4, 12)}${pad(v6(c1), 15)}HTTP load generator, curl`);
  out(`   ${pad('r', 6)}${pad('router', 9)}${pad('10.x.N.1', 12)}${pad(lab.ipv6 ? 'fd00:x:N::1' : '-', 15)}BIRD: learns the VIP routes from lb1 by BGP`);
  const lb1 = lab.node('lb1');
  out(`   ${pad('lb1', 6)}${pad('LB', 9)}${pad(lb1.ipv4, 12)}${pad(v6(lb1), 15)}xlbd (XDP program on eth0), gobgpd, xlb CLI`);
  for (const b of lab.backends) out(`   ${pad(b.name, 6)}${pad('backend', 9)}${pad(b.ipv4, 12)}${pad(v6(b), 15)}VIPs on lo, xlb decap on eth0, HTTP server`);
  out(`   VIPs: ${[...lab.vips4, ...lab.vips6].join(', ')}`);
}

async function attachDecap(run: DemoRun, shell: DemoShell, lab: Lab): Promise<void> {
  heading('Backends: the VIP on lo, and `xlb decap attach` to unwrap what the LB tunnels to them');
  note(`--allow-source: tunnels are accepted only from the LB node's addresses (its encapsulation`);
  note(`sources); anything else that arrives as IPIP/IP6IP6 is dropped and counted (source_denied).`);
  note(`--pin-dir only because the lab's nodes share one bpffs; on a real backend the default`);
  note(`(/sys/fs/bpf/xlb/decap/host_eth0) is right.`);
  const b1 = lab.backends[0]!.name;
  const lb1 = lab.node('lb1');
  const sources = [lb1.ipv4, ...(lab.ipv6 ? [lb1.ipv6] : [])].join(',');
  await shell.run(b1, ['ip', '-brief', 'address', 'show', 'dev', 'lo']);
  for (const b of lab.backends) {
    await shell.xlb(b.name, ['decap', 'attach', '--dev', 'eth0', '--allow-source', sources, '--pin-dir', lab.decapPinDir(b.name)]);
    run.decapAttached.push(b.name);
  }
  await shell.xlb(b1, ['decap', 'status', '--dev', 'eth0', '--pin-dir', lab.decapPinDir(b1)]);
}

async function startDaemon(run: DemoRun, shell: DemoShell, lab: Lab): Promise<void> {
  heading('The load balancer: xlbd on lb1, from a config file');
  const files = writeDaemonConfig(lab, demoBgpConfig(lab));
  const daemon = new DemoDaemon(lab, shell.tools, files);
  run.daemon = daemon;
  showCommand(DEMO_NODE, `cat ${files.configPath}`);
  block(files.configText);
  const { seconds } = await daemon.start();
  for (const line of daemon.log) out(dim(`   ${line}`));
  showCommand(DEMO_NODE, `export XLB_SERVER=${files.server}      # where xlb finds xlbd (default unix:///run/xlb/xlb.sock)`);
  shell.server = files.server;
  await shell.xlb(DEMO_NODE, ['status']);
  const st = await shell.xlbJson<StatusJson>(DEMO_NODE, ['status']);
  const i = st.interfaces[0];
  run.check(i?.attached === true && i.mode === 'native' && st.gateway.resolved,
    `xlbd: ready in ${seconds.toFixed(1)} s, XDP ${i?.mode ?? '?'} on ${i?.name ?? '?'} (program ${i?.program_id ?? '?'}), gateway ${st.gateway.ip} resolved to ${st.gateway.mac || '?'}`);
}

async function configureServices(shell: DemoShell, lab: Lab): Promise<DemoVip[]> {
  heading('Services and backends, with the xlb CLI');
  const vip4 = lab.vips4[0]!;
  const v4: DemoVip = { service: `${vip4}:80/tcp`, vip: vip4, family: 4, tunnel: 'IPIP', backends: new Map(lab.backends.map((b) => [b.name, b.ipv4])) };
  await shell.xlb(DEMO_NODE, ['service', 'add', v4.service]);
  for (const b of lab.backends) await shell.xlb(DEMO_NODE, ['backend', 'add', v4.service, b.ipv4, '--name', b.name]);
  const vips = [v4];
  if (lab.ipv6) {
    const vip6 = lab.vips6[0]!;
    const v6: DemoVip = { service: `[${vip6}]:80/tcp`, vip: vip6, family: 6, tunnel: 'IP6IP6', backends: new Map(lab.backends.map((b) => [b.name, b.ipv6])) };
    note('the same in one command, for the IPv6 VIP:');
    await shell.xlb(DEMO_NODE, ['service', 'add', v6.service, ...lab.backends.flatMap((b) => ['-b', b.ipv6])]);
    vips.push(v6);
  }
  await shell.xlb(DEMO_NODE, ['service', 'list']);
  return vips;
}

async function traffic(run: DemoRun, shell: DemoShell, lab: Lab, vips: DemoVip[], o: DemoOptions): Promise<void> {
  heading(`Traffic: ${o.requests} HTTP GETs per VIP from c1, one new TCP connection each`);
  const results: TrafficResult[] = [];
  for (const svc of vips) results.push(await runTraffic(lab, svc, o.requests));
  const stats = await shell.xlbJson<StatsJson>(DEMO_NODE, ['stats']);
  const statsPackets = (svc: DemoVip, backend: string) =>
    stats.services.find((s) => s.service_id === svc.service)?.backends.find((b) => b.address === svc.backends.get(backend))?.packets ?? -1;
  for (const r of results) printLoad(lab, r.url, r.load, o.requests);

  heading('Direct server return: the path, what tcpdump saw on each link, and what xlb stats counted');
  printDsr(lab, results, statsPackets);
  for (const r of results) {
    const served = backendsServed(lab, r.load);
    const same = statsMatchCaptures(lab, r, statsPackets);
    const good = r.load.ok === o.requests && served === lab.backends.length && r.lbWire.replies.length === 0 && r.lbWire.requests.length > 0 && same;
    run.check(good, `${r.url}: ${r.load.ok}/${o.requests} answered, ${served}/${lab.backends.length} backends served, ` +
      `${r.lbWire.replies.length} replies through lb1, xlb stats ${same ? '=' : '≠'} captured tunnelled frames per backend`);
  }
}

async function counters(shell: DemoShell, lab: Lab, files: { metrics: string }): Promise<void> {
  heading('Counters: xlb stats on the LB, xlb decap status on a backend, Prometheus metrics');
  await shell.xlb(DEMO_NODE, ['stats']);
  const b1 = lab.backends[0]!.name;
  await shell.xlb(b1, ['decap', 'status', '--dev', 'eth0', '--pin-dir', lab.decapPinDir(b1)]);
  await shell.run(DEMO_NODE, `curl -s http://${files.metrics}/metrics | grep -E '^xlb_(backend_packets|flow_table_new_flows)_total'`);
}

async function drain(run: DemoRun, shell: DemoShell, lab: Lab, svc: DemoVip, o: DemoOptions): Promise<void> {
  heading('Drain: take b2 out of rotation without breaking its open connections');
  const [, b2] = lab.backends;
  const kept = 12;
  const perConn = 50; // 5 s: long enough to outlast the drain command on a busy machine
  note(`c1 opens ${kept} keep-alive connections to ${svc.vip} and sends one GET on each every 100 ms (${perConn} each),`);
  note(`and while they run, b2 is drained:`);
  let keepDone = false;
  const keepalive = lab.httpLoad('c1', { url: lab.url(svc.vip), keepalive: kept, requests: perConn, intervalMs: 100 }).finally(() => (keepDone = true));
  // Drain only once every kept connection is established, or it would prove nothing.
  for (let i = 0; i < 100; i++) {
    const r = await lab.exec('c1', ['ss', '-Htn', 'state', 'established', 'dst', svc.vip]);
    if (r.stdout.trim().split('\n').filter(Boolean).length >= kept || keepDone) break;
    await sleep(50);
  }
  await shell.xlb(DEMO_NODE, ['backend', 'set', svc.service, b2!.ipv4, '--drain']);
  const drainedWhileRunning = !keepDone;
  const fresh = await lab.httpLoad('c1', { url: lab.url(svc.vip), connections: o.requests, concurrency: 16 });
  const old = await keepalive;
  out(`   ${o.requests} new connections after the drain:`);
  printLoad(lab, lab.url(svc.vip), fresh, o.requests, (n) => (n === b2!.name ? '  ← draining' : ''));
  out(`   the ${kept} kept connections (${kept * perConn} requests, opened before the drain):`);
  printLoad(lab, lab.url(svc.vip), old, kept * perConn);
  const onB2 = Math.round((old.perBackend[b2!.name] ?? 0) / perConn);
  out(`   ${old.reconnects} reconnects, ${old.backendSwitches} backend switches: the ${onB2} connection(s) on b2 kept being answered by b2`);
  const good = fresh.failed === 0 && (fresh.perBackend[b2!.name] ?? 0) === 0 && fresh.ok === o.requests &&
    old.failed === 0 && old.reconnects === 0 && old.backendSwitches === 0 && drainedWhileRunning;
  run.check(good, `drain: ${fresh.perBackend[b2!.name] ?? 0} of ${fresh.ok} new connections went to b2 (draining); ` +
    `${old.ok}/${kept * perConn} requests on ${kept} kept connections answered, ${onB2} of them on b2, 0 moved` +
    (drainedWhileRunning ? '' : ' (the kept connections had ended before the drain)'));
}

async function teardown(run: DemoRun): Promise<void> {
  heading('Teardown', { last: true });
  const { lab, shell, daemon } = run;
  const done: string[] = [];
  const problems: string[] = [];
  const attempt = async (what: string, fn: () => Promise<void> | void) => {
    try {
      await fn();
    } catch (err) {
      problems.push(`${what}: ${(err as Error).message.split('\n')[0]}`);
      out(`   ${what} FAILED: ${(err as Error).message}`);
    }
  };
  if (daemon?.running) {
    await attempt('stopping xlbd', async () => {
      const before = daemon.log.length;
      showCommand(DEMO_NODE, `kill -TERM ${daemon.proc!.pid}      # xlbd's pid; what systemctl stop does`);
      const st = await daemon.stop();
      for (const line of daemon.log.slice(before)) out(dim(`   ${line}`));
      if (st.code !== 0) problems.push(`xlbd exited with ${st.code ?? st.signal}`);
      done.push('xlbd stopped by SIGTERM with --detach-on-exit (XDP detached, pins removed)');
      if (run.bgp && run.checks.some((c) => c.ok && c.text.startsWith('bgp:'))) {
        const left = [...lab!.vips4.map((v) => `${v}/32`), ...lab!.vips6.map((v) => `${v}/128`)];
        const still: string[] = [];
        for (const p of left) if ((await run.bgp.bird.ribNextHops(p)).length) still.push(p);
        if (still.length) problems.push(`the router still has ${still.join(', ')} after xlbd stopped`);
        else done.push('VIP routes withdrawn from the router first');
      }
    });
  }
  if (lab && daemon && shell) {
    await attempt('checking lb1', async () => {
      const link = await shell.run(DEMO_NODE, ['ip', 'link', 'show', 'dev', 'eth0']);
      if (/xdp/.test(link.stdout)) problems.push('an XDP program is still attached to lb1 eth0');
      if (existsSync(daemon.files.pinDir)) problems.push(`xlbd's pins are still in ${daemon.files.pinDir}`);
    });
  }
  if (lab && shell && run.decapAttached.length) {
    for (const b of run.decapAttached) {
      await attempt(`decap detach on ${b}`, () => shell.xlb(b, ['decap', 'detach', '--dev', 'eth0', '--pin-dir', lab.decapPinDir(b)]).then(() => undefined));
    }
    done.push(`decap detached on ${run.decapAttached.join(', ')}`);
  }
  await attempt('removing the lab', async () => {
    await lab?.destroy();
    daemon?.removeFiles();
    run.tools?.remove();
  });
  if (lab) {
    const left = [
      ...Lab.listNamespaces(lab.plan.nsPrefix).map((ns) => `namespace ${ns}`),
      ...(existsSync(lab.pinDir) ? [`pins ${lab.pinDir}`] : []),
      ...(daemon && existsSync(daemon.files.dir) ? [`files ${daemon.files.dir}`] : []),
    ];
    if (left.length) problems.push(`left behind: ${left.join(', ')}`);
  }
  out(problems.length ? `   teardown problems: ${problems.join('; ')}` : '   namespaces, processes, pins and temp files removed.');
  if (lab) done.push('lab removed');
  run.check(problems.length === 0, `teardown: ${problems.length ? problems.join('; ') : [...done, 'nothing left'].join(', ')}`);
}

// ---- main ----------------------------------------------------------------------------------------

/** Ctrl-C / SIGTERM: nothing asynchronous runs any more, so undo everything synchronously. */
function installInterruptHandler(run: DemoRun): void {
  const onSignal = (signal: NodeJS.Signals) => {
    out(`\n${signal}: stopping xlbd and removing the lab`);
    run.daemon?.stopSync();
    run.lab?.destroySync(); // processes, namespaces (the decap filters go with their interfaces), pins
    run.daemon?.removeFiles();
    run.tools?.remove();
    printChecks([...run.checks, { ok: false, text: `interrupted by ${signal}; xlbd stopped, lab removed` }]);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  // Installed before the lab exists, so it runs before the lab's own last-resort signal hook.
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

/** Runs the demo with command-line `args`; sets process.exitCode to 1 on any PROBLEM. */
export async function runDemo(args: string[]): Promise<void> {
  const o = parseOptions(args);
  if (process.getuid?.() !== 0) throw new Error('the demo needs root (network namespaces, XDP, BPF maps)');
  const started = Date.now();
  const run = new DemoRun();
  installInterruptHandler(run);
  out(bold('xlb demo: XDP L4 load balancer (Maglev, IP-in-IP direct server return), driven with xlbd and the xlb CLI'));
  let stage = 'preparing xlb and xlbd';
  try {
    run.tools = await xlbTools();
    out(dim(run.tools.origin));
    stage = 'building the lab';
    const lab = await Lab.create({ backends: 3, lbNodes: 1, clients: 1, ipv6: o.ipv6, decap: false, staticVipRoutes: false });
    run.lab = lab;
    const shell = new DemoShell(lab, run.tools);
    run.shell = shell;
    printTopology(lab);
    stage = 'decap on the backends';
    await attachDecap(run, shell, lab);
    stage = 'BGP speakers';
    heading('BGP: BIRD on the router, gobgpd on the LB node');
    run.bgp = await startBgpSpeakers(lab);
    stage = 'starting xlbd';
    await startDaemon(run, shell, lab);
    stage = 'configuring services';
    const vips = await configureServices(shell, lab);
    stage = 'BGP announcements';
    heading('The VIPs appear on the router, announced by xlbd through gobgpd');
    const bgp = await showAnnouncements(shell, lab, run.bgp.bird, vips);
    run.check(bgp.ok, bgp.text);
    stage = 'traffic';
    await traffic(run, shell, lab, vips, o);
    stage = 'counters';
    await counters(shell, lab, run.daemon!.files);
    stage = 'health checks';
    heading('Health checks: a backend fails and is taken out of the Maglev table, then comes back');
    const health = await healthStep(shell, lab, vips[0]!, Math.min(o.requests, 100), () => run.daemon!.log);
    run.check(health.ok, health.text);
    stage = 'drain';
    await drain(run, shell, lab, vips[0]!, o);
    stage = 'recording';
    heading('Recording requests inside the XDP program: xlb record, then tshark');
    const rec = await recordRequests(shell, run.daemon!.files.dir, vips[0]!.vip, 3);
    run.check(rec.ok, `recorder: ${rec.lines.length} packets of 3 requests recorded inside XDP (as received and as sent) by \`xlb record\`, read by tshark`);
  } catch (err) {
    out();
    out(`   ${stage} FAILED: ${err instanceof Error ? err.message : String(err)}`);
    if (run.daemon?.proc && !run.daemon.running) {
      out('   the daemon\'s log:');
      for (const line of run.daemon.log.slice(-8)) out(dim(`   ${line}`));
    }
    run.check(false, `${stage}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
  } finally {
    await teardown(run);
  }
  const allOk = printChecks(run.checks);
  out(dim(`demo ran for ${((Date.now() - started) / 1000).toFixed(1)} s`));
  if (!allOk) process.exitCode = 1;
}

