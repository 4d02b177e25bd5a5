// End to end: path MTU through the tunnel. The LB's tunnel MTU is 1500, so a client
// packet fits when its length plus the outer header (20 B IPv4, 40 B IPv6) is at most 1500.
//   - A DF packet one byte too big draws ICMP frag-needed (type 3 code 4) / ICMPv6 Packet Too Big
//     from the VIP with the reduced MTU, captured at the client; one that just fits is tunnelled.
//   - Uploads (client → VIP, the direction that crosses the LB) complete: the client learns the
//     reduced path MTU from those ICMP errors. Downloads (backend → client directly) complete too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../lab/lab.js';
import { run } from '../lab/shell.js';
import { counted, pk } from './counters.js';
import { backendsOf, configureService, startLbNode, type LbNode } from './lb-node.js';
import { sendTcpProbes } from './probe.js';

const TUNNEL_MTU = 1500;
const PROBE_IPIP = '10.100.0.10';
const PROBE_4IN6 = '10.100.0.12';
const PROBE_IP6IP6 = 'fd00:100::10';
const BULK4 = '10.100.0.11';
const BULK6 = 'fd00:100::11';

interface IcmpSeen {
  src: string;
  family: 4 | 6;
  type: number;
  code: number;
  mtu: number;
  checksumGood: boolean;
  /** Source port of the TCP segment the error quotes */
  quotedSport: number;
}

const ICMP_FIELDS = ['ip.src', 'ipv6.src', 'icmp.type', 'icmp.code', 'icmp.mtu', 'icmp.checksum.status',
  'icmpv6.type', 'icmpv6.code', 'icmpv6.mtu', 'icmpv6.checksum.status', 'tcp.srcport'];

/** ICMP "too big" errors in a pcap (frag-needed and Packet Too Big; NDP and the rest ignored). */
async function tooBigErrors(pcapPath: string): Promise<IcmpSeen[]> {
  const r = await run(['tshark', '-r', pcapPath, '-T', 'fields', '-E', 'separator=|', ...ICMP_FIELDS.flatMap((f) => ['-e', f])]);
  const out: IcmpSeen[] = [];
  for (const line of r.stdout.split('\n').filter(Boolean)) {
    const [src4, src6, t4, c4, mtu4, ck4, t6, c6, mtu6, ck6, sport] = line.split('|');
    const family = t4 ? 4 : 6;
    const seen: IcmpSeen = {
      src: (family === 4 ? src4 : src6)!.split(',')[0]!,
      family,
      type: Number(family === 4 ? t4 : t6),
      code: Number(family === 4 ? c4 : c6),
      mtu: Number(family === 4 ? mtu4 : mtu6),
      checksumGood: (family === 4 ? ck4 : ck6) === '1',
      quotedSport: Number(sport),
    };
    if ((family === 4 && seen.type === 3 && seen.code === 4) || (family === 6 && seen.type === 2)) out.push(seen);
  }
  return out;
}

describe('e2e: path MTU through the tunnel', () => {
  let lab: Lab;
  let lb: LbNode;

  beforeAll(async () => {
    lab = await Lab.create({ backends: 2, lbNodes: 1, clients: 1, vips4: [PROBE_IPIP, BULK4, PROBE_4IN6], vips6: [PROBE_IP6IP6, BULK6] });
    lb = await startLbNode(lab, 'lb1', { mtu: TUNNEL_MTU });
    const all = lab.backends.map((node) => ({ node }));
    configureService([lb], { id: 1, vip: PROBE_IPIP, port: 80, protocol: 'tcp' }, backendsOf(1, all, 4));
    configureService([lb], { id: 2, vip: PROBE_IP6IP6, port: 80, protocol: 'tcp' }, backendsOf(2, all, 6));
    configureService([lb], { id: 3, vip: PROBE_4IN6, port: 80, protocol: 'tcp' }, backendsOf(3, all, 6));
    configureService([lb], { id: 4, vip: BULK4, port: 80, protocol: 'tcp' }, backendsOf(4, all, 4));
    configureService([lb], { id: 5, vip: BULK6, port: 80, protocol: 'tcp' }, backendsOf(5, all, 6));
  });

  afterAll(async () => {
    try {
      lb?.stop();
    } finally {
      await lab?.destroy();
    }
  });

  it('f. a DF packet that would not fit after encapsulation draws frag-needed / Packet Too Big with the tunnel MTU; one that fits is tunnelled', async () => {
    // [VIP, overhead, sport of the packet that just fits, sport of the one a byte too big]
    const probes = [
      { vip: PROBE_IPIP, overhead: 20, fits: 40001, tooBig: 40002 },
      { vip: PROBE_IP6IP6, overhead: 40, fits: 40011, tooBig: 40012 },
      { vip: PROBE_4IN6, overhead: 40, fits: 40021, tooBig: 40022 },
    ];
    const cap = await lab.captureStart('c1', 'eth0', 'icmp or icmp6');
    let pcapPath: string;
    const { delta } = await counted(lb.dp, async () => {
      try {
        for (const p of probes) {
          const limit = TUNNEL_MTU - p.overhead;
          await sendTcpProbes(lab, 'c1', p.vip, 80, [{ sport: p.fits, length: limit }, { sport: p.tooBig, length: limit + 1 }]);
        }
      } finally {
        pcapPath = (await cap.stop()).pcapPath;
      }
    });
    const errors = await tooBigErrors(pcapPath!);
    expect(errors.sort((a, b) => a.quotedSport - b.quotedSport)).toEqual([
      { src: PROBE_IPIP, family: 4, type: 3, code: 4, mtu: 1480, checksumGood: true, quotedSport: 40002 },
      { src: PROBE_IP6IP6, family: 6, type: 2, code: 0, mtu: 1460, checksumGood: true, quotedSport: 40012 },
      { src: PROBE_4IN6, family: 4, type: 3, code: 4, mtu: 1460, checksumGood: true, quotedSport: 40022 },
    ]);
    expect(pk(delta, 'tx.icmpFragNeeded')).toBe(2);
    expect(pk(delta, 'tx.icmp6PacketTooBig')).toBe(1);
    // The packets that just fit went into the tunnel, one of each kind.
    expect(pk(delta, 'tx.ipip')).toBe(1);
    expect(pk(delta, 'tx.ip6ip6')).toBe(1);
    expect(pk(delta, 'tx.ip4in6')).toBe(1);
    expect(pk(delta, 'verdict.drop')).toBe(0);
  });

  for (const family of [4, 6] as const) {
    it(`f. IPv${family}: a large download and an upload that crosses the LB both complete; the client learns the tunnel MTU`, async () => {
      const vip = family === 4 ? BULK4 : BULK6;
      const learned = TUNNEL_MTU - (family === 4 ? 20 : 40);
      const cap = await lab.captureStart('c1', 'eth0', family === 4 ? 'icmp' : 'icmp6');
      let pcapPath: string;
      const { result, delta } = await counted(lb.dp, async () => {
        try {
          const down = await lab.httpLoad('c1', { url: lab.url(vip, '/bytes/20000000'), connections: 1, timeoutMs: 20_000 });
          const up = await lab.httpLoad('c1', { url: lab.url(vip, '/upload'), connections: 1, postBytes: 4_000_000, timeoutMs: 20_000 });
          return { down, up };
        } finally {
          pcapPath = (await cap.stop()).pcapPath;
        }
      });
      expect(result.down).toMatchObject({ ok: 1, failed: 0, bytes: 20_000_000 });
      expect(result.up).toMatchObject({ ok: 1, failed: 0 });
      const [backend] = Object.keys(result.up.perBackend);
      expect(result.up.bytes).toBe(`${backend} 4000000\n`.length);

      // Full-size upload segments did not fit the tunnel: the VIP told the client, which now uses
      // the reduced MTU for the VIP.
      const errors = await tooBigErrors(pcapPath!);
      expect(errors.length).toBeGreaterThan(0);
      for (const e of errors) expect(e).toMatchObject({ src: vip, mtu: learned, checksumGood: true });
      expect(pk(delta, family === 4 ? 'tx.icmpFragNeeded' : 'tx.icmp6PacketTooBig')).toBe(errors.length);
      const route = await lab.exec('c1', ['ip', `-${family}`, 'route', 'get', vip]);
      expect(route.stdout).toMatch(new RegExp(`mtu ${learned}\\b`));
      // After that, the upload's data crossed the LB in the tunnel: at least 4 MB of it.
      expect(delta.bytes[family === 4 ? 'tx.ipip' : 'tx.ip6ip6']).toBeGreaterThan(4_000_000);
      expect(pk(delta, 'drop.tooBig')).toBe(0);
    });
  }
});
