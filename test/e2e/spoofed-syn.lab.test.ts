// End to end (issue #13, item 4): a spoofed SYN carrying a live connection's 5-tuple must not move
// the connection. The connection's backend is drained first, so that Maglev would now place the
// 5-tuple elsewhere: a datapath that let any SYN re-place its flow (as xlb did) sends the rest of
// the connection to the other backend, which resets it. The flow table keeps the entry while it is
// active (flow_table.syn_takeover_idle, default 60 s); the kernel tests cover the idle and the
// backend-gone cases.
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
    const [conn] = await pool.open(VIP, 80, 1);
    expect(conn!.error).toBeUndefined();
    const tuple = { src: conn!.localAddress, dst: VIP, sport: conn!.localPort, dport: 80, protocol: 'tcp' as const };
    const on = conn!.backend!;
    const onId = backendId(SERVICE, Number(on.slice(1)));
    expect(lb.dp.lookupFlow(tuple)!.backendId).toBe(onId);

    // Drain the connection's backend: Maglev now places this 5-tuple on the other one.
    lb.dp.setBackends(SERVICE, backendsOf(SERVICE, nodes.map((n) => (n.node.name === on ? { ...n, weight: 0, state: 'draining' as const } : n)), 4));
    expect(lb.dp.placement(tuple)!.backendId).not.toBe(onId);

    const before = lb.dp.readCounters();
    const script = join(repoRoot, 'test', 'e2e', 'spoof-syn.py');
    await lab.exec('c1', ['/usr/bin/python3', script, JSON.stringify({ src: tuple.src, dst: VIP, sport: tuple.sport, dport: 80 })], { timeoutMs: 30_000 });
    // The live connection carries on, on the same backend, and its entry did not change.
    for (let i = 0; i < 3; i++) expect(await pool.round()).toEqual([{ id: conn!.id, backend: on }]);
    expect(lb.dp.lookupFlow(tuple)!.backendId).toBe(onId);
    const after = lb.dp.readCounters();
    expect(after.flow.synKept.packets - before.flow.synKept.packets).toBe(1);
  });
});
