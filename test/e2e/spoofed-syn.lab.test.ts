// End to end (issue #13, item 4): a spoofed SYN carrying a live connection's 5-tuple must not move
// the connection. The backends' weights change first, so that Maglev would now place the 5-tuple
// on the other (active) backend: a datapath that let any SYN re-place its flow (as xlb did) sends
// the rest of the connection there, which resets it. The flow table keeps the entry while it is
// active (flow_table.syn_takeover_idle, default 60 s); the kernel tests cover the idle, the
// backend-gone and the draining-backend cases (a drain takes no new connection, so a SYN leaves a
// draining backend's entry at once).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../lab/lab.js';
import { repoRoot } from '../lab/paths.js';
import { ConnPool } from './conn-pool.js';
import { backendId, backendsOf, configureService, startLbNode, type LbNode } from './lb-node.js';

const VIP = '10.100.0.10';
const SERVICE = 1;

describe('e2e: a spoofed SYN against a live connection', () => {
  let lab: Lab;
  let lb: LbNode;
  let pool: ConnPool | undefined;

  beforeAll(async () => {
    lab = await Lab.create({ backends: 2, lbNodes: 1, clients: 1, ipv6: false, vips4: [VIP] });
    lb = await startLbNode(lab, 'lb1');
  });

  afterAll(async () => {
    try {
      await pool?.stop();
      lb?.stop();
    } finally {
      await lab?.destroy();
    }
  });

  it('leaves the connection on its backend: same entry, the connection keeps working', async () => {
    const nodes = [{ node: lab.node('b1') }, { node: lab.node('b2') }];
    configureService([lb], { id: SERVICE, vip: VIP, port: 80, protocol: 'tcp' }, backendsOf(SERVICE, nodes, 4));
    pool = ConnPool.start(lab.netnsPath('c1'));
    const conns = await pool.open(VIP, 80, 8);
    for (const c of conns) expect(c.error).toBeUndefined();
    const tupleOf = (c: (typeof conns)[number]) => ({ src: c.localAddress, dst: VIP, sport: c.localPort, dport: 80, protocol: 'tcp' as const });
    const idOf = (c: (typeof conns)[number]) => backendId(SERVICE, Number(c.backend!.slice(1)));
    for (const c of conns) expect(lb.dp.lookupFlow(tupleOf(c))!.backendId).toBe(idOf(c));

    // b2 gets 200 times b1's weight (both stay active): Maglev now places most 5-tuples on b2.
    lb.dp.setBackends(SERVICE, backendsOf(SERVICE, nodes.map((n) => ({ ...n, weight: n.node.name === 'b2' ? 200 : 1 })), 4));
    const conn = conns.find((c) => lb.dp.placement(tupleOf(c))!.backendId !== idOf(c));
    expect(conn, 'a connection whose 5-tuple Maglev now places elsewhere').toBeDefined();
    const tuple = tupleOf(conn!);
    const onId = idOf(conn!);

    const before = lb.dp.readCounters();
    const script = join(repoRoot, 'test', 'e2e', 'spoof-syn.py');
    await lab.exec('c1', ['/usr/bin/python3', script, JSON.stringify({ src: tuple.src, dst: VIP, sport: tuple.sport, dport: 80 })], { timeoutMs: 30_000 });
    // Every live connection carries on, on the same backend, and the spoofed one's entry did not change.
    const expected = conns.map((c) => ({ id: c.id, backend: c.backend }));
    for (let i = 0; i < 3; i++) expect(await pool.round()).toEqual(expected);
    expect(lb.dp.lookupFlow(tuple)!.backendId).toBe(onId);
    const after = lb.dp.readCounters();
    expect(after.flow.synKept.packets - before.flow.synKept.packets).toBe(1);
  });
});
