// BGP in the lab: BIRD (Debian's bird2) as the upstream router in the router namespace, peered with
// a GoBGP daemon (gobgpd) on each LB node, which xlbd programs. Used by the BGP tests and the demo.
// Timers are short (hold 3 s, keepalive 1 s, connect retry 1 s) so sessions come up and go down in
// about a second; BIRD merges equal routes from several LB nodes into one ECMP kernel route.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lab } from './lab.js';
import type { LabProcess } from './processes.js';
import { run } from './shell.js';

export const ROUTER_AS = 65000;
export const LB_AS = 65001;
/** gobgpd's API inside an LB node's namespace (each namespace has its own loopback). */
export const GOBGP_API = '127.0.0.1:50051';

export interface BirdPeer {
  name: string;
  address: string;
  as: number;
}

/** BIRD's configuration: one BGP session per peer, carrying the unicast family of its address
 *  (an IPv6 VIP is announced over an IPv6 session, with an IPv6 next hop). */
export function birdConfig(o: { routerId: string; localAs: number; peers: BirdPeer[] }): string {
  const channel = (p: BirdPeer) => (p.address.includes(':') ? 'ipv6 { import all; export none; };' : 'ipv4 { import all; export none; };');
  return [
    `router id ${o.routerId};`,
    'protocol device { scan time 1; }',
    // Only what BGP learnt goes into the kernel; equal routes from several LB nodes become one ECMP route.
    'protocol kernel k4 { ipv4 { import none; export where source = RTS_BGP; }; merge paths on; }',
    'protocol kernel k6 { ipv6 { import none; export where source = RTS_BGP; }; merge paths on; }',
    `template bgp lb { local as ${o.localAs}; hold time 3; keepalive time 1; connect retry time 1; connect delay time 1; error wait time 1, 2; }`,
    ...o.peers.map((p) => `protocol bgp ${p.name} from lb { neighbor ${p.address} as ${p.as}; ${channel(p)} }`),
    '',
  ].join('\n');
}

export class BirdRouter {
  private constructor(
    readonly lab: Lab,
    readonly node: string,
    readonly dir: string,
    readonly proc: LabProcess,
    readonly config: string,
  ) {}

  get socket(): string {
    return join(this.dir, 'bird.ctl');
  }

  static async start(lab: Lab, o: { node?: string; peers: BirdPeer[]; localAs?: number }): Promise<BirdRouter> {
    const node = o.node ?? 'r';
    const dir = mkdtempSync(join(tmpdir(), `xlb-bird-${process.pid}-`));
    const conf = join(dir, 'bird.conf');
    const config = birdConfig({ routerId: lab.lbs[0]!.routerIpv4, localAs: o.localAs ?? ROUTER_AS, peers: o.peers });
    writeFileSync(conf, config);
    const proc = lab.spawn(node, ['bird', '-f', '-c', conf, '-s', join(dir, 'bird.ctl'), '-P', join(dir, 'bird.pid')], { description: `bird on ${node}` });
    const bird = new BirdRouter(lab, node, dir, proc, config);
    const end = Date.now() + 10_000;
    while ((await bird.birdc('show status').catch(() => '')).indexOf('Daemon is up') < 0) {
      if (!proc.running || Date.now() > end) throw new Error(`bird did not start: ${proc.stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return bird;
  }

  /** One birdc command (the control socket is a file: reachable from outside the namespace). */
  async birdc(command: string): Promise<string> {
    // birdc exits 1 for "Network not found" (no route): that is an answer, not a failure.
    const r = await run(['birdc', '-s', this.socket, ...command.split(' ')], { check: false });
    if (r.code !== 0 && !/Network not found/.test(r.stdout)) throw new Error(`birdc ${command}: ${r.stdout}${r.stderr}`);
    return r.stdout;
  }

  /** Next hops of `prefix` in BIRD's table (every route BGP offers, best first). */
  async ribNextHops(prefix: string): Promise<string[]> {
    const out = await this.birdc(`show route for ${prefix} all`);
    return [...out.matchAll(/via (\S+) on/g)].map((m) => m[1]!).sort();
  }

  /** Next hops of `prefix` in the router's kernel table (what packets follow). */
  async kernelNextHops(prefix: string): Promise<string[]> {
    const family = prefix.includes(':') ? '-6' : '-4';
    const r = await this.lab.exec(this.node, ['ip', family, 'route', 'show', prefix]);
    return [...r.stdout.matchAll(/via (\S+)/g)].map((m) => m[1]!).sort();
  }

  /** BGP session state per peer name ("Established", "Active", ...). */
  async sessions(): Promise<Record<string, string>> {
    const out = await this.birdc('show protocols');
    const rows = out.split('\n').filter((l) => /\sBGP\s/.test(l)).map((l) => l.trim().split(/\s+/));
    return Object.fromEntries(rows.map((r) => [r[0]!, r[5] ?? r[3] ?? '']));
  }

  async stop(): Promise<void> {
    await this.proc.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Starts gobgpd on a node: API on loopback only, no pprof, no config file (xlbd configures it)
 *  unless `configToml` is given. */
export function startGobgpd(lab: Lab, node: string, o: { configToml?: string } = {}): LabProcess {
  const argv = ['gobgpd', '--api-hosts', GOBGP_API, '--pprof-disable', '-p', '-l', 'info'];
  if (o.configToml) {
    const dir = mkdtempSync(join(tmpdir(), `xlb-gobgpd-${process.pid}-`));
    const file = join(dir, 'gobgpd.toml');
    writeFileSync(file, o.configToml);
    argv.push('-f', file);
  }
  return lab.spawn(node, argv, { description: `gobgpd on ${node}` });
}
