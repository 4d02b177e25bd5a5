// VIP announcement by BGP with real daemons: BIRD (bird2) in the router namespace peers with a
// gobgpd on each of two LB nodes, which their xlbd programs over gobgpd's gRPC API. The router's
// only route to the VIP is what BGP gives it:
//   - both LB nodes announce while healthy: two next hops in BIRD's RIB and in the kernel (ECMP),
//     and real HTTP flows through that route;
//   - xlbd restarted (SIGKILL): its stale paths are withdrawn, current ones kept without a flap;
//   - SIGTERM on one LB node withdraws its next hop; keep-alive connections go on through the
//     other node (same Maglev seed, same backends);
//   - every backend down (when_healthy, fail_open false): withdrawn; drain-node withdraws too;
//   - gobgpd unreachable at start: xlbd serves and reports BGP down, and announces once gobgpd is
//     back (also the "gobgpd restarted" case: everything is re-added);
//   - a neighbour gobgpd refuses: an error naming the field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BirdRouter, GOBGP_API, LB_AS, ROUTER_AS, startGobgpd } from '../lab/bgp.js';
import { Lab, type LabProcess } from '../lab/lab.js';
import { XlbdInstance } from '../daemon/xlbd.js';

const VIP = '10.100.0.10';
const PREFIX = `${VIP}/32`;
const SERVICE = `${VIP}:80/tcp`;
const CHECK = { kind: 'http', path: '/health', interval: '300ms', timeout: '150ms', rise: 1, fall: 2, failOpen: false };

let lab: Lab;
let bird: BirdRouter;
const gobgpd = new Map<string, LabProcess>();
const xlbd = new Map<string, XlbdInstance>();

function bgpConfig(node: string, extra: Record<string, unknown> = {}) {
  const lb = lab.node(node);
  return {
    bgp: {
      gobgp_api: GOBGP_API,
      local_as: LB_AS,
      neighbors: [{ address: lb.routerIpv4, peer_as: ROUTER_AS, hold_time: '3s', keepalive: '1s', connect_retry: '1s' }],
      shutdown_delay: '300ms',
      ...extra,
    },
  };
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const sameList = (a: string[], b: string[]) => JSON.stringify(a) === JSON.stringify(b);
const lbAddrs = () => lab.lbs.map((l) => l.ipv4).sort();

async function startXlbd(node: string, extra: Record<string, unknown> = {}): Promise<XlbdInstance> {
  const x = xlbd.get(node) ?? new XlbdInstance({ lab, node, config: bgpConfig(node, extra) });
  xlbd.set(node, x);
  await x.start();
  return x;
}

beforeAll(async () => {
  // The router's only route to the VIP will be the one BGP gives it.
  lab = await Lab.create({ backends: 2, lbNodes: 2, clients: 1, ipv6: false, vips4: [VIP], staticVipRoutes: false });
  bird = await BirdRouter.start(lab, { peers: lab.lbs.map((lb) => ({ name: lb.name, address: lb.ipv4, as: LB_AS })) });
  // lb1's gobgpd is started later, by the first test: xlbd must cope with it being absent.
  gobgpd.set('lb2', startGobgpd(lab, 'lb2'));
  await Promise.all(lab.lbs.map(async (lb) => {
    const x = await startXlbd(lb.name);
    await x.client.call('CreateService', {
      service: { id: SERVICE, backends: lab.backends.map((b) => ({ address: b.ipv4, name: b.name })), healthCheck: CHECK },
    });
  }));
}, 180_000);

afterAll(async () => {
  for (const x of xlbd.values()) await x.dispose();
  for (const g of gobgpd.values()) await g.stop();
  await bird?.stop();
  await lab?.destroy();
});

describe('BGP announcement through gobgpd, with BIRD as the router', () => {
  it('gobgpd unreachable at start: xlbd serves, reports BGP down, and announces once gobgpd is up', async () => {
    const x = xlbd.get('lb1')!;
    const st = (await x.client.call('GetStatus'));
    expect(st.bgp).toMatchObject({ enabled: true, connected: false, prefixes: [{ prefix: PREFIX, announced: false, reason: 'healthy' }] });
    expect(st.bgp.error).toMatch(/gobgpd at 127\.0\.0\.1:50051 is unreachable/);
    expect(st.interfaces[0].attached).toBe(true);
    expect(x.output).toMatch(/bgp: gobgpd at 127\.0\.0\.1:50051 is unreachable .*retrying with backoff/);

    gobgpd.set('lb1', startGobgpd(lab, 'lb1'));
    await until('lb1 at the router', async () => sameList(await bird.ribNextHops(PREFIX), lbAddrs()), 30_000);
    expect(x.output).toMatch(/bgp: started gobgpd's BGP instance: AS 65001/);
    expect((await x.client.call('GetStatus')).bgp).toMatchObject({ connected: true, error: '' });
  });

  it('both LB nodes announce the VIP: ECMP in the router RIB and kernel table, HTTP through it', async () => {
    await until('two next hops in BIRD', async () => sameList(await bird.ribNextHops(PREFIX), lbAddrs()));
    await until('an ECMP kernel route', async () => sameList(await bird.kernelNextHops(PREFIX), lbAddrs()));
    // Session states are read from gobgpd on every pass of the announcer (every 2 s).
    const status = await until('lb1 reports its session established', async () => {
      const st = await xlbd.get('lb1')!.client.call('GetStatus');
      return st.bgp.neighbors[0]?.state === 'established' ? st : undefined;
    });
    expect(status.bgp).toMatchObject({
      enabled: true,
      connected: true,
      gobgpApi: GOBGP_API,
      error: '',
      announce: 'when_healthy',
      nextHop: lab.node('lb1').ipv4,
      drained: false,
      prefixes: [{ prefix: PREFIX, announced: true, reason: 'healthy' }],
    });
    expect(status.bgp.neighbors).toEqual([expect.objectContaining({ address: lab.node('lb1').routerIpv4, peerAs: ROUTER_AS, state: 'established' })]);
    const metrics = (await lab.exec('lb1', ['curl', '-sS', `http://127.0.0.1:${xlbd.get('lb1')!.metricsPort}/metrics`])).stdout;
    expect(metrics).toContain(`xlb_bgp_announced{vip="${VIP}"} 1`);
    expect(metrics).toContain(`xlb_bgp_session_up{neighbor="${lab.node('lb1').routerIpv4}"} 1`);
    expect(metrics).toContain('xlb_bgp_gobgpd_up 1');

    const load = await lab.httpLoad('c1', { url: lab.url(VIP), connections: 100, concurrency: 4 });
    expect(load.failed).toBe(0);
    expect(Object.keys(load.perBackend).sort()).toEqual(['b1', 'b2']);
  });

  it('xlbd restarted: its stale paths are withdrawn, current ones stay without a flap', async () => {
    // A path left behind by an earlier run (a VIP since deleted).
    await lab.exec('lb2', ['gobgp', '-u', '127.0.0.1', '-p', '50051', 'global', 'rib', 'add', '10.100.0.99/32', 'nexthop', lab.node('lb2').ipv4]);
    await until('the stale path at the router', async () => (await bird.ribNextHops('10.100.0.99/32')).length === 1);
    const since = async () => /\[lb2 ([0-9:.]+)\]/.exec(await bird.birdc(`show route for ${PREFIX} all`))?.[1];
    const before = await since();
    expect(before).toBeDefined();
    const x = xlbd.get('lb2')!;
    await x.kill9();
    await x.start();
    await until('the stale path withdrawn', async () => (await bird.ribNextHops('10.100.0.99/32')).length === 0);
    expect(await since()).toBe(before); // lb2's route for the VIP was never withdrawn or replaced
    expect(await bird.kernelNextHops(PREFIX)).toEqual(lbAddrs());
  });

  it('withdraws when every backend is down (when_healthy, fail_open false), and on drain-node', async () => {
    const x = xlbd.get('lb2')!;
    await Promise.all(lab.backends.map((b) => lab.stopHttp(b.name)));
    await until('no route at the router', async () => (await bird.ribNextHops(PREFIX)).length === 0);
    expect((await x.client.call('GetStatus')).bgp.prefixes).toEqual([{ prefix: PREFIX, announced: false, reason: 'no healthy backend' }]);
    await Promise.all(lab.backends.map((b) => lab.startHttp(b.name)));
    await until('announced again', async () => sameList(await bird.ribNextHops(PREFIX), lbAddrs()));

    const drained = await x.client.call('DrainNode', {});
    expect(drained).toEqual({ drained: true, withdrawn: [PREFIX], announced: [] });
    await until('lb2 drained', async () => sameList(await bird.ribNextHops(PREFIX), [lab.node('lb1').ipv4]));
    expect((await x.client.call('GetStatus')).bgp).toMatchObject({ drained: true, prefixes: [{ prefix: PREFIX, announced: false, reason: 'node drained' }] });
    const undone = await x.client.call('DrainNode', { undo: true });
    expect(undone).toEqual({ drained: false, withdrawn: [], announced: [PREFIX] });
    await until('undrained', async () => sameList(await bird.ribNextHops(PREFIX), lbAddrs()));
  });

  it('SIGTERM on one LB node withdraws its next hop; connections go on through the other', async () => {
    const load = lab.httpLoad('c1', { url: lab.url(VIP), keepalive: 8, requests: 40, intervalMs: 50, timeoutMs: 2000 });
    await new Promise((r) => setTimeout(r, 500));
    const x = xlbd.get('lb2')!;
    await x.stop('SIGTERM');
    expect(x.output).toMatch(/bgp: withdrew every VIP; waiting 300 ms/);
    await until('only lb1 left at the router', async () => sameList(await bird.kernelNextHops(PREFIX), [lab.node('lb1').ipv4]));
    const r = await load;
    expect(r.failed).toBe(0);
    expect(r.backendSwitches).toBe(0);
    expect(r.ok).toBe(8 * 40);
  });

  it('reports a neighbour gobgpd refuses, naming the field', async () => {
    await gobgpd.get('lb1')!.stop();
    const lb1 = lab.node('lb1');
    // gobgpd's own config already has the router as a neighbour, with another AS.
    gobgpd.set('lb1', startGobgpd(lab, 'lb1', {
      configToml: `[global.config]\n  as = ${LB_AS}\n  router-id = "${lb1.ipv4}"\n[[neighbors]]\n  [neighbors.config]\n    neighbor-address = "${lb1.routerIpv4}"\n    peer-as = 65010\n`,
    }));
    const x = xlbd.get('lb1')!;
    const st = await until('the refusal', async () => {
      const s = (await x.client.call('GetStatus')).bgp;
      return s.connected && /peer_as/.test(s.error) ? s : undefined;
    }, 30_000);
    expect(st.error).toBe(
      `bgp.neighbors[0].peer_as: gobgpd refused the neighbour ${lb1.routerIpv4}: can't overwrite the existing peer: ${lb1.routerIpv4} ` +
        `(gobgpd already has ${lb1.routerIpv4} with peer AS 65010, from its own config?)`,
    );
    expect(x.output).toContain(`bgp: bgp.neighbors[0].peer_as: gobgpd refused the neighbour ${lb1.routerIpv4}`);
  });
});
