// The datapath attached for real: native XDP on a veth inside a namespace this test creates. A
// "router" end sends a client packet to the VIP; the encapsulated frame must come back out of the
// LB end (XDP_TX) towards the gateway MAC. Also checks attach/detach bookkeeping.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ifNameToIndex, withNetns, xdpQuery } from '../../bpf/libbpf-ts/index.js';
import type { LbDatapath } from '../../lb/datapath/index.js';
import { bpfObjectPath } from '../../bpf/objects.js';
import { loadDatapath } from './harness.js';
import { ETH_P_IP, PROTO_IPIP, PROTO_TCP, ether, ipv4, tcp } from '../lab/packets.js';

const ns = `xlbdp-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
const LB_MAC = '02:00:00:aa:00:01';
const RT_MAC = '02:00:00:aa:00:02';

function sh(...args: string[]): string {
  return execFileSync(args[0]!, args.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Sends `frame` out of rt0; returns the frames rt0 receives addressed to RT_MAC (stops at the
 *  first one, or after `waitSeconds`). */
function sendAndCapture(frame: Buffer, waitSeconds: number): Buffer[] {
  const script = `
import sys, threading
from scapy.all import AsyncSniffer, sendp, Ether
ready = threading.Event()
s = AsyncSniffer(iface="rt0", lfilter=lambda p: p[Ether].dst == "${RT_MAC}", count=1,
                 timeout=float(sys.argv[2]), started_callback=ready.set)
s.start()
ready.wait(10)
sendp(Ether(bytes.fromhex(sys.argv[1])), iface="rt0", verbose=False)
s.join()
for p in s.results: print(bytes(p).hex())
`;
  const out = sh('ip', 'netns', 'exec', ns, '/usr/bin/python3', '-c', script, frame.toString('hex'), String(waitSeconds));
  return out.split('\n').filter(Boolean).map((h) => Buffer.from(h, 'hex'));
}

describe('attached to a veth (native XDP)', () => {
  let dp: LbDatapath;
  let lbIndex = 0;

  beforeAll(() => {
    sh('ip', 'netns', 'add', ns);
    sh('ip', '-n', ns, 'link', 'add', 'lb0', 'address', LB_MAC, 'type', 'veth', 'peer', 'name', 'rt0', 'address', RT_MAC);
    sh('ip', '-n', ns, 'link', 'set', 'lb0', 'up');
    sh('ip', '-n', ns, 'link', 'set', 'rt0', 'up');
    // XDP_TX frames into a veth are dropped unless the peer runs XDP too (platform notes).
    sh('ip', '-n', ns, 'link', 'set', 'dev', 'rt0', 'xdpdrv', 'obj', bpfObjectPath('xdp_pass'), 'sec', 'xdp');
    dp = loadDatapath();
    dp.setConfig({ ifMac: LB_MAC, gatewayMac: RT_MAC, sourceV4: '10.255.0.1' });
    dp.upsertService({ id: 1, vip: '10.0.0.10', port: 80, protocol: 'tcp' });
    dp.setBackends(1, [{ id: 1, address: '10.1.0.1', weight: 1 }]);
    lbIndex = withNetns(ns, () => ifNameToIndex('lb0'));
  });

  afterAll(() => {
    try {
      dp?.close();
    } finally {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    }
  });

  it('attach() installs the program in native mode; traffic to the VIP comes back encapsulated; detach() removes it', () => {
    withNetns(ns, () => dp.attach(lbIndex, 'native'));
    expect(withNetns(ns, () => xdpQuery(lbIndex))).toMatchObject({ progId: dp.program.id, mode: 'native' });

    const client = '192.0.2.33';
    const inner = ipv4({ src: client, dst: '10.0.0.10', proto: PROTO_TCP }, tcp({ src: client, dst: '10.0.0.10', sport: 4444, dport: 80 }));
    const before = dp.readCounters();
    const got = sendAndCapture(ether({ dst: LB_MAC, src: RT_MAC }, ETH_P_IP, inner), 10);
    const after = dp.readCounters();
    expect(after.tx.ipip.packets - before.tx.ipip.packets).toBe(1);
    expect(got.length).toBe(1);
    const f = got[0]!;
    expect(f.subarray(0, 12).toString('hex')).toBe(RT_MAC.replace(/:/g, '') + LB_MAC.replace(/:/g, ''));
    expect(f[14 + 9]).toBe(PROTO_IPIP);
    expect([...f.subarray(14 + 16, 14 + 20)].join('.')).toBe('10.1.0.1');
    expect(f.subarray(14 + 20, 14 + 20 + inner.length).equals(inner)).toBe(true);

    // Non-VIP traffic is passed to the stack, not reflected.
    const other = ipv4({ src: client, dst: '10.9.9.9', proto: PROTO_TCP }, tcp({ src: client, dst: '10.9.9.9', sport: 1, dport: 80 }));
    const b2 = dp.readCounters();
    expect(sendAndCapture(ether({ dst: LB_MAC, src: RT_MAC }, ETH_P_IP, other), 1.5)).toEqual([]);
    expect(dp.readCounters().pass.notVip.packets - b2.pass.notVip.packets).toBeGreaterThanOrEqual(1);

    withNetns(ns, () => dp.detach());
    expect(withNetns(ns, () => xdpQuery(lbIndex)).progId).toBe(0);
  });
});
