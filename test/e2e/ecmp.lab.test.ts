// End to end: two LB nodes behind the router's ECMP route, loaded with the same
// services, backends and hash seed and sharing no state. Keep-alive connections opened through lb1
// are moved to lb2 (the router's VIP route is re-pointed): lb2 has never seen them, places them by
// Maglev alone, and must pick the backend lb1 picked, so the connections go on without a reset.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlowTuple } from '../../lb/datapath/index.js';
import { Lab } from '../lab/lab.js';
import { ConnPool, byBackend, type PoolConn, type RoundResult } from './conn-pool.js';
import { counterDelta, pk, quiesce } from './counters.js';
import { backendId, backendsOf, configureService, startLbNode, type LbNode } from './lb-node.js';

const VIP4 = '10.100.0.10';
const VIP6 = 'fd00:100::10';
const PER_FAMILY = 20;

describe('e2e: two LB nodes behind ECMP, no shared state', () => {
  let lab: Lab;
  let lb1: LbNode;
  let lb2: LbNode;
  const pools: ConnPool[] = [];

  beforeAll(async () => {
    lab = await Lab.create({ backends: 3, lbNodes: 2, clients: 1, vips4: [VIP4], vips6: [VIP6] });
    lb1 = await startLbNode(lab, 'lb1');
    lb2 = await startLbNode(lab, 'lb2');
    const all = lab.backends.map((node) => ({ node }));
    configureService([lb1, lb2], { id: 1, vip: VIP4, port: 80, protocol: 'tcp' }, backendsOf(1, all, 4));
    configureService([lb1, lb2], { id: 2, vip: VIP6, port: 80, protocol: 'tcp' }, backendsOf(2, all, 6));
  });

  afterAll(async () => {
    try {
      for (const p of pools) await p.stop();
      lb1?.stop();
      lb2?.stop();
    } finally {
      await lab?.destroy();
    }
  });

  const flowOf = (c: PoolConn, vip: string): FlowTuple => ({ src: c.localAddress, dst: vip, sport: c.localPort, dport: 80, protocol: 'tcp' });
  const expectSameBackends = (round: RoundResult[], conns: PoolConn[], label: string) => {
    for (const c of conns) expect(round.find((r) => r.id === c.id), `${label}: connection ${c.id} on ${c.backend}`).toEqual({ id: c.id, backend: c.backend });
  };

  it('d. a flow moved from one LB node to the other keeps its backend', async () => {
    await lab.routeVipTo(['lb1']);
    const pool4 = ConnPool.start(lab.netnsPath('c1'));
    const pool6 = ConnPool.start(lab.netnsPath('c1'));
    pools.push(pool4, pool6);
    const conns4 = await pool4.open(VIP4, 80, PER_FAMILY);
    const conns6 = await pool6.open(VIP6, 80, PER_FAMILY);
    expect([...conns4, ...conns6].filter((c) => c.error)).toEqual([]);
    expect([...byBackend([...conns4, ...conns6]).keys()].sort()).toEqual(['b1', 'b2', 'b3']);
    const flows = [...conns4.map((c) => ({ c, vip: VIP4, svc: 1 })), ...conns6.map((c) => ({ c, vip: VIP6, svc: 2 }))];
    for (const f of flows) expect(lb1.dp.lookupFlow(flowOf(f.c, f.vip))?.backendId).toBe(backendId(f.svc, Number(f.c.backend!.slice(1))));
    expect(lb2.dp.flowCount()).toBe(0);
    expect(lb2.dp.readCounters().verdict.tx.packets).toBe(0);

    // Every packet of these connections now reaches lb2, which has no entry for any of them.
    await lab.routeVipTo(['lb2']);
    expect((await lab.vipRoutes()).v4).toContain(lb2.ctx.ipv4);
    const before1 = lb1.dp.readCounters();
    const before2 = lb2.dp.readCounters();
    const rounds = [await pool4.round(), await pool6.round(), await pool4.round(), await pool6.round()];
    const d1 = counterDelta(before1, await quiesce(lb1.dp));
    const d2 = counterDelta(before2, await quiesce(lb2.dp));
    expectSameBackends(rounds[0]!, conns4, 'IPv4 on lb2');
    expectSameBackends(rounds[1]!, conns6, 'IPv6 on lb2');
    expectSameBackends(rounds[2]!, conns4, 'IPv4 on lb2, again');
    expectSameBackends(rounds[3]!, conns6, 'IPv6 on lb2, again');

    // The packets really crossed lb2 (and no longer lb1), each connection a new flow there, placed
    // on the backend lb1 had recorded.
    expect(pk(d1, 'verdict.tx')).toBe(0);
    expect(pk(d2, 'flow.new')).toBe(flows.length);
    expect(pk(d2, 'flow.hit')).toBeGreaterThanOrEqual(flows.length); // the second round at least
    expect(pk(d2, 'tx.ipip')).toBeGreaterThanOrEqual(2 * conns4.length);
    expect(pk(d2, 'tx.ip6ip6')).toBeGreaterThanOrEqual(2 * conns6.length);
    for (const f of flows) {
      const id = backendId(f.svc, Number(f.c.backend!.slice(1)));
      expect(lb2.dp.lookupFlow(flowOf(f.c, f.vip))?.backendId, `lb2 entry of connection ${f.c.id}`).toBe(id);
      expect(d2.backends.get(id)?.packets).toBeGreaterThanOrEqual(2);
    }

    // Back to lb1, and then both nodes at once: still the same backends on the same connections.
    await lab.routeVipTo(['lb1']);
    expectSameBackends(await pool4.round(), conns4, 'IPv4 back on lb1');
    await lab.routeVipTo(['lb1', 'lb2']);
    expectSameBackends(await pool4.round(), conns4, 'IPv4 on ECMP');
    expectSameBackends(await pool6.round(), conns6, 'IPv6 on ECMP');
  });

  it('d. with the route ECMP across both nodes, new connections are split between them and all succeed', async () => {
    await lab.routeVipTo(['lb1', 'lb2']);
    const before1 = lb1.dp.readCounters();
    const before2 = lb2.dp.readCounters();
    const load = await lab.httpLoad('c1', { url: lab.url(VIP4), connections: 200 });
    const d1 = counterDelta(before1, await quiesce(lb1.dp));
    const d2 = counterDelta(before2, await quiesce(lb2.dp));
    expect(load).toMatchObject({ ok: 200, failed: 0 });
    expect(Object.keys(load.perBackend).sort()).toEqual(['b1', 'b2', 'b3']);
    // L4 ECMP hashing: each node starts a share of the 200 flows; together exactly all of them.
    expect(pk(d1, 'flow.new')).toBeGreaterThan(20);
    expect(pk(d2, 'flow.new')).toBeGreaterThan(20);
    expect(pk(d1, 'flow.new') + pk(d2, 'flow.new')).toBe(200);
  });
});
