// The map layer: layout.ts against the compiled object (BTF struct sizes and member offsets, the
// counters enum, kernel-reported key/value sizes), load-time sizes, pin/adopt, and input
// validation (a bad request changes nothing).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfMap } from '../../bpf/libbpf-ts/index.js';
import { LbDatapath, STAT_NAMES } from '../../lb/datapath/index.js';
import { LB_STRUCTS, MAPS, mapSizes, type MapName } from '../../lb/datapath/layout.js';
import { DECAP_STRUCTS } from '../../lb/decap/index.js';
import { HEALTH_COUNTER_NAMES, HEALTH_STRUCTS } from '../../lb/health/index.js';
import { btfStructs, declaredShape } from './btf.js';
import { ValidationError } from '../../lb/model/index.js';
import { bpfObjectPath } from '../../bpf/objects.js';
import { repoRoot } from '../lab/paths.js';
import { CLIENT_MAC, GW_MAC, IF_MAC, configure, loadDatapath } from './harness.js';
import { ETH_P_IP, PROTO_TCP, ether, ipv4, tcp } from '../lab/packets.js';

describe('layout.ts declares what bpf/lb and bpf/decap define', () => {
  it('every struct declared for xlb_lb.o has the size and the members, at the offsets, of its BTF', () => {
    const btf = btfStructs(bpfObjectPath('xlb_lb'));
    expect(LB_STRUCTS.length).toBeGreaterThanOrEqual(16);
    for (const s of LB_STRUCTS) expect({ struct: s.cName, ...declaredShape(s) }).toEqual({ struct: s.cName, ...btf.get(s.cName) });
  });

  it('every struct declared for xlb_decap.o has the size and the members, at the offsets, of its BTF', () => {
    const btf = btfStructs(bpfObjectPath('xlb_decap'));
    for (const s of DECAP_STRUCTS) expect({ struct: s.cName, ...declaredShape(s) }).toEqual({ struct: s.cName, ...btf.get(s.cName) });
  });

  it('every struct declared for xlb_health.o has the size and the members, at the offsets, of its BTF', () => {
    const btf = btfStructs(bpfObjectPath('xlb_health'));
    expect(HEALTH_STRUCTS.length).toBe(3);
    for (const s of HEALTH_STRUCTS) expect({ struct: s.cName, ...declaredShape(s) }).toEqual({ struct: s.cName, ...btf.get(s.cName) });
  });

  it('HEALTH_COUNTER_NAMES follows enum health_stat in bpf/health/structs.h', () => {
    const src = readFileSync(join(repoRoot, 'bpf/health/structs.h'), 'utf8');
    const entries = [...src.matchAll(/^\s*HEALTH_STAT_([A-Z0-9_]+)\s*=\s*(\d+),/gm)].map((m) => [m[1]!, Number(m[2])] as const);
    expect(entries.find(([n]) => n === 'MAX')![1]).toBe(HEALTH_COUNTER_NAMES.length);
    for (const [name, index] of entries) if (name !== 'MAX') expect(HEALTH_COUNTER_NAMES[index]).toBe(name.replace(/_/g, '').toLowerCase());
  });

  it('STAT_NAMES follows enum lb_stat in bpf/lb/counters.h, name by name', () => {
    const src = readFileSync(join(repoRoot, 'bpf/lb/counters.h'), 'utf8');
    const entries = [...src.matchAll(/^\s*STAT_([A-Z0-9_]+)\s*=\s*(\d+),/gm)].map((m) => [m[1]!, Number(m[2])] as const);
    const max = entries.find(([n]) => n === 'MAX')![1];
    expect(max).toBe(STAT_NAMES.length);
    for (const [name, index] of entries) {
      if (name === 'MAX') continue;
      const [group, ts] = STAT_NAMES[index]!;
      expect(name.replace(/_/g, '').toLowerCase()).toBe(`${group}${ts}`.toLowerCase());
    }
  });
});

describe('load-time sizes', () => {
  let dp: LbDatapath;
  beforeAll(() => {
    dp = LbDatapath.load({ seed: 1, tableSize: 2039, mtu: 1400, maxServices: 33, maxBackends: 777, flowTableSize: 8192 });
    configure(dp);
  });
  afterAll(() => dp?.close());

  it('map sizes and key/value sizes are what load() asked for, as the kernel reports them', () => {
    const info = dp.mapInfo();
    for (const m of ['services', 'vips', 'maglev_outer', 'service_stats'] as const) expect(info[m].maxEntries).toBe(33);
    for (const m of ['backends', 'backend_stats'] as const) expect(info[m].maxEntries).toBe(777);
    // 8192 flows: 2048 buckets of 4 ways.
    expect(info.flows.maxEntries).toBe(2048);
    expect(info.flows.type).toBe('array');
    expect(dp.options.flowTableSize).toBe(8192);
    for (const name of Object.keys(MAPS) as MapName[]) {
      expect({ name, key: info[name].keySize, value: info[name].valueSize }).toEqual({ name, ...mapSizes(name) });
    }
    expect(dp.options).toMatchObject({ seed: 1, tableSize: 2039, mtu: 1400 });
  });

  it('inner Maglev tables have tableSize slots', () => {
    dp.upsertService({ id: 32, vip: '10.0.0.1', port: 1, protocol: 'udp' });
    dp.setBackends(32, [{ id: 776, address: '10.1.0.1', weight: 1 }]);
    const table = dp.maglevTable(32)!;
    expect(table.length).toBe(2039);
    expect(new Set(table)).toEqual(new Set([776]));
  });

  it('the MTU constant is the one loaded (1400: a 1381-byte DF packet is answered)', () => {
    const client = '192.0.2.1';
    const frame = (len: number) =>
      ether({ dst: IF_MAC, src: CLIENT_MAC }, ETH_P_IP, ipv4({ src: client, dst: '10.0.0.1', proto: 17 }, Buffer.concat([Buffer.from([0, 9, 0, 1, (len - 28) >> 8, (len - 28) & 0xff, 0, 0]), Buffer.alloc(len - 28)])));
    expect(dp.testRun(frame(1380)).verdict).toBe('tx');
    const r = dp.testRun(frame(1381));
    expect(r.verdict).toBe('tx');
    expect(r.frame[14 + 9]).toBe(1); // ICMP
    expect(r.frame.readUInt16BE(14 + 20 + 6)).toBe(1380);
  });

  it('ids beyond the loaded sizes are refused', () => {
    expect(() => dp.upsertService({ id: 33, vip: '10.0.0.2', port: 1, protocol: 'udp' })).toThrow(/service\.id: 33 is not an integer 0 … 32/);
    expect(() => dp.setBackends(32, [{ id: 777, address: '10.1.0.1', weight: 1 }])).toThrow(/backends\[0\]\.id/);
  });
});

describe('pin and adopt', () => {
  const dir = `/sys/fs/bpf/xlb-test-dp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  afterAll(() => LbDatapath.unpin(dir));

  it('a closed datapath keeps working from its pins; adopt() recovers options, services, backends and config', () => {
    const client = '192.0.2.5';
    const syn = (sport: number) =>
      ether({ dst: IF_MAC, src: CLIENT_MAC }, ETH_P_IP, ipv4({ src: client, dst: '10.0.0.10', proto: PROTO_TCP }, tcp({ src: client, dst: '10.0.0.10', sport, dport: 80, flags: 0x10 /* ACK: an established flow */ })));

    const original = loadDatapath({ seed: 4242, tableSize: 509 });
    let outputs: Buffer[];
    try {
      original.setConfig({ ifMac: IF_MAC, gatewayMac: GW_MAC, sourceV4: '10.255.0.1', sourceCidrV6: 'fd00:ff::/120' });
      original.upsertService({ id: 3, vip: '10.0.0.10', port: 80, protocol: 'tcp', sourceHash: false });
      original.setBackends(3, [
        { id: 7, address: '10.1.0.7', weight: 2 },
        { id: 8, address: 'fd00:1::8', weight: 1 },
        { id: 9, address: '10.1.0.9', weight: 1, state: 'draining' },
      ]);
      original.upsertService({ id: 4, vip: '2001:db8::4', port: 0, protocol: 'udp', sourceHash: true });
      outputs = [1, 2, 3, 4, 5].map((p) => original.testRun(syn(p)).frame);
      original.pin(dir);
    } finally {
      original.close();
    }

    const adopted = LbDatapath.adopt(dir);
    try {
      expect(adopted.options).toEqual({
        seed: 4242, tableSize: 509, mtu: 1500, maxServices: 64, maxBackends: 256, flowTableSize: 4096, stateless: false,
        icmpTooBigRate: 200, icmpTooBigBurst: 50, synTakeoverIdleMs: 60000, recorderRingBytes: 4 << 20, recorder: true,
      });
      expect(adopted.services().sort((a, b) => a.id - b.id)).toEqual([
        { id: 3, vip: '10.0.0.10', port: 80, protocol: 'tcp', sourceHash: false, tableSize: 509 },
        { id: 4, vip: '2001:db8::4', port: 0, protocol: 'udp', sourceHash: true, tableSize: 509 },
      ]);
      expect(adopted.backends(3).sort((a, b) => a.id - b.id)).toEqual([
        { id: 7, address: '10.1.0.7', weight: 2, state: 'active' },
        { id: 8, address: 'fd00:1::8', weight: 1, state: 'active' },
        { id: 9, address: '10.1.0.9', weight: 1, state: 'draining' },
      ]);
      expect(adopted.getConfig()).toEqual({ ifMac: IF_MAC, gatewayMac: GW_MAC, sourceV4: '10.255.0.1', sourceCidrV6: 'fd00:ff::/120' });
      // Same flows, same bytes (flow table hits now).
      [1, 2, 3, 4, 5].forEach((p, i) => expect(adopted.testRun(syn(p)).frame.equals(outputs[i]!)).toBe(true));
      expect(adopted.readCounters().services.get(3)!.packets).toBe(10);
      // The live table was mapped again from its pin: single slots can be rewritten in place.
      const slot0 = adopted.maglevTable(3)![0]!;
      const other = slot0 === 7 ? 8 : 7;
      expect(adopted.writeSlots(3, [0], [other])).toBe(1);
      expect(adopted.maglevTable(3)![0]).toBe(other);
      // The adopted object manages the datapath: swap in a new table of the loaded size.
      adopted.setBackends(3, [{ id: 7, address: '10.1.0.7', weight: 1 }]);
      expect(adopted.maglevTable(3)!.length).toBe(509);
      expect(() => adopted.setBackends(4, [{ id: 7, address: '10.1.0.7', weight: 1 }])).toThrow(/belongs to service id 3/);
    } finally {
      adopted.close();
    }
  });

  it('upgrade() loads a new program on the pinned maps: state, flows and counters carry over; pin() replaces the program pin', () => {
    const client = '192.0.2.6';
    const syn = (sport: number) =>
      ether({ dst: IF_MAC, src: CLIENT_MAC }, ETH_P_IP, ipv4({ src: client, dst: '10.0.0.10', proto: PROTO_TCP }, tcp({ src: client, dst: '10.0.0.10', sport, dport: 80, flags: 0x10 /* ACK: an established flow */ })));
    const old = LbDatapath.adopt(dir);
    let oldId = 0;
    let before: Buffer;
    try {
      oldId = old.program.id;
      before = old.testRun(syn(9)).frame;
    } finally {
      old.close();
    }
    const next = LbDatapath.upgrade(dir);
    const nextId = next.program.id;
    try {
      expect(next.program.id).not.toBe(oldId);
      expect(next.options.tableSize).toBe(509);
      expect(next.services().map((s) => s.id).sort()).toEqual([3, 4]);
      const c0 = next.readCounters();
      expect(next.testRun(syn(9)).frame.equals(before)).toBe(true);
      const c1 = next.readCounters();
      expect(c1.flow.hit.packets - c0.flow.hit.packets).toBe(1); // the flow table survived
      expect(c1.services.get(3)!.packets).toBeGreaterThan(10); // so did the counters
      next.pin(dir);
    } finally {
      next.close();
    }
    const again = LbDatapath.adopt(dir);
    try {
      expect(again.program.id).toBe(nextId);
    } finally {
      again.close();
    }
  });

  it('adopt of a directory without pins fails naming the path', () => {
    expect(() => LbDatapath.adopt(`${dir}-missing`)).toThrow(/missing/);
  });
});

describe('bad input changes nothing', () => {
  let dp: LbDatapath;
  beforeAll(() => {
    dp = loadDatapath();
    configure(dp);
    dp.upsertService({ id: 1, vip: '10.0.0.10', port: 80, protocol: 'tcp' });
    dp.setBackends(1, [{ id: 1, address: '10.1.0.1', weight: 1 }]);
    dp.upsertService({ id: 2, vip: '10.0.0.20', port: 80, protocol: 'tcp' });
  });
  afterAll(() => dp?.close());

  const snapshot = () => {
    const info = dp.mapInfo();
    const maps = [info.services.id, info.vips.id, info.backends.id].map((id) => BpfMap.fromId(id));
    try {
      return JSON.stringify([
        dp.services(),
        dp.backends(1),
        dp.backends(2),
        dp.getConfig(),
        maps.map((m) => m.lookupBatch().values.map((v) => v.toString('hex')).sort()),
        dp.maglevTable(1),
      ]);
    } finally {
      maps.forEach((m) => m.close());
    }
  };

  const bad: [string, () => unknown, RegExp][] = [
    ['service id out of range', () => dp.upsertService({ id: 64, vip: '10.0.0.30', port: 1, protocol: 'tcp' }), /service\.id/],
    ['service VIP not an address', () => dp.upsertService({ id: 5, vip: '10.0.0.300', port: 1, protocol: 'tcp' }), /service\.vip/],
    ['service port out of range', () => dp.upsertService({ id: 5, vip: '10.0.0.30', port: 65536, protocol: 'tcp' }), /service\.port/],
    ['service protocol unknown', () => dp.upsertService({ id: 5, vip: '10.0.0.30', port: 1, protocol: 'sctp' as 'tcp' }), /service\.protocol/],
    ['service key taken by another id', () => dp.upsertService({ id: 5, vip: '10.0.0.10', port: 80, protocol: 'tcp' }), /already service id 1/],
    ['backends for an unknown service', () => dp.setBackends(9, [{ id: 3, address: '10.1.0.3', weight: 1 }]), /serviceId/],
    ['duplicate backend id', () => dp.setBackends(1, [{ id: 3, address: '10.1.0.3', weight: 1 }, { id: 3, address: '10.1.0.4', weight: 1 }]), /backends\[1\]\.id: duplicate/],
    ['backend id of another service', () => dp.setBackends(2, [{ id: 1, address: '10.1.0.3', weight: 1 }]), /belongs to service id 1/],
    ['backend weight too big', () => dp.setBackends(1, [{ id: 3, address: '10.1.0.3', weight: 70000 }]), /backends\[0\]\.weight/],
    ['backend address listed twice', () => dp.setBackends(1, [{ id: 3, address: '10.1.0.3', weight: 1 }, { id: 4, address: '10.1.0.3', weight: 1 }]), /listed twice/],
    ['backend state unknown', () => dp.setBackends(1, [{ id: 3, address: '10.1.0.3', weight: 1, state: 'gone' as 'active' }]), /backends\[0\]\.state/],
    ['config MAC malformed', () => dp.setConfig({ ifMac: '02:00:00:00:01', gatewayMac: GW_MAC }), /ifMac/],
    ['config IPv6 as IPv4 source', () => dp.setConfig({ ifMac: IF_MAC, gatewayMac: GW_MAC, sourceV4: 'fd00::1' }), /sourceV4/],
    ['config fixed and CIDR source', () => dp.setConfig({ ifMac: IF_MAC, gatewayMac: GW_MAC, sourceV4: '10.0.0.1', sourceCidrV4: '10.0.0.0/24' }), /not both/],
    ['config IPv6 CIDR too short', () => dp.setConfig({ ifMac: IF_MAC, gatewayMac: GW_MAC, sourceCidrV6: 'fd00::/64' }), /\/96 or longer/],
    ['config CIDR with host bits', () => dp.setConfig({ ifMac: IF_MAC, gatewayMac: GW_MAC, sourceCidrV4: '10.0.0.1/24' }), /host bits/],
  ];

  it.each(bad)('%s → ValidationError naming the field, maps unchanged', (_name, call, message) => {
    const before = snapshot();
    let err: unknown;
    try {
      call();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toMatch(message);
    expect(snapshot()).toBe(before);
  });

  it('invalid load options are refused before anything is loaded', () => {
    const base = { seed: 1, maxServices: 8, maxBackends: 8, flowTableSize: 1024 };
    expect(() => LbDatapath.load({ ...base, tableSize: 1000 })).toThrow(/tableSize: 1000 is not one of/);
    expect(() => LbDatapath.load({ ...base, mtu: 1280 })).toThrow(/mtu: 1280 is not an integer 1320/);
    expect(() => LbDatapath.load({ ...base, seed: -1 })).toThrow(/seed/);
    expect(() => LbDatapath.load({ ...base, flowTableSize: 0 })).toThrow(/flowTableSize/);
    expect(() => LbDatapath.load({ ...base, bogus: 1 } as never)).toThrow(/bogus: unknown option/);
  });
});
