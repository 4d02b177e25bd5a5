// Network-namespace lab for tests, the demo and benchmarks:
//
//   clients c1..cN ─┐                 ┌─ lb1, lb2 (the LB's XDP program goes on their eth0)
//                   ├── router r ─────┤
//                   │                 └─ backends b1..bN (VIPs on lo, decap on eth0, HTTP on :80)
//
// Every node has one veth (eth0) to the router (to-<node>), with IPv4 and IPv6 (address plan in
// plan.ts). The router routes the VIP prefixes to the LB node(s) (ECMP with L4 hashing when there
// are two). An LB node encapsulates towards a backend and XDP_TXes back to the router (its gateway),
// which routes the outer packet to the backend; the backend decapsulates and answers the client
// directly (DSR).
//
// The lab does not load the LB itself: tests get what they need (netns path, ifindex, gateway MAC,
// addresses) from lbContext() and load it with libbpf-ts's withNetns.
//
// Everything is created inside namespaces named xlab-<pid>-<random>-<node>; destroy() (and, as a
// last resort, a process exit/signal hook) removes them, the processes started in them and the
// run's bpffs directory. Nothing on the host is configured.
import { existsSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { join } from 'node:path';
import type { DecapAttachResult, DecapDetachResult, DecapStatus } from '../../lb/decap/index.js';
import { bpfObjectPath } from '../../bpf/objects.js';
import { repoRoot } from './paths.js';
import {
  configureAddresses, createLinks, createNamespace, prepareXdpPath, readLinks, routeVips, setSysctls,
  type BuildSettings, type LinkInfo,
} from './build.js';
import { Capture } from './capture.js';
import { registerLive, unregisterLive } from './cleanup.js';
import {
  allNodes, DEFAULT_VIPS4, DEFAULT_VIPS6, LAB_NS_PREFIX, LAB_PIN_ROOT, LB_SOURCE_PREFIXES, makePlan, type LabPlan, type NodePlan,
} from './plan.js';
import { LabProcess } from './processes.js';
import { run, runSync, type RunOptions, type RunResult } from './shell.js';

export type { NodePlan as LabNode, LabPlan } from './plan.js';
export type { CaptureResult, CapturedPacket } from './capture.js';
export { Capture } from './capture.js';
export { LabProcess } from './processes.js';

export const LAB_STEPS = ['namespaces', 'sysctls', 'links', 'addresses', 'routes', 'xdp', 'decap', 'http'] as const;
export type LabStep = (typeof LAB_STEPS)[number];

export interface LabOptions {
  /** Backend nodes b1..bN (1-64, default 2) */
  backends?: number;
  /** LB nodes lb1..lbN (1-4, default 1); the VIP route is ECMP across all of them */
  lbNodes?: number;
  /** Client nodes c1..cN (1-4, default 1) */
  clients?: number;
  /** Configure IPv6 everywhere (default true) */
  ipv6?: boolean;
  /** VIPs put on every backend's lo; must lie in 10.100.0.0/24 / fd00:100::/64 */
  vips4?: string[];
  vips6?: string[];
  /** Attach the decap program to every backend's eth0 (default true) */
  decap?: boolean;
  /** Start the HTTP server on every backend (default true) */
  http?: boolean;
  httpPort?: number;
  /** MTU of router↔LB and router↔backend links (default 1500); raise it to leave room for encapsulation */
  coreMtu?: number;
  /** MTU of router↔client links (default 1500) */
  clientMtu?: number;
  /** Static VIP routes on the router towards the LB nodes (default true; false: BGP provides them) */
  staticVipRoutes?: boolean;
  /** Called after each build step; a throw aborts the build (tests use it to fail midway) */
  onStep?: (step: LabStep) => void | Promise<void>;
}

export interface ExecOptions extends RunOptions {
  /**
   * Enter only the network namespace (nsenter --net) and keep the host's mount namespace, so bpffs
   * pins made by the command stay visible after it exits. Default: `ip netns exec`.
   */
  keepMounts?: boolean;
}

export interface LbNodeContext {
  name: string;
  ns: string;
  netnsPath: string;
  ifname: string;
  ifindex: number;
  mac: string;
  ipv4: string;
  ipv6: string;
  /** The router's interface facing this LB node: the next hop for encapsulated packets */
  gatewayMac: string;
  gatewayIpv4: string;
  gatewayIpv6: string;
  gatewayIfname: string;
}

export interface HttpLoadOptions {
  url: string;
  /** New-connection mode: one request per connection */
  connections?: number;
  concurrency?: number;
  /** Keep-alive mode: K connections with R requests each */
  keepalive?: number;
  requests?: number;
  intervalMs?: number;
  timeoutMs?: number;
  deadlineMs?: number;
  localAddress?: string;
  /** POST this many bytes instead of GET (to /upload) */
  postBytes?: number;
}

export interface HttpLoadResult {
  mode: 'connections' | 'keepalive';
  ok: number;
  failed: number;
  resets: number;
  timeouts: number;
  errors: Record<string, number>;
  perBackend: Record<string, number>;
  connections: number;
  reconnects: number;
  backendSwitches: number;
  bytes: number;
  durationMs: number;
  deadlineHit: boolean;
}

const SCRIPTS = {
  httpBackend: join(repoRoot, 'test', 'lab', 'http-backend.mjs'),
  httpLoad: join(repoRoot, 'test', 'lab', 'http-load.mjs'),
  udpSink: join(repoRoot, 'test', 'lab', 'udp-sink.mjs'),
  /** scapy sender of hand-built tunnel packets (run with /usr/bin/python3) */
  sendEncap: join(repoRoot, 'test', 'lab', 'send-encap.py'),
  /** `node --import <this> x.ts` runs repo TypeScript in a child process */
  tsRegister: join(repoRoot, 'test', 'lab', 'ts-register.mjs'),
  decapCmd: join(repoRoot, 'test', 'lab', 'decap-cmd.ts'),
};
export const LAB_SCRIPTS = SCRIPTS;

function intOption(name: string, v: number | undefined, dflt: number, min: number, max: number): number {
  const n = v ?? dflt;
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`lab: ${name} must be an integer in [${min}, ${max}], got ${v}`);
  return n;
}

function vipOption(name: string, v: string[] | undefined, dflt: string[], family: 4 | 6): string[] {
  const vips = v ?? dflt;
  const inRange = family === 4 ? (a: string) => isIPv4(a) && a.startsWith('10.100.0.') : (a: string) => isIPv6(a) && /^fd00:100::/i.test(a);
  for (const a of vips) {
    if (!inRange(a)) throw new Error(`lab: ${name} entry ${a} is not an IPv${family} address in ${family === 4 ? '10.100.0.0/24' : 'fd00:100::/64'}`);
  }
  return vips;
}

export class Lab {
  readonly plan: LabPlan;
  readonly ipv6: boolean;
  readonly httpPort: number;
  private readonly settings: BuildSettings;
  private readonly createdNamespaces: string[] = [];
  private readonly processes = new Set<LabProcess>();
  private readonly captures = new Set<Capture>();
  private readonly httpServers = new Map<string, LabProcess>();
  private links = new Map<string, Map<string, LinkInfo>>();
  private destroyed = false;

  private constructor(plan: LabPlan, settings: BuildSettings, httpPort: number) {
    this.plan = plan;
    this.settings = settings;
    this.ipv6 = settings.ipv6;
    this.httpPort = httpPort;
  }

  /** Builds the whole topology; on any failure everything created so far is removed and the error rethrown. */
  static async create(o: LabOptions = {}): Promise<Lab> {
    const ipv6 = o.ipv6 ?? true;
    const plan = makePlan({
      backends: intOption('backends', o.backends, 2, 1, 64),
      lbNodes: intOption('lbNodes', o.lbNodes, 1, 1, 4),
      clients: intOption('clients', o.clients, 1, 1, 4),
      vips4: vipOption('vips4', o.vips4, DEFAULT_VIPS4, 4),
      vips6: ipv6 ? vipOption('vips6', o.vips6, DEFAULT_VIPS6, 6) : [],
    });
    const settings: BuildSettings = {
      ipv6,
      coreMtu: intOption('coreMtu', o.coreMtu, 1500, 1280, 9000),
      clientMtu: intOption('clientMtu', o.clientMtu, 1500, 1280, 9000),
      xdpPassObject: bpfObjectPath('xdp_pass'),
    };
    const httpPort = intOption('httpPort', o.httpPort, 80, 1, 65535);
    if (!existsSync(settings.xdpPassObject)) throw new Error(`lab: ${settings.xdpPassObject} is missing (run npm run build)`);
    const lab = new Lab(plan, settings, httpPort);
    registerLive(lab);
    try {
      await lab.build(o);
    } catch (err) {
      await lab.destroy();
      throw err;
    }
    return lab;
  }

  private async build(o: LabOptions): Promise<void> {
    const step = async (name: LabStep, fn: () => Promise<void>) => {
      await fn();
      await o.onStep?.(name);
    };
    await step('namespaces', async () => {
      for (const node of allNodes(this.plan)) {
        // Recorded before creation: a half-made namespace must still be deleted.
        this.createdNamespaces.push(node.ns);
        await createNamespace(node.ns);
      }
    });
    await step('sysctls', () => setSysctls(this.plan, this.settings));
    await step('links', async () => {
      await createLinks(this.plan, this.settings);
      await this.refreshLinks();
    });
    await step('addresses', () => configureAddresses(this.plan, this.settings));
    await step('routes', async () => {
      if (o.staticVipRoutes ?? true) await routeVips(this.plan, this.plan.lbs, this.settings);
    });
    await step('xdp', () => prepareXdpPath(this.plan, this.settings));
    await step('decap', async () => {
      if (o.decap ?? true) for (const b of this.plan.backends) await this.attachBackendDecap(b.name);
    });
    await step('http', async () => {
      if (o.http ?? true) await Promise.all(this.plan.backends.map((b) => this.startHttp(b.name)));
    });
  }

  private async refreshLinks(): Promise<void> {
    const entries = await Promise.all(allNodes(this.plan).map(async (n) => [n.name, await readLinks(n.ns)] as const));
    this.links = new Map(entries);
  }

  // ---- topology facts -------------------------------------------------------------------------

  get router(): NodePlan { return this.plan.router; }
  get clients(): NodePlan[] { return this.plan.clients; }
  get lbs(): NodePlan[] { return this.plan.lbs; }
  get backends(): NodePlan[] { return this.plan.backends; }
  get vips4(): string[] { return this.plan.vips4; }
  get vips6(): string[] { return this.plan.vips6; }
  /** bpffs directory owned by this run; removed by destroy() */
  get pinDir(): string { return this.plan.pinDir; }

  node(name: string): NodePlan {
    const node = allNodes(this.plan).find((n) => n.name === name);
    if (!node) throw new Error(`lab: unknown node "${name}" (nodes: ${allNodes(this.plan).map((n) => n.name).join(', ')})`);
    return node;
  }

  netnsPath(node: string): string {
    return this.node(node).netnsPath;
  }

  private link(node: string, dev: string): LinkInfo {
    const info = this.links.get(this.node(node).name)?.get(dev);
    if (!info) throw new Error(`lab: no interface ${dev} in node ${node}`);
    return info;
  }

  ifindex(node: string, dev = 'eth0'): number {
    return this.link(node, dev).ifindex;
  }

  mac(node: string, dev = 'eth0'): string {
    return this.link(node, dev).mac;
  }

  lbIfindex(node: string): number {
    return this.ifindex(this.lbNode(node).name, 'eth0');
  }

  /** The router's MAC on the link to this LB node: where encapsulated frames are sent. */
  gatewayMac(lbNode: string): string {
    return this.mac('r', this.lbNode(lbNode).routerIfname);
  }

  private lbNode(name: string): NodePlan {
    const node = this.node(name);
    if (node.role !== 'lb') throw new Error(`lab: ${name} is not an LB node (LB nodes: ${this.plan.lbs.map((n) => n.name).join(', ')})`);
    return node;
  }

  /** Everything needed to load and configure the LB on an LB node. */
  lbContext(name: string): LbNodeContext {
    const node = this.lbNode(name);
    return {
      name: node.name, ns: node.ns, netnsPath: node.netnsPath, ifname: node.ifname,
      ifindex: this.ifindex(node.name, node.ifname), mac: this.mac(node.name, node.ifname),
      ipv4: node.ipv4, ipv6: node.ipv6,
      gatewayMac: this.gatewayMac(node.name), gatewayIpv4: node.routerIpv4, gatewayIpv6: node.routerIpv6,
      gatewayIfname: node.routerIfname,
    };
  }

  /** Hook for tests: runs fn with the LB node's context (e.g. to load the LB with withNetns). */
  async attachLb<T>(name: string, fn: (ctx: LbNodeContext) => T | Promise<T>): Promise<T> {
    return fn(this.lbContext(name));
  }

  // ---- VIP routing ---------------------------------------------------------------------------

  /** Points the VIP routes at these LB nodes only (e.g. ['lb2'] to move every flow to lb2). */
  async routeVipTo(lbNames: string[]): Promise<void> {
    if (lbNames.length === 0) throw new Error('lab: routeVipTo needs at least one LB node');
    await routeVips(this.plan, lbNames.map((n) => this.lbNode(n)), this.settings);
  }

  /** The router's current VIP routes, as `ip route show` prints them. */
  async vipRoutes(): Promise<{ v4: string; v6: string }> {
    const r = this.plan.router.ns;
    const v4 = await run(['ip', '-n', r, 'route', 'show', this.plan.vipPrefix4]);
    const v6 = this.ipv6 ? await run(['ip', '-n', r, '-6', 'route', 'show', this.plan.vipPrefix6]) : { stdout: '' };
    return { v4: v4.stdout.trim(), v6: v6.stdout.trim() };
  }

  // ---- commands ------------------------------------------------------------------------------

  private nsArgv(node: string, keepMounts = false): string[] {
    const n = this.node(node);
    return keepMounts ? ['nsenter', `--net=${n.netnsPath}`, '--'] : ['ip', 'netns', 'exec', n.ns];
  }

  private static argv(cmd: string[] | string): string[] {
    return typeof cmd === 'string' ? ['sh', '-c', cmd] : cmd;
  }

  /** Runs a command in a node's namespace; throws with its stderr on failure unless check: false. */
  async exec(node: string, cmd: string[] | string, o: ExecOptions = {}): Promise<RunResult> {
    this.assertAlive();
    return run([...this.nsArgv(node, o.keepMounts), ...Lab.argv(cmd)], o);
  }

  /** Starts a long-running command in a node's namespace; killed by destroy(). */
  spawn(node: string, cmd: string[] | string, o: { keepMounts?: boolean; description?: string } = {}): LabProcess {
    this.assertAlive();
    const argv = Lab.argv(cmd);
    const proc = new LabProcess(o.description ?? `${node}: ${argv.join(' ')}`, [...this.nsArgv(node, o.keepMounts), ...argv]);
    this.processes.add(proc);
    void proc.exited.then(() => this.processes.delete(proc));
    return proc;
  }

  /** pids of the processes this lab started that are still running (HTTP servers, captures, spawn()) */
  get pids(): number[] {
    return [...this.processes].filter((p) => p.running && p.pid !== undefined).map((p) => p.pid!);
  }

  /** Node.js scripts (test/lab/*.mjs) run with this process's node binary. */
  spawnNode(node: string, script: string, args: string[], o: { keepMounts?: boolean } = {}): LabProcess {
    return this.spawn(node, [process.execPath, script, ...args], { ...o, description: `${node}: ${script} ${args.join(' ')}` });
  }

  /** Runs a repo TypeScript file with node in a node's namespace (see ts-register.mjs). */
  async execTs(node: string, script: string, args: string[], o: ExecOptions = {}): Promise<RunResult> {
    return this.exec(node, [process.execPath, '--import', SCRIPTS.tsRegister, script, ...args], o);
  }

  // ---- backends ------------------------------------------------------------------------------

  private backendNode(name: string): NodePlan {
    const node = this.node(name);
    if (node.role !== 'backend') throw new Error(`lab: ${name} is not a backend (backends: ${this.plan.backends.map((n) => n.name).join(', ')})`);
    return node;
  }

  async startHttp(backend: string): Promise<void> {
    const b = this.backendNode(backend);
    if (this.httpServers.get(b.name)?.running) return;
    const proc = this.spawnNode(b.name, SCRIPTS.httpBackend, ['--name', b.name, '--port', String(this.httpPort)]);
    this.httpServers.set(b.name, proc);
    await proc.waitForOutput(/^listening /, 15_000);
  }

  async stopHttp(backend: string): Promise<void> {
    const b = this.backendNode(backend);
    await this.httpServers.get(b.name)?.stop();
    this.httpServers.delete(b.name);
  }

  decapPinDir(backend: string): string {
    return join(this.plan.pinDir, 'decap', this.backendNode(backend).name);
  }

  // The decap module needs the libbpf-ts addon; loading it lazily keeps decap-less labs addon-free.
  private static decapModule(): Promise<typeof import('../../lb/decap/index.js')> {
    return import('../../lb/decap/index.js');
  }

  /** Attaches decap on a backend; tunnels are accepted from the LB nodes' subnets unless told otherwise. */
  async attachBackendDecap(
    backend: string,
    o: { addresses?: string[]; legacyCrossFamily?: boolean; allowSources?: string[]; allowAnySource?: boolean; allowForwardedInner?: boolean } = {},
  ): Promise<DecapAttachResult> {
    const b = this.backendNode(backend);
    const { attachDecap } = await Lab.decapModule();
    const sources = o.allowAnySource ? {} : { allowSources: LB_SOURCE_PREFIXES };
    return attachDecap({ ifname: b.ifname, netnsPath: b.netnsPath, pinDir: this.decapPinDir(b.name), ...sources, ...o });
  }

  async detachBackendDecap(backend: string): Promise<DecapDetachResult> {
    const b = this.backendNode(backend);
    const { detachDecap } = await Lab.decapModule();
    return detachDecap({ ifname: b.ifname, netnsPath: b.netnsPath, pinDir: this.decapPinDir(b.name) });
  }

  async backendDecapStatus(backend: string): Promise<DecapStatus> {
    const b = this.backendNode(backend);
    const { decapStatus } = await Lab.decapModule();
    return decapStatus({ ifname: b.ifname, netnsPath: b.netnsPath, pinDir: this.decapPinDir(b.name) });
  }

  // ---- clients -------------------------------------------------------------------------------

  /** Runs test/lab/http-load.mjs in a client namespace and returns its JSON summary. */
  async httpLoad(client: string, o: HttpLoadOptions): Promise<HttpLoadResult> {
    const args = ['--url', o.url];
    const add = (flag: string, v: number | string | undefined) => {
      if (v !== undefined) args.push(`--${flag}`, String(v));
    };
    add('connections', o.connections);
    add('concurrency', o.concurrency);
    add('keepalive', o.keepalive);
    add('requests', o.requests);
    add('interval-ms', o.intervalMs);
    add('timeout-ms', o.timeoutMs);
    add('deadline-ms', o.deadlineMs);
    add('local-address', o.localAddress);
    add('post-bytes', o.postBytes);
    const bound = (o.deadlineMs ?? 60_000) + (o.timeoutMs ?? 3000) + 10_000;
    const r = await this.exec(client, [process.execPath, SCRIPTS.httpLoad, ...args], { timeoutMs: bound });
    return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as HttpLoadResult;
  }

  /** One HTTP GET with curl from a node; returns the body. */
  async httpGet(node: string, url: string, timeoutSec = 5): Promise<string> {
    const r = await this.exec(node, ['curl', '-sS', '--max-time', String(timeoutSec), '-g', url]);
    return r.stdout;
  }

  /** URL of the default VIP (or a given address) on the lab's HTTP port, brackets added for IPv6. */
  url(address: string, path = '/'): string {
    const host = isIPv6(address) ? `[${address}]` : address;
    return `http://${host}${this.httpPort === 80 ? '' : `:${this.httpPort}`}${path}`;
  }

  // ---- captures ------------------------------------------------------------------------------

  /** Starts tcpdump on dev in node; call stop() on the result for the packets. filter is BPF syntax. */
  async captureStart(node: string, dev: string, filter = ''): Promise<Capture> {
    this.assertAlive();
    this.link(node, dev); // clear error for a wrong interface
    const cap = await Capture.start(this.nsArgv(node), dev, filter, `${node}/${dev}`);
    this.captures.add(cap);
    return cap;
  }

  // ---- teardown ------------------------------------------------------------------------------

  private assertAlive(): void {
    if (this.destroyed) throw new Error('lab: already destroyed');
  }

  /** Removes everything this lab created. Safe to call twice, and after a failed create(). */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    const errors: string[] = [];
    for (const cap of this.captures) cap.discard();
    await Promise.all([...this.processes].map((p) => p.stop('SIGTERM', 2000)));
    for (const ns of this.createdNamespaces) {
      const r = await run(['ip', 'netns', 'del', ns], { check: false });
      if (r.code !== 0 && existsSync(`/run/netns/${ns}`)) errors.push(`ip netns del ${ns}: ${r.stderr.trim()}`);
    }
    try {
      rmSync(this.plan.pinDir, { recursive: true, force: true });
      removePinRootIfEmpty();
    } catch (err) {
      errors.push(`rm ${this.plan.pinDir}: ${(err as Error).message}`);
    }
    unregisterLive(this);
    if (errors.length) throw new Error(`lab: teardown incomplete:\n${errors.join('\n')}`);
  }

  /** Synchronous teardown for process exit and signals. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const cap of this.captures) cap.discard();
    for (const p of this.processes) p.killSync();
    for (const ns of this.createdNamespaces) runSync(['ip', 'netns', 'del', ns], { check: false });
    rmSync(this.plan.pinDir, { recursive: true, force: true });
    removePinRootIfEmpty();
    unregisterLive(this);
  }

  /** Namespaces of this run that still exist (for tests proving teardown). */
  static listNamespaces(prefix: string): string[] {
    if (!existsSync('/run/netns')) return [];
    return readdirSync('/run/netns').filter((n) => n.startsWith(`${prefix}-`));
  }

  /**
   * Removes namespaces and pin dirs left by lab runs whose process is gone (e.g. killed with
   * SIGKILL, which no exit hook survives). Never touches a live run's.
   */
  static reapStale(): string[] {
    const reaped: string[] = [];
    const dead = (pid: number) => {
      try {
        process.kill(pid, 0);
        return false;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === 'ESRCH';
      }
    };
    const re = new RegExp(`^${LAB_NS_PREFIX}-(\\d+)-[0-9a-f]{6}-`);
    for (const ns of existsSync('/run/netns') ? readdirSync('/run/netns') : []) {
      const m = re.exec(ns);
      if (m && dead(Number(m[1]))) {
        runSync(['ip', 'netns', 'del', ns], { check: false });
        reaped.push(ns);
      }
    }
    for (const dir of existsSync(LAB_PIN_ROOT) ? readdirSync(LAB_PIN_ROOT) : []) {
      const m = /^(\d+)-[0-9a-f]{6}$/.exec(dir);
      if (m && dead(Number(m[1]))) {
        rmSync(join(LAB_PIN_ROOT, dir), { recursive: true, force: true });
        reaped.push(join(LAB_PIN_ROOT, dir));
      }
    }
    return reaped;
  }
}

/** The shared parent of every run's pin dir goes too once the last run is gone (another run may
 * still be using it: then rmdir fails with ENOTEMPTY, which is fine). */
function removePinRootIfEmpty(): void {
  try {
    rmdirSync(LAB_PIN_ROOT);
  } catch {
    // not empty (another lab is running) or already gone
  }
}
