// Loading and pinning plumbing: the .rodata constants, the pinned-map set of a pin directory and
// the check that the object's maps match layout.ts.
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { BpfMap, type BpfObject } from '../../bpf/libbpf-ts/index.js';
import { CONST, LAYOUT_VERSION, LOAD_F_NO_FLOW_TABLE, LOAD_F_NO_RECORDER, LbMeta, MAP, MAP_NAMES, mapSizes, u32Key, type MapName } from './layout.js';
import type { ResolvedLoadOptions } from './options.js';

export { MAP_NAMES };
/** The program's pin, next to the maps' pins (named after the maps). */
export const PROG_PIN = 'prog';

/** Writes the .rodata constants; returns the flags word. */
export function setConstants(obj: BpfObject, opts: ResolvedLoadOptions): number {
  const flags = (opts.stateless ? LOAD_F_NO_FLOW_TABLE : 0) | (opts.recorder ? 0 : LOAD_F_NO_RECORDER);
  obj.setConst(CONST.hashSeed, opts.seed);
  obj.setConst(CONST.mtu, opts.mtu);
  obj.setConst(CONST.flags, flags);
  return flags;
}

/** Opens every pinned map of `dir`, checks the layout, and recovers the load options. */
export function openPinnedMaps(dir: string): { maps: Record<MapName, BpfMap>; options: ResolvedLoadOptions } {
  const maps = {} as Record<MapName, BpfMap>;
  try {
    for (const n of MAP_NAMES) maps[n] = BpfMap.openPinned(join(dir, n));
    // The version first (lb_meta's own layout never changes): it names the cause of any mismatch.
    const meta = LbMeta.decode(maps[MAP.meta].lookup(u32Key(0))!);
    if (meta.layoutVersion !== LAYOUT_VERSION) {
      throw new Error(`${dir}: pinned maps have layout version ${meta.layoutVersion}, this xlb uses ${LAYOUT_VERSION}`);
    }
    checkMapSizes(maps);
    const options: ResolvedLoadOptions = {
      seed: meta.hashSeed,
      tableSize: meta.maglevSize,
      mtu: meta.mtu,
      maxServices: maps[MAP.services].maxEntries,
      maxBackends: maps[MAP.backends].maxEntries,
      flowTableSize: maps[MAP.flows].maxEntries,
      stateless: (meta.flags & LOAD_F_NO_FLOW_TABLE) !== 0,
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
