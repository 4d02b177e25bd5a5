// The demo's BGP and health-check steps. BIRD on the router peers with gobgpd on lb1, which xlbd
// programs: once services exist, the VIP routes appear on the router by BGP (the lab's static VIP
// routes are left out for the demo). Then a health check on the IPv4 service: b3's web server
// stops, the check takes b3 out of the Maglev table, new connections avoid it, and it comes back
// when its server does.
import { BirdRouter, GOBGP_API, LB_AS, ROUTER_AS, startGobgpd } from './bgp.js';
import { block, dim, note, out, showCommand } from './demo-print.js';
import type { DemoShell } from './demo-shell.js';
import { printLoad, type DemoVip } from './demo-traffic.js';
import { DEMO_NODE } from './demo-xlbd.js';
import type { Lab, LabProcess } from './lab.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The bgp: section of the demo daemon's config: one session per address family with the router. */
export function demoBgpConfig(lab: Lab): Record<string, unknown> {
  const lb = lab.node(DEMO_NODE);
  const neighbor = (address: string) => ({ address, peer_as: ROUTER_AS, hold_time: '3s', keepalive: '1s', connect_retry: '1s' });
  return {
    gobgp_api: GOBGP_API,
    local_as: LB_AS,
    neighbors: [neighbor(lb.routerIpv4), ...(lab.ipv6 ? [neighbor(lb.routerIpv6)] : [])],
    announce: 'when_healthy',
    shutdown_delay: '1s',
  };
}

export interface BgpSpeakers {
  bird: BirdRouter;
  gobgpd: LabProcess;
}

/** BIRD on the router (its config shown), gobgpd on lb1 without a config: xlbd will program it. */
export async function startBgpSpeakers(lab: Lab): Promise<BgpSpeakers> {
  const lb = lab.node(DEMO_NODE);
  const peers = [{ name: 'lb1', address: lb.ipv4, as: LB_AS }, ...(lab.ipv6 ? [{ name: 'lb1v6', address: lb.ipv6, as: LB_AS }] : [])];
  note('The router runs BIRD (the role a hardware router plays), peering with lb1; its static VIP routes are gone:');
  showCommand('r', 'cat bird.conf');
  const bird = await BirdRouter.start(lab, { peers });
  block(bird.config);
  showCommand('r', 'bird -c bird.conf');
  note('lb1 runs gobgpd, the BGP speaker xlbd programs over its gRPC API (systemd: xlb-gobgpd.service):');
  showCommand(DEMO_NODE, `gobgpd --api-hosts ${GOBGP_API} --pprof-disable --log-plain &`);
  const gobgpd = startGobgpd(lab, DEMO_NODE);
  return { bird, gobgpd };
}

/** Waits for the VIP routes at the router and shows them in BIRD's RIB and the kernel table. */
export async function showAnnouncements(shell: DemoShell, lab: Lab, bird: BirdRouter, vips: DemoVip[]): Promise<{ ok: boolean; text: string }> {
  const lb = lab.node(DEMO_NODE);
  const want = vips.map((v) => ({ prefix: `${v.vip}/${v.family === 4 ? 32 : 128}`, hop: v.family === 4 ? lb.ipv4 : lb.ipv6 }));
  const t0 = Date.now();
  const missing = async () => {
    const out: string[] = [];
    for (const w of want) if ((await bird.kernelNextHops(w.prefix)).join() !== w.hop) out.push(w.prefix);
    return out;
  };
  let left = await missing();
  while (left.length && Date.now() - t0 < 20_000) {
    await sleep(100);
    left = await missing();
  }
  const seconds = ((Date.now() - t0) / 1000).toFixed(1);
  note('xlbd started gobgpd\'s BGP instance, added the router as neighbour and announced each VIP with a service');
  note('that has a healthy backend; the router learnt them by BGP and installed them:');
  await showBirdc(bird, 'show protocols');
  await showBirdc(bird, 'show route');
  await shell.run('r', `ip route show root ${lab.plan.vipPrefix4}${lab.ipv6 ? `; ip -6 route show root ${lab.plan.vipPrefix6}` : ''}`);
  const status = await shell.xlb(DEMO_NODE, ['status'], { show: false });
  showCommand(DEMO_NODE, 'xlb status | grep bgp');
  block(status.split('\n').filter((l) => l.startsWith('bgp')).join('\n'));
  const ok = left.length === 0;
  return {
    ok,
    text: ok
      ? `bgp: the router learnt ${want.map((w) => w.prefix).join(' and ')} from lb1 by BGP (next hop ${[...new Set(want.map((w) => w.hop))].join(', ')}) and installed them, ${seconds} s after the services were created`
      : `bgp: the router has no route for ${left.join(', ')} after ${seconds} s`,
  };
}

async function showBirdc(bird: BirdRouter, command: string): Promise<void> {
  showCommand('r', `birdc ${command}`);
  block((await bird.birdc(command)).replace(/^BIRD [\d.]+ ready\.\n/, ''));
}

/** A health check on `svc`; b3's web server dies and comes back. */
export async function healthStep(shell: DemoShell, lab: Lab, svc: DemoVip, requests: number, daemonLog: () => string[]): Promise<{ ok: boolean; text: string }> {
  const b3 = lab.backends[2]!;
  const address = svc.backends.get(b3.name)!;
  const INTERVAL = 1000;
  const FALL = 2;
  await shell.xlb(DEMO_NODE, ['service', 'set', svc.service, '--check', 'http:/health', '--check-interval', '1s', '--check-timeout', '500ms', '--rise', '2', '--fall', String(FALL)]);
  // The daemon logs every transition as it happens: the moment to measure (polling the CLI would
  // add its own start-up time to the figure).
  const waitForLog = async (re: RegExp, from: number, ms: number) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (daemonLog().slice(from).some((l) => re.test(l))) return true;
      await sleep(20);
    }
    return false;
  };
  const transition = (to: string) => new RegExp(`health: ${svc.service.replace(/[.[\]/]/g, '\\$&')} backend ${address.replace(/\./g, '\\.')} \\w+ → ${to}`);
  note('every backend is probed each second with GET /health, through the tunnel to VIP:80 as a client would be:');
  const up = await waitForLog(transition('up'), 0, 10_000);
  await shell.xlb(DEMO_NODE, ['service', 'show', svc.service]);

  note(`b3's web server dies (stopped here with SIGTERM):`);
  const logBefore = daemonLog().length;
  const t0 = Date.now();
  await lab.stopHttp(b3.name);
  const down = await waitForLog(transition('down'), logBefore, 10_000);
  const outSeconds = (Date.now() - t0) / 1000;
  for (const line of daemonLog().slice(logBefore).filter((l) => /health:/.test(l))) out(dim(`   ${line}`));
  await shell.xlb(DEMO_NODE, ['service', 'show', svc.service]);
  const load = await lab.httpLoad('c1', { url: lab.url(svc.vip), connections: requests, concurrency: 16 });
  out(`   ${requests} new connections while b3 is down:`);
  printLoad(lab, lab.url(svc.vip), load, requests, (n) => (n === b3.name ? '  ← down' : ''));

  note(`b3's web server is back:`);
  const logAgain = daemonLog().length;
  await lab.startHttp(b3.name);
  const back = await waitForLog(transition('up'), logAgain, 10_000);
  for (const line of daemonLog().slice(logAgain).filter((l) => /health:/.test(l))) out(dim(`   ${line}`));
  const toB3 = load.perBackend[b3.name] ?? 0;
  const ok = up && down && back && toB3 === 0 && load.failed === 0;
  return {
    ok,
    text: `health: b3's web server stopped → b3 down and out of the Maglev table in ${outSeconds.toFixed(1)} s (interval ${INTERVAL / 1000} s, fall ${FALL}); ` +
      `${toB3} of ${load.ok} new connections went to it; ${back ? 'up again after its server came back' : 'NOT BACK after its server came back'}`,
  };
}
