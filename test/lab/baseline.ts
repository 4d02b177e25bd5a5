// The datapath as it was at commit 84970d5 (map layout version 2), for two purposes: the
// benchmarks measure it in the same run as today's program (the performance targets are ratios to
// it), and a daemon test pins it as "an older xlb" that xlbd must replace rather than adopt.
//
// fixtures/xlb_lb-84970d5.o was built from that commit's own sources with its own Makefile
// (`git archive 84970d5 bpf | tar -x -C /tmp/b && make -C /tmp/b/bpf ../build/bpf/xlb_lb.o`,
// Debian clang 14.0.6). The layout below is version 2's, frozen here: lb/datapath moves on.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BpfObject, MapFlags, BpfMap, bytes, be16, pad, struct, u16, u32, u8, type BpfProgram } from '../../bpf/libbpf-ts/index.js';
import { buildMaglevTable } from '../../lb/maglev/index.js';
import { parseIp } from '../../lb/model/index.js';
import { repoRoot } from './paths.js';

// From the repository root: the compiled benchmarks run from dist/, where the fixture is not copied.
export const BASELINE_OBJECT = join(repoRoot, 'test', 'lab', 'fixtures', 'xlb_lb-84970d5.o');
export const BASELINE_COMMIT = '84970d5';
export const BASELINE_LAYOUT_VERSION = 2;

const addr16 = () => bytes(16, 4);
const ServiceKey = struct('service_key', { addr: addr16(), port: be16, proto: u8, family: u8 });
const ServiceValue = struct('service_value', { serviceId: u32, flags: u32 });
const VipKey = struct('vip_key', { addr: addr16(), family: u8, pad: pad(3) });
const VipValue = struct('vip_value', { services: u32 });
const BackendValue = struct('backend_value', { addr: addr16(), family: u8, flags: u8, weight: u16, serviceId: u32 });
const LbConfig = struct('lb_config', {
  ifMac: bytes(6), gwMac: bytes(6), srcV4: bytes(4, 4), srcV4Hostmask: bytes(4, 4), srcV6: addr16(), srcV6Hostmask: bytes(4, 4), flags: u32,
});
const LbMeta = struct('lb_meta', { layoutVersion: u32, hashSeed: u32, maglevSize: u32, mtu: u32, flags: u32 });

const STAT_SLOTS = { 'flow.hit': 23, 'flow.new': 26, 'tx.ipip': 8, 'tx.ip6ip6': 9, 'pass.notVip': 5 } as const;
export type BaselineCounter = keyof typeof STAT_SLOTS;

export interface BaselineOptions {
  seed: number;
  tableSize: number;
  maxServices: number;
  maxBackends: number;
  flowTableSize: number;
  mtu?: number;
}

function u32Key(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

function address(text: string): { family: 4 | 6; bytes: Buffer } {
  const ip = parseIp(text, 'address');
  const b = Buffer.alloc(16);
  Buffer.from(ip.bytes).copy(b);
  return { family: ip.family, bytes: b };
}

function mac(text: string): Buffer {
  return Buffer.from(text.split(':').map((h) => parseInt(h, 16)));
}

/** xlb_lb at 84970d5, loaded and programmed through its own (version 2) map layout. */
export class BaselineDatapath {
  readonly program: BpfProgram;
  readonly #obj: BpfObject;
  readonly #tableSize: number;
  readonly #seed: number;

  private constructor(obj: BpfObject, o: BaselineOptions) {
    this.#obj = obj;
    this.program = obj.program('xlb_lb');
    this.#tableSize = o.tableSize;
    this.#seed = o.seed;
  }

  static load(o: BaselineOptions): BaselineDatapath {
    const obj = BpfObject.open(BASELINE_OBJECT);
    try {
      obj.setConst('cfg_hash_seed', o.seed);
      obj.setConst('cfg_maglev_size', o.tableSize);
      obj.setConst('cfg_mtu', o.mtu ?? 1500);
      obj.setConst('cfg_flags', 0);
      for (const m of ['services', 'vips', 'maglev_outer', 'service_stats']) obj.setMapMaxEntries(m, o.maxServices);
      for (const m of ['backends', 'backend_stats']) obj.setMapMaxEntries(m, o.maxBackends);
      obj.setMapMaxEntries('flows', o.flowTableSize);
      obj.load();
      obj.map('lb_meta').update(
        u32Key(0),
        LbMeta.encode({ layoutVersion: BASELINE_LAYOUT_VERSION, hashSeed: o.seed, maglevSize: o.tableSize, mtu: o.mtu ?? 1500, flags: 0 }),
      );
      return new BaselineDatapath(obj, o);
    } catch (e) {
      obj.close();
      throw e;
    }
  }

  setConfig(c: { ifMac: string; gatewayMac: string; sourceV4?: string; sourceV6?: string }): void {
    const v4 = c.sourceV4 ? address(c.sourceV4).bytes.subarray(0, 4) : Buffer.alloc(4);
    const v6 = c.sourceV6 ? address(c.sourceV6).bytes : Buffer.alloc(16);
    this.#obj.map('lb_config').update(
      u32Key(0),
      LbConfig.encode({
        ifMac: mac(c.ifMac), gwMac: mac(c.gatewayMac), srcV4: v4, srcV4Hostmask: Buffer.alloc(4), srcV6: v6, srcV6Hostmask: Buffer.alloc(4),
        flags: 1 | (c.sourceV4 ? 2 : 0) | (c.sourceV6 ? 4 : 0),
      }),
    );
  }

  /** A service (one per VIP and port here) with equally weighted backends, all active. */
  addService(s: { id: number; vip: string; port: number; protocol: 'tcp' | 'udp'; backends: { id: number; address: string }[] }): void {
    const vip = address(s.vip);
    const proto = s.protocol === 'tcp' ? 6 : 17;
    this.#obj.map('services').update(ServiceKey.encode({ addr: vip.bytes, port: s.port, proto, family: vip.family }), ServiceValue.encode({ serviceId: s.id, flags: 0 }));
    const vipKey = VipKey.encode({ addr: vip.bytes, family: vip.family });
    const vips = this.#obj.map('vips');
    const n = vips.lookup(vipKey);
    vips.update(vipKey, VipValue.encode({ services: (n ? VipValue.decode(n).services : 0) + 1 }));
    const backends = this.#obj.map('backends');
    for (const b of s.backends) {
      const a = address(b.address);
      backends.update(u32Key(b.id), BackendValue.encode({ addr: a.bytes, family: a.family, flags: 1, weight: 1, serviceId: s.id }));
    }
    const { table } = buildMaglevTable({ backends: s.backends.map((b) => ({ key: b.address, id: b.id, weight: 1 })), size: this.#tableSize, seed: this.#seed });
    const inner = BpfMap.create({ type: 'array', keySize: 4, valueSize: 4, maxEntries: this.#tableSize, flags: MapFlags.INNER_MAP, name: `maglev_${s.id}` });
    try {
      const keys = new Uint32Array(this.#tableSize);
      for (let i = 0; i < keys.length; i++) keys[i] = i;
      inner.updateBatchPacked(keys, table);
      this.#obj.map('maglev_outer').setInner(u32Key(s.id), inner);
    } finally {
      inner.close();
    }
  }

  /** Packets counted in a global counter slot, summed over CPUs. */
  counter(name: BaselineCounter): number {
    const values = this.#obj.map('stats').lookupPerCpu(u32Key(STAT_SLOTS[name]))!;
    return values.reduce((sum, v) => sum + Number(v.readBigUInt64LE(0)), 0);
  }

  /** Pins the program ('prog') and every map, as xlb at 84970d5 pinned its datapath. */
  pin(dir: string): void {
    mkdirSync(dir, { recursive: true });
    this.program.pin(join(dir, 'prog'));
    for (const name of this.#obj.mapNames()) {
      if (name.includes('.')) continue; // .rodata and friends were never pinned
      this.#obj.map(name).pin(join(dir, name));
    }
  }

  close(): void {
    this.#obj.close();
  }
}
