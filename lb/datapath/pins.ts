// Loading and pinning plumbing: the .rodata constants, the pinned-map set of a pin directory and
// the check that the object's maps match layout.ts.
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { BpfMap, type BpfObject } from '../../bpf/libbpf-ts/index.js';
import { CONST, LAYOUT_VERSION, LOAD_F_NO_FLOW_TABLE, LOAD_F_NO_RECORDER, LbMeta, MAP, MAP_NAMES, mapSizes, u32Key, type MapName } from './layout.js';
import { flowTableBuckets, type ResolvedLoadOptions } from './options.js';

export { MAP_NAMES };
/** The program's pin, next to the maps' pins (named after the maps). */
export const PROG_PIN = 'prog';

/** Writes the .rodata constants; returns the flags word. */
export function setConstants(obj: BpfObject, opts: ResolvedLoadOptions): number {
  const flags = (opts.stateless ? LOAD_F_NO_FLOW_TABLE : 0) | (opts.recorder ? 0 : LOAD_F_NO_RECORDER);
  obj.setConst(CONST.hashSeed, opts.seed);
  obj.setConst(CONST.mtu, opts.mtu);
  obj.setConst(CONST.flags, flags);
  obj.setConst(CONST.flowShift, 64 - Math.log2(flowTableBuckets(opts.flowTableSize)));
  const costNs = Math.ceil(1e9 / opts.icmpTooBigRate);
  obj.setConst(CONST.icmpCostNs, BigInt(costNs));
  obj.setConst(CONST.icmpCapNs, BigInt(costNs) * BigInt(opts.icmpTooBigBurst));
  obj.setConst(CONST.synIdleNs, BigInt(opts.synTakeoverIdleMs) * 1_000_000n);
  return flags;
}

/** Opens every pinned map of `dir`, checks the layout, and recovers the load options. */
export function openPinnedMaps(dir: string): { maps: Record<MapName, BpfMap>; options: ResolvedLoadOptions } {
  const maps = {} as Record<MapName, BpfMap>;
  try {
    // The version first, before any other map is opened (the first word of lb_meta in every
    // layout): it names the cause of any mismatch, also when a map of this layout is not pinned there.
    maps[MAP.meta] = BpfMap.openPinned(join(dir, MAP.meta));
    const raw = maps[MAP.meta].lookup(u32Key(0))!;
    const version = raw.readUInt32LE(0);
    if (version !== LAYOUT_VERSION) {
      throw new Error(`${dir}: pinned maps have layout version ${version}, this xlb uses ${LAYOUT_VERSION}`);
    }
    for (const n of MAP_NAMES) if (n !== MAP.meta) maps[n] = BpfMap.openPinned(join(dir, n));
    checkMapSizes(maps);
    const meta = LbMeta.decode(raw);
    const options: ResolvedLoadOptions = {
      seed: meta.hashSeed,
      tableSize: meta.maglevSize,
      mtu: meta.mtu,
      maxServices: maps[MAP.services].maxEntries,
      maxBackends: maps[MAP.backends].maxEntries,
      flowTableSize: meta.flowTableSize,
      stateless: (meta.flags & LOAD_F_NO_FLOW_TABLE) !== 0,
      icmpTooBigRate: meta.icmpRate,
      icmpTooBigBurst: meta.icmpBurst,
      synTakeoverIdleMs: meta.synIdleMs,
      recorderRingBytes: maps[MAP.recRing].maxEntries,
      recorder: (meta.flags & LOAD_F_NO_RECORDER) === 0,
    };
    return { maps, options };
  } catch (e) {
    for (const m of Object.values(maps)) m.close();
    throw e;
  }
}

export function unlinkIfPresent(path: string): void {
  try {
    unlinkSync(path); // removing a bpffs pin is an unlink
  } catch (e) {
    if ((e as { code?: string }).code !== 'ENOENT') throw e;
  }
}

export function checkMapSizes(maps: Record<MapName, BpfMap>): void {
  for (const n of MAP_NAMES) {
    const m = maps[n];
    const want = mapSizes(n);
    if (m.keySize !== want.key || m.valueSize !== want.value) {
      throw new Error(
        `map ${n}: key/value ${m.keySize}/${m.valueSize} bytes, layout.ts expects ${want.key}/${want.value} ` +
          '(bpf/lb and lb/datapath/layout.ts disagree)',
      );
    }
  }
}
