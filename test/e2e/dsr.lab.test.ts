// End to end: real HTTP over real TCP from a client namespace, through the
// router to the LB node, where the XDP program (driven directly through LbDatapath) tunnels each
// packet to a backend; the backend decapsulates and answers the client directly (DSR).
//   a. IPv4 VIP → IPv4 backends (IPIP)
//   b. IPv6 VIP → IPv6 backends (IP6IP6), IPv4 VIP → IPv6 backends (4in6)
//   g. the LB node's own addresses (ping, HTTP, bulk TCP both ways) are untouched by the program
// Evidence for DSR: a capture on the LB node's link (router side: frames the program XDP_TXes are
// only visible there) holds every request, and each one again inside a tunnel, but no reply; a
// capture on the client's link holds the replies from the VIP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withNetns, xdpQuery } from '../../bpf/libbpf-ts/index.js';
import { Lab, LAB_SCRIPTS } from '../lab/lab.js';
import { ConnPool } from './conn-pool.js';
import { counted, pk } from './counters.js';
import { echo } from './probe.js';
import { backendId, backendsOf, configureService, startLbNode, type LbNode } from './lb-node.js';
import { captureDuring, summarize } from './wire.js';

const CONNECTIONS = 300;
const VIP4 = '10.100.0.10';
const VIP4_4IN6 = '10.100.0.11';
const VIP6 = 'fd00:100::10';

describe('e2e: balancing real HTTP with DSR (IPIP, IP6IP6, 4in6)', () => {
  let lab: Lab;
  let lb: LbNode;

  beforeAll(async () => {
    lab = await Lab.create({ backends: 3, lbNodes: 1, clients: 1, vips4: [VIP4, VIP4_4IN6], vips6: [VIP6] });
    lb = await startLbNode(lab, 'lb1');
    const all = lab.backends.map((node) => ({ node }));
    configureService([lb], { id: 1, vip: VIP4, port: 80, protocol: 'tcp' }, backendsOf(1, all, 4));
    configureService([lb], { id: 2, vip: VIP6, port: 80, protocol: 'tcp' }, backendsOf(2, all, 6));
    configureService([lb], { id: 3, vip: VIP4_4IN6, port: 80, protocol: 'tcp' }, backendsOf(3, all, 6));
  });

  afterAll(async () => {
    try {
      lb?.stop();
    } finally {
      await lab?.destroy();
    }
  });

  const cases = [
    { name: 'a. IPv4 VIP → IPv4 backends (IPIP)', serviceId: 1, vip: VIP4, family: 4, tx: 'tx.ipip' },
    { name: 'b. IPv6 VIP → IPv6 backends (IP6IP6)', serviceId: 2, vip: VIP6, family: 6, tx: 'tx.ip6ip6' },
    { name: 'b. IPv4 VIP → IPv6 backends (4in6)', serviceId: 3, vip: VIP4_4IN6, family: 6, tx: 'tx.ip4in6' },
  ] as const;

  for (const c of cases) {
    it(`${c.name}: ${CONNECTIONS} new connections all succeed, every backend serves, replies bypass the LB`, async () => {
      const { result: { result: load, delta }, packets: [lbPackets, clientPackets] } = await captureDuring(
        lab,
        [{ node: 'r', dev: lab.lbContext('lb1').gatewayIfname }, { node: 'c1', dev: 'eth0', filter: 'tcp port 80' }],
        () => counted(lb.dp, () => lab.httpLoad('c1', { url: lab.url(c.vip), connections: CONNECTIONS, concurrency: 16 })),
      );
      const onLb = summarize(lbPackets!, c.vip, 80);
      const atClient = summarize(clientPackets!, c.vip, 80);

      // The client's view: every connection answered, by every backend.
      expect(load).toMatchObject({ ok: CONNECTIONS, failed: 0, resets: 0, deadlineHit: false });
      expect(Object.keys(load.perBackend).sort()).toEqual(['b1', 'b2', 'b3']);
      for (const n of Object.values(load.perBackend)) expect(n).toBeGreaterThan(CONNECTIONS / 10);

      // The LB node's wire: all requests went in, came back out tunnelled, and no reply crossed it.
      expect(onLb.requestSyns.length).toBeGreaterThanOrEqual(CONNECTIONS);
      expect(onLb.tunnelled.length).toBe(onLb.requests.length);
      expect(onLb.replies).toEqual([]);
      const lbAddr = c.family === 4 ? lb.ctx.ipv4 : lb.ctx.ipv6;
      const backendAddrs = lab.backends.map((b) => (c.family === 4 ? b.ipv4 : b.ipv6));
      for (const p of onLb.tunnelled) {
        expect(p.src[0]).toBe(lbAddr);
        expect(backendAddrs).toContain(p.dst[0]);
      }
      // The client's wire: the replies (one SYN-ACK per connection at least) come from the VIP.
      expect(atClient.replySynAcks.length).toBeGreaterThanOrEqual(CONNECTIONS);

      // The datapath's own account matches the wire, backend by backend.
      expect(pk(delta, c.tx)).toBe(onLb.tunnelled.length);
      expect(pk(delta, 'verdict.tx')).toBe(onLb.tunnelled.length);
      expect(pk(delta, 'verdict.drop')).toBe(0);
      // One flow-table entry per connection (its SYN); everything after it hits that entry.
      expect(pk(delta, 'flow.new')).toBe(CONNECTIONS);
      expect(pk(delta, 'flow.miss')).toBe(CONNECTIONS);
      expect(pk(delta, 'flow.hit')).toBeGreaterThanOrEqual(2 * CONNECTIONS); // ACK + request at least
      expect(delta.services.get(c.serviceId)?.packets).toBe(onLb.tunnelled.length);
      lab.backends.forEach((b, i) => {
        const n = delta.backends.get(backendId(c.serviceId, i + 1))?.packets ?? 0;
        expect(n, `${b.name} packets`).toBe(onLb.tunnelledTo.get(backendAddrs[i]!) ?? 0);
        expect(n, `${b.name} packets`).toBeGreaterThan(0);
      });
    });
  }

  it('g. traffic to the LB node\'s own addresses is untouched while the program is attached', async () => {
    const node = lab.node('lb1');
    const server = lab.spawnNode('lb1', LAB_SCRIPTS.httpBackend, ['--name', 'lb1-host', '--port', '8080']);
    await server.waitForOutput(/^listening /);
    const pool = ConnPool.start(lab.netnsPath('c1'));
    try {
      const { result, delta } = await counted(lb.dp, async () => {
        const ping4 = await echo(lab, 'c1', node.ipv4, 3);
        const ping6 = await echo(lab, 'c1', node.ipv6, 3);
        const get4 = await lab.httpGet('c1', `http://${node.ipv4}:8080/`);
        const get6 = await lab.httpGet('c1', `http://[${node.ipv6}]:8080/`);
        // A long-lived TCP connection (like an SSH session) before, during and after bulk transfers.
        const opened = await pool.open(node.ipv4, 8080, 1);
        const down = await lab.httpLoad('c1', { url: `http://${node.ipv4}:8080/bytes/4000000`, connections: 2 });
        const up = await lab.httpLoad('c1', { url: `http://[${node.ipv6}]:8080/upload`, connections: 2, postBytes: 2_000_000 });
        const again = await pool.round();
        return { ping4, ping6, get4, get6, opened, down, up, again };
      });
      expect(result.ping4).toEqual({ sent: 3, received: 3 });
      expect(result.ping6).toEqual({ sent: 3, received: 3 });
      expect(result.get4).toBe('lb1-host\n');
      expect(result.get6).toBe('lb1-host\n');
      expect(result.opened).toMatchObject([{ backend: 'lb1-host' }]);
      expect(result.again).toEqual([{ id: 0, backend: 'lb1-host' }]);
      expect(result.down).toMatchObject({ ok: 2, failed: 0, bytes: 8_000_000 });
      expect(result.up).toMatchObject({ ok: 2, failed: 0, bytes: 2 * 'lb1-host 2000000\n'.length });

      // The program was there and saw it all: every packet passed as "not for a VIP".
      expect(withNetns(lb.ctx.netnsPath, () => xdpQuery(lb.ctx.ifindex))).toMatchObject({ progId: lb.dp.program.id, mode: 'native' });
      expect(pk(delta, 'pass.notVip')).toBeGreaterThan(2_000_000 / 1500); // the upload alone
      expect(pk(delta, 'verdict.tx')).toBe(0);
      expect(pk(delta, 'verdict.drop')).toBe(0);
      expect(delta.backends.size).toBe(0);
    } finally {
      await pool.stop();
      await server.stop();
    }
  });
});
