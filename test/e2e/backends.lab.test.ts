// End to end: backend-set changes under live keep-alive connections.
//   c. 50 connections open; a backend is added and another removed: connections on backends that
//      remain keep working on the same TCP connection; new connections use the new set only.
//   e. drain (weight 0): the backend gets no new connections; its established ones keep working.
// Each keep-alive connection is one socket for its whole life (test/e2e/conn-pool.mjs), so a reset
// or a silent move to another backend shows up on exactly that connection. The tables are changed
// in place (only the differing slots rewritten in the live table), as xlbd's reconciler does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlowTuple } from '../../lb/datapath/index.js';
import { Lab, type LabNode } from '../lab/lab.js';
import { byBackend, ConnPool, type PoolConn } from './conn-pool.js';
import { counted, pk } from './counters.js';
import { backendId, backendsOf, configureService, startLbNode, type LbNode } from './lb-node.js';

const VIP_CHANGE = '10.100.0.10';
const VIP_DRAIN = '10.100.0.11';

describe('e2e: backend changes under live keep-alive connections', () => {
  let lab: Lab;
  let lb: LbNode;
  let b: Record<'b1' | 'b2' | 'b3' | 'b4', LabNode>;
  const pools: ConnPool[] = [];

  const tuple = (c: PoolConn, vip: string): FlowTuple => ({ src: c.localAddress, dst: vip, sport: c.localPort, dport: 80, protocol: 'tcp' });
  const idOf = (serviceId: number, name: string) => backendId(serviceId, Number(name.slice(1)));

  beforeAll(async () => {
    lab = await Lab.create({ backends: 4, lbNodes: 1, clients: 1, ipv6: false, vips4: [VIP_CHANGE, VIP_DRAIN] });
    lb = await startLbNode(lab, 'lb1');
    b = { b1: lab.node('b1'), b2: lab.node('b2'), b3: lab.node('b3'), b4: lab.node('b4') };
  });

  afterAll(async () => {
    try {
      for (const p of pools) await p.stop();
      lb?.stop();
    } finally {
      await lab?.destroy();
    }
  });

  it('c. add one backend and remove another: surviving connections keep their backend, new ones use the new set', async () => {
    const svc = 1;
    configureService([lb], { id: svc, vip: VIP_CHANGE, port: 80, protocol: 'tcp' }, backendsOf(svc, [{ node: b.b1 }, { node: b.b2 }, { node: b.b3 }], 4));
    const pool = ConnPool.start(lab.netnsPath('c1'));
    pools.push(pool);

    const conns = await pool.open(VIP_CHANGE, 80, 50);
    expect(conns.filter((c) => c.error)).toEqual([]);
    const before = byBackend(conns);
    expect([...before.keys()].sort()).toEqual(['b1', 'b2', 'b3']);
    // The flow table holds each connection on the backend that answered it.
    for (const c of conns) expect(lb.dp.lookupFlow(tuple(c, VIP_CHANGE))?.backendId).toBe(idOf(svc, c.backend!));

    const change = lb.dp.setBackends(svc, backendsOf(svc, [{ node: b.b1 }, { node: b.b2 }, { node: b.b4 }], 4), { write: 'inPlace' });
    expect(change.tableWrite).toBe('inPlace');
    expect(change.slotsPerBackend.get(idOf(svc, 'b4'))).toBeGreaterThan(0);
    const survivors = conns.filter((c) => c.backend !== 'b3');
    const orphans = conns.filter((c) => c.backend === 'b3');
    // How many survivors a table-only LB would have broken (Maglev moved their slot): informative.
    const remapped = survivors.filter((c) => lb.dp.placement(tuple(c, VIP_CHANGE))?.backendId !== idOf(svc, c.backend!));
    console.info(`c: ${survivors.length} surviving connections (${remapped.length} of them now in a slot of another backend), ${orphans.length} on the removed b3`);

    const { result: rounds, delta } = await counted(lb.dp, async () => [await pool.round(), await pool.round()]);
    for (const round of rounds) {
      for (const c of survivors) expect(round.find((r) => r.id === c.id), `connection ${c.id} on ${c.backend}`).toEqual({ id: c.id, backend: c.backend });
      // A connection whose backend is gone is placed again, and the new backend resets it: it must
      // never be answered by someone else on the same TCP connection.
      for (const c of orphans) expect(round.find((r) => r.id === c.id)?.backend).toBeUndefined();
    }
    for (const c of orphans) expect(rounds[0]!.find((r) => r.id === c.id)?.error, `connection ${c.id} on b3`).toBe('ECONNRESET');
    expect(pk(delta, 'flow.reselect')).toBeGreaterThanOrEqual(orphans.length);
    expect(pk(delta, 'flow.hit')).toBeGreaterThanOrEqual(2 * survivors.length);
    expect(delta.backends.get(idOf(svc, 'b3'))).toBeUndefined();
    for (const name of new Set(survivors.map((c) => c.backend!))) expect(delta.backends.get(idOf(svc, name))?.packets).toBeGreaterThan(0);

    const fresh = await counted(lb.dp, () => lab.httpLoad('c1', { url: lab.url(VIP_CHANGE), connections: 150 }));
    expect(fresh.result).toMatchObject({ ok: 150, failed: 0 });
    expect(Object.keys(fresh.result.perBackend).sort()).toEqual(['b1', 'b2', 'b4']);
    expect(pk(fresh.delta, 'flow.new')).toBeGreaterThanOrEqual(150);
    expect(fresh.delta.backends.get(idOf(svc, 'b4'))?.packets).toBeGreaterThan(0);
    expect(fresh.delta.backends.get(idOf(svc, 'b3'))).toBeUndefined();

    // And the survivors are still fine after all that.
    const last = await pool.round();
    for (const c of survivors) expect(last.find((r) => r.id === c.id)).toEqual({ id: c.id, backend: c.backend });
  });

  it('e. drain: a backend at weight 0 gets no new connections while its established ones keep working', async () => {
    const svc = 2;
    const three = (w2: number) => backendsOf(svc, [{ node: b.b1 }, { node: b.b2, weight: w2 }, { node: b.b3 }], 4);
    configureService([lb], { id: svc, vip: VIP_DRAIN, port: 80, protocol: 'tcp' }, three(1));
    const pool = ConnPool.start(lab.netnsPath('c1'));
    pools.push(pool);
    const conns = await pool.open(VIP_DRAIN, 80, 30);
    expect(conns.filter((c) => c.error)).toEqual([]);
    const onB2 = byBackend(conns).get('b2') ?? [];
    expect(onB2.length).toBeGreaterThan(0);

    const drained = lb.dp.setBackends(svc, three(0), { write: 'inPlace' });
    expect(drained.tableWrite).toBe('inPlace');
    expect(drained.slotsPerBackend.get(idOf(svc, 'b2'))).toBe(0);
    expect(lb.dp.backends(svc).find((x) => x.id === idOf(svc, 'b2'))).toMatchObject({ weight: 0, state: 'draining' });

    const existing = await counted(lb.dp, async () => [await pool.round(), await pool.round()]);
    for (const round of existing.result) {
      for (const c of conns) expect(round.find((r) => r.id === c.id), `connection ${c.id} on ${c.backend}`).toEqual({ id: c.id, backend: c.backend });
    }
    // b2's established connections still go through the LB to b2 (not around it).
    expect(existing.delta.backends.get(idOf(svc, 'b2'))?.packets).toBeGreaterThanOrEqual(2 * onB2.length);
    expect(pk(existing.delta, 'flow.reselect')).toBe(0);

    const fresh = await counted(lb.dp, () => lab.httpLoad('c1', { url: lab.url(VIP_DRAIN), connections: 150 }));
    expect(fresh.result).toMatchObject({ ok: 150, failed: 0 });
    expect(Object.keys(fresh.result.perBackend).sort()).toEqual(['b1', 'b3']);
    expect(fresh.delta.backends.get(idOf(svc, 'b2'))).toBeUndefined();

    const after = await pool.round();
    for (const c of conns) expect(after.find((r) => r.id === c.id)).toEqual({ id: c.id, backend: c.backend });
  });
});
