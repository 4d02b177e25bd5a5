// Kubernetes mode end to end: two real xlbd (LB nodes lb1 and lb2, ECMP from the router, the same
// Maglev seed) watch the API server stand-in (test/kubernetes/apiserver.ts, a process in the
// router's namespace, HTTPS with a CA-signed certificate and a kubeconfig per node, RBAC from
// deploy/kubernetes/) and serve real HTTP from the lab's backends through the VIPs the leader
// allocates. A real kube-apiserver cannot be installed on these machines; the stand-in is tested
// against the official client in apiserver.unit.test.ts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, LAB_SCRIPTS, type HttpLoadResult, type LabProcess } from '../lab/lab.js';
import { XlbdInstance } from '../daemon/xlbd.js';
import { repoRoot } from '../lab/paths.js';
import { ConnPool } from '../e2e/conn-pool.js';
import { KubeDriver } from './driver.js';
import { kubeconfigText, makeStandInPki, TOKENS } from './pki.js';
import { endpointSlice, lbService, MANIFESTS_DIR, type EndpointSpec } from './standin.js';

const POOL = '10.100.0.16/29';
const TINY_POOL = '10.100.0.24/32';
const VIPS = Array.from({ length: 8 }, (_, i) => `10.100.0.${16 + i}`);
const LEASE_SECONDS = 3;
const RETRY_SECONDS = 0.3;

let lab: Lab;
let dir: string;
let apiserver: LabProcess;
let kube: KubeDriver;
const xlbd: Record<'lb1' | 'lb2', XlbdInstance> = {} as never;

const b = (n: number) => lab.node(`b${n}`).ipv4;
const eps = (...list: (number | Omit<EndpointSpec, 'ip'> & { n: number })[]): EndpointSpec[] =>
  list.map((x) => (typeof x === 'number' ? { ip: b(x) } : { ...x, ip: b(x.n) }));

async function status(node: 'lb1' | 'lb2'): Promise<{ leader: boolean; leaderIdentity: string; identity: string; synced: boolean; services: number }> {
  return (await xlbd[node].client.call('GetStatus', {})).kubernetes;
}

async function servicesOf(node: 'lb1' | 'lb2'): Promise<{ id: string; origin: string; kubernetes?: { namespace: string; name: string }; backends: { address: string; weight: number; state: string }[] }[]> {
  return (await xlbd[node].client.call('ListServices', {})).services;
}

/** Both nodes program exactly this (id → backend addresses with state). */
async function programmed(node: 'lb1' | 'lb2'): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const s of await servicesOf(node)) out[s.id] = s.backends.map((x) => `${x.address} ${x.state === 'BACKEND_STATE_DRAINING' ? 'draining' : 'active'}`);
  return out;
}

async function bothProgram(expected: Record<string, string[]>, timeout = 10_000): Promise<void> {
  for (const node of ['lb1', 'lb2'] as const) await expect.poll(() => programmed(node), { timeout, interval: 100 }).toEqual(expected);
}

async function leader(): Promise<'lb1' | 'lb2'> {
  for (const node of ['lb1', 'lb2'] as const) if (xlbd[node].proc?.running && (await status(node)).leader) return node;
  throw new Error('no leader');
}

function newXlbd(node: 'lb1' | 'lb2', gateway: string): XlbdInstance {
  const kubeconfig = join(dir, `kubeconfig-${node}`);
  writeFileSync(kubeconfig, kubeconfigText(`https://${gateway}:6443`, pkiCa, TOKENS.xlbd));
  return new XlbdInstance({
    lab,
    node,
    config: {
      kubernetes: {
        kubeconfig,
        node_name: node,
        address_pools: [
          { name: 'lab', addresses: [POOL] },
          { name: 'tiny', addresses: [TINY_POOL] },
        ],
        leader_election: { lease_duration_seconds: LEASE_SECONDS, renew_deadline_seconds: 2, retry_period_seconds: RETRY_SECONDS },
        watch_timeout_seconds: 20,
      },
    },
  });
}

let pkiCa = '';

/** Waits until `check` resolves true (expect.poll is not available in hooks). */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Batches of new connections through `vip` until stop() is called; every result kept. */
function background(vip: string) {
  let running = true;
  const batches: HttpLoadResult[] = [];
  const loop = (async () => {
    while (running) batches.push(await lab.httpLoad('c1', { url: lab.url(vip), connections: 40, concurrency: 4, timeoutMs: 2000 }));
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return {
        batches: batches.length,
        ok: batches.reduce((n, x) => n + x.ok, 0),
        failed: batches.reduce((n, x) => n + x.failed, 0),
        perBackend: batches.reduce<Record<string, number>>((acc, x) => {
          for (const [k, v] of Object.entries(x.perBackend)) acc[k] = (acc[k] ?? 0) + v;
          return acc;
        }, {}),
      };
    },
  };
}

beforeAll(async () => {
  lab = await Lab.create({ backends: 3, lbNodes: 2, clients: 1, ipv6: false, vips4: VIPS });
  dir = mkdtempSync(join(tmpdir(), `xlb-k8s-e2e-${process.pid}-`));
  const gateways = ['lb1', 'lb2'].map((n) => lab.lbContext(n).gatewayIpv4);
  const pki = makeStandInPki(dir, gateways);
  pkiCa = pki.caPem;
  writeFileSync(join(dir, 'apiserver.crt'), pki.certPem);
  writeFileSync(join(dir, 'apiserver.key'), pki.keyPem);
  const socket = join(dir, 'apiserver.sock');
  const config = join(dir, 'apiserver.json');
  writeFileSync(
    config,
    JSON.stringify({ port: 6443, host: '0.0.0.0', certFile: join(dir, 'apiserver.crt'), keyFile: join(dir, 'apiserver.key'), socket, manifestsDir: MANIFESTS_DIR, bookmarkIntervalMs: 1000 }),
  );
  apiserver = lab.spawn('r', [process.execPath, '--import', LAB_SCRIPTS.tsRegister, join(repoRoot, 'test/kubernetes/apiserver-main.ts'), config], {
    keepMounts: true,
    description: 'API server stand-in',
  });
  await apiserver.waitForOutput(/^listening /, 30_000);
  kube = new KubeDriver(socket);
  xlbd.lb1 = newXlbd('lb1', gateways[0]!);
  xlbd.lb2 = newXlbd('lb2', gateways[1]!);
  await Promise.all([xlbd.lb1.start(), xlbd.lb2.start()]);
  await until('both nodes in step, one leading', async () => {
    const [a, b] = [await status('lb1'), await status('lb2')];
    return a.synced && b.synced && a.leader !== b.leader;
  });
}, 180_000);

afterAll(async () => {
  try {
    for (const x of Object.values(xlbd)) await x?.dispose();
    await apiserver?.stop();
  } finally {
    await lab?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
});

describe('Kubernetes mode end to end', () => {
  it('Service + EndpointSlice → the leader allocates a VIP and writes the status; both nodes serve HTTP through it; read-only over gRPC', async () => {
    await kube.create(lbService('shop', 'web'));
    await kube.create(endpointSlice('shop', 'web', eps(1, 2, 3)));
    await expect.poll(() => kube.ingress('shop', 'web'), { timeout: 10_000 }).toEqual([VIPS[0]]);
    const id = `${VIPS[0]}:80/tcp`;
    await bothProgram({ [id]: [`${b(1)} active`, `${b(2)} active`, `${b(3)} active`] });
    const svc = (await servicesOf('lb2')).find((s) => s.id === id)!;
    expect(svc).toMatchObject({ origin: 'kubernetes', kubernetes: { namespace: 'shop', name: 'web' } });
    expect((await kube.get('Service', 'shop', 'web')).status).toEqual({ loadBalancer: { ingress: [{ ip: VIPS[0], ipMode: 'VIP' }] } });
    expect(await kube.events('shop', 'web')).toEqual([`Normal IPAllocated: Assigned VIP ${VIPS[0]}`]);
    // Only the leader wrote status.
    const writers = new Set((await kube.requests()).filter((r) => r.subresource === 'status').map((r) => r.remote.replace(/^::ffff:/, '')));
    expect([...writers]).toEqual([lab.lbContext(await leader()).ipv4]);

    const load = await lab.httpLoad('c1', { url: lab.url(VIPS[0]!), connections: 90, concurrency: 6 });
    expect(load).toMatchObject({ ok: 90, failed: 0 });
    expect(Object.keys(load.perBackend).sort()).toEqual(['b1', 'b2', 'b3']);

    // The API shows it and refuses to change it, naming the Service.
    for (const [method, req] of [
      ['DeleteService', { serviceId: id }],
      ['RemoveBackend', { serviceId: id, address: b(1) }],
    ] as const) {
      const e = await xlbd.lb1.client.fail(method, req);
      expect(e.codeName).toBe('FAILED_PRECONDITION');
      expect(e.details).toContain(`service ${id} is managed by Kubernetes (Service shop/web); change that Service in the cluster`);
    }
  });

  it('scale down removes a backend; a rolling update drains the terminating one (its connections keep working)', async () => {
    const id = `${VIPS[0]}:80/tcp`;
    await kube.apply(endpointSlice('shop', 'web', eps(1, 2)));
    await bothProgram({ [id]: [`${b(1)} active`, `${b(2)} active`] });
    const down = await lab.httpLoad('c1', { url: lab.url(VIPS[0]!), connections: 60, concurrency: 6 });
    expect(down).toMatchObject({ ok: 60, failed: 0 });
    expect(Object.keys(down.perBackend).sort()).toEqual(['b1', 'b2']);

    const pool = ConnPool.start(lab.netnsPath('c1'));
    try {
      const conns = await pool.open(VIPS[0]!, 80, 24);
      expect(conns.filter((c) => c.error)).toEqual([]);
      const onB2 = conns.filter((c) => c.backend === 'b2');
      expect(onB2.length).toBeGreaterThan(0);
      // The rollout: b2's pod terminates (still serving), b3's pod is the new ready one.
      await kube.apply(endpointSlice('shop', 'web', eps(1, { n: 2, ready: false, serving: true, terminating: true }, 3)));
      await bothProgram({ [id]: [`${b(1)} active`, `${b(2)} draining`, `${b(3)} active`] });
      const round = await pool.round();
      for (const c of conns) expect(round.find((r) => r.id === c.id), `connection ${c.id} on ${c.backend}`).toEqual({ id: c.id, backend: c.backend });
      const fresh = await lab.httpLoad('c1', { url: lab.url(VIPS[0]!), connections: 60, concurrency: 6 });
      expect(fresh).toMatchObject({ ok: 60, failed: 0 });
      expect(Object.keys(fresh.perBackend).sort()).toEqual(['b1', 'b3']);
      // The pod is gone.
      await kube.apply(endpointSlice('shop', 'web', eps(1, 3)));
      await bothProgram({ [id]: [`${b(1)} active`, `${b(3)} active`] });
    } finally {
      await pool.stop();
    }
  });

  it('watch cut mid-stream with 410 Gone, then the API server unreachable: traffic never stops, nothing is deleted, changes arrive', async () => {
    const id = `${VIPS[0]}:80/tcp`;
    const mark = { lb1: xlbd.lb1.output.length, lb2: xlbd.lb2.output.length };
    const traffic = background(VIPS[0]!);
    try {
      // Cut, and the versions the watches would resume from are compacted meanwhile.
      await kube.unreachable();
      await kube.apply(endpointSlice('shop', 'web', eps(1, 2, 3)));
      await kube.compact();
      await kube.reachable();
      await bothProgram({ [id]: [`${b(1)} active`, `${b(2)} active`, `${b(3)} active`] });
      for (const node of ['lb1', 'lb2'] as const) {
        await expect.poll(() => xlbd[node].output.slice(mark[node]), { timeout: 10_000 }).toMatch(/endpointslices: version \d+ is gone \(410\); listing again/);
      }
      // A cut without compaction resumes from the version it had. After the re-list the watches
      // reopen one by one: cut when all six (three per node) are open again.
      await expect.poll(async () => (await kube.openWatches()).open, { timeout: 10_000 }).toBeGreaterThanOrEqual(6);
      expect((await kube.breakWatches()).broken).toBeGreaterThanOrEqual(6);
      // Unreachable for a while: the datapath keeps serving what it has. The change that arrives
      // later takes b3 out the way a rollout does (terminating first): a backend removed outright
      // resets the connections it has (README, Limits), and the traffic below must see none fail.
      await kube.unreachable();
      await kube.apply(endpointSlice('shop', 'web', eps(1, 2, { n: 3, ready: false, serving: true, terminating: true })));
      await new Promise((r) => setTimeout(r, 1500));
      expect(await programmed('lb1')).toEqual({ [id]: [`${b(1)} active`, `${b(2)} active`, `${b(3)} active`] });
      await kube.reachable();
      await bothProgram({ [id]: [`${b(1)} active`, `${b(2)} active`, `${b(3)} draining`] });
    } finally {
      const t = await traffic.stop();
      expect(t.failed, JSON.stringify(t)).toBe(0);
      expect(t.batches).toBeGreaterThanOrEqual(2);
    }
    for (const node of ['lb1', 'lb2'] as const) expect(xlbd[node].output.slice(mark[node])).not.toMatch(/services (created|deleted)/);
  });

  it('the leader is killed (SIGKILL): the other node leads within the lease duration; the restarted node converges; no traffic gap', async () => {
    const id = `${VIPS[0]}:80/tcp`;
    const was = await leader();
    const other = was === 'lb1' ? 'lb2' : 'lb1';
    const identity = (await status(was)).identity;
    await expect.poll(async () => (await status(other)).leaderIdentity, { timeout: 10_000 }).toBe(identity);
    const traffic = background(VIPS[0]!);
    try {
      const killedAt = Date.now();
      await xlbd[was].kill9();
      // While it is down: a change for the survivor, and the restarted node must catch up on it.
      await kube.apply(endpointSlice('shop', 'web', eps(1, 2, 3)));
      await expect.poll(() => programmed(other), { timeout: 10_000 }).toEqual({ [id]: [`${b(1)} active`, `${b(2)} active`, `${b(3)} active`] });
      await expect.poll(async () => (await status(other)).leader, { timeout: 10_000, interval: 50 }).toBe(true);
      const took = (Date.now() - killedAt) / 1000;
      console.info(`leader ${was} killed; ${other} took over after ${took.toFixed(2)} s (lease ${LEASE_SECONDS} s, retry ${RETRY_SECONDS} s)`);
      expect(took).toBeLessThan(LEASE_SECONDS + 2 * RETRY_SECONDS + 1);
      // The new leader allocates.
      await kube.create(lbService('shop', 'api'));
      await kube.create(endpointSlice('shop', 'api', eps(2)));
      await expect.poll(() => kube.ingress('shop', 'api'), { timeout: 10_000 }).toEqual([VIPS[1]]);
      await xlbd[was].start();
      await bothProgram({ [id]: [`${b(1)} active`, `${b(2)} active`, `${b(3)} active`], [`${VIPS[1]}:80/tcp`]: [`${b(2)} active`] });
      expect((await status(was)).leader).toBe(false);
    } finally {
      const t = await traffic.stop();
      expect(t.failed, JSON.stringify(t)).toBe(0);
    }
    // The restarted node found the VIPs in the Services' status: nothing was re-allocated.
    expect(await kube.ingress('shop', 'web')).toEqual([VIPS[0]]);
    const writers = new Set((await kube.requests()).filter((r) => r.subresource === 'status').map((r) => r.remote.replace(/^::ffff:/, '')));
    expect([...writers].sort()).toEqual([lab.lbContext('lb1').ipv4, lab.lbContext('lb2').ipv4].sort());
    const load = await lab.httpLoad('c1', { url: lab.url(VIPS[1]!), connections: 20, concurrency: 4 });
    expect(load).toMatchObject({ ok: 20, failed: 0, perBackend: { b2: 20 } });
  });

  it('Service deleted → VIP released and gone from the datapath; type changed → status cleared and gone', async () => {
    await kube.delete('Service', 'shop', 'api');
    await bothProgram({ [`${VIPS[0]}:80/tcp`]: [`${b(1)} active`, `${b(2)} active`, `${b(3)} active`] });
    const gone = await lab.httpLoad('c1', { url: lab.url(VIPS[1]!), connections: 4, concurrency: 4, timeoutMs: 500 });
    expect(gone.ok).toBe(0);
    // The address is free again.
    await kube.create(lbService('shop', 'next'));
    await expect.poll(() => kube.ingress('shop', 'next'), { timeout: 10_000 }).toEqual([VIPS[1]]);

    await kube.edit('Service', 'shop', 'next', (o) => {
      o.spec!.type = 'ClusterIP';
    });
    await expect.poll(() => kube.ingress('shop', 'next'), { timeout: 10_000 }).toEqual([]);
    await bothProgram({ [`${VIPS[0]}:80/tcp`]: [`${b(1)} active`, `${b(2)} active`, `${b(3)} active`] });
  });

  it('bad input → an Event and a log line naming the field; nothing else is touched', async () => {
    const before = await servicesOf('lb1');
    const marks = { lb1: xlbd.lb1.output.length, lb2: xlbd.lb2.output.length };
    await kube.create(lbService('shop', 'foreign', { cls: 'example.com/other' }));
    await kube.create(lbService('shop', 'outside', { loadBalancerIP: '192.0.2.10' }));
    await kube.create(lbService('shop', 'typo', { annotations: { 'xlb.dev/load-balancer-ips': '10.100.0.16,,' } }));
    await kube.create(lbService('shop', 'tiny-1', { annotations: { 'xlb.dev/address-pool': 'tiny' } }));
    await expect.poll(() => kube.ingress('shop', 'tiny-1'), { timeout: 10_000 }).toEqual(['10.100.0.24']);
    await kube.create(lbService('shop', 'tiny-2', { annotations: { 'xlb.dev/address-pool': 'tiny' } }));
    await kube.create(
      lbService('shop', 'ports', {
        annotations: { 'xlb.dev/load-balancer-ips': VIPS[7]! },
        ports: [
          { name: 'dns', port: 53, protocol: 'SCTP' },
          { name: 'alt', port: 8080, targetPort: 80 },
        ],
      }),
    );
    await expect.poll(() => kube.events('shop', 'ports'), { timeout: 10_000 }).toEqual([
      'Warning UnsupportedProtocol: spec.ports[0].protocol: SCTP is not supported; xlb balances TCP and UDP',
      'Warning PortTranslation: spec.ports[1].targetPort: port 8080 would be sent to 80; with direct server return the backends must listen on the Service port itself (set targetPort to 8080)',
      `Normal IPAllocated: Assigned VIP ${VIPS[7]}`,
    ]);
    await expect.poll(() => kube.events('shop', 'outside'), { timeout: 10_000 }).toEqual([
      `Warning AddressOutsidePools: spec.loadBalancerIP: 192.0.2.10 is not in any address pool; pools: lab (${POOL}), tiny (${TINY_POOL})`,
    ]);
    await expect.poll(() => kube.events('shop', 'tiny-2'), { timeout: 10_000 }).toEqual([
      `Warning PoolExhausted: metadata.annotations[xlb.dev/address-pool]: no free IPv4 address left in tiny (${TINY_POOL})`,
    ]);
    await expect.poll(() => kube.events('shop', 'typo'), { timeout: 10_000 }).toEqual([
      'Warning InvalidAnnotation: metadata.annotations[xlb.dev/load-balancer-ips]: "10.100.0.16,,": has an empty entry; expected comma-separated IP addresses',
    ]);
    expect(await kube.events('shop', 'foreign')).toEqual([]);
    for (const name of ['foreign', 'outside', 'typo', 'tiny-2']) expect(await kube.ingress('shop', name)).toEqual([]);
    for (const node of ['lb1', 'lb2'] as const) {
      const log = () => xlbd[node].output.slice(marks[node]);
      await expect.poll(log, { timeout: 10_000 }).toContain('kubernetes: Service shop/ports: spec.ports[1].targetPort: port 8080 would be sent to 80');
      expect(log()).toContain('kubernetes: Service shop/typo: metadata.annotations[xlb.dev/load-balancer-ips]: ');
      expect(log()).toContain('kubernetes: Service shop/outside: spec.loadBalancerIP: 192.0.2.10 is not in any address pool');
      expect(log()).toContain('kubernetes: Service shop/tiny-2: metadata.annotations[xlb.dev/address-pool]: no free IPv4 address left in tiny');
    }
    // The existing service kept everything, datapath ids included; the bad Service has no port.
    // (tiny-1 is a new, valid Service of its own.)
    for (const node of ['lb1', 'lb2'] as const) expect((await servicesOf(node)).filter((x) => !x.id.startsWith('10.100.0.24:'))).toEqual(before);
  });
});
