// Maglev tables as the datapath reads them: one inner array map per service (maglev_outer[id]),
// MAGLEV_GROUP_SLOTS u32 slots per element, created BPF_F_MMAPABLE so that this process maps the
// slots as a plain Uint32Array. A fresh table is filled through the mapping before any program can
// see it; a live table is changed slot by slot with one aligned 32-bit store each (Atomics.store),
// so a packet that reads a slot during the write sees its old or its new backend id, never a mix.
import { mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { BpfMap, MapFlags, type MapMapping } from '../../bpf/libbpf-ts/index.js';
import { MAGLEV_GROUP_BYTES, MAGLEV_GROUP_SLOTS } from './layout.js';
import { unlinkIfPresent } from './pins.js';

/** Sub-directory of a pin directory holding one pin per service table, named by service id. */
export const TABLE_PIN_DIR = 'maglev';

const PAGE = 4096;

/** Array elements of a table of `size` slots. */
export function tableGroups(size: number): number {
  return Math.ceil(size / MAGLEV_GROUP_SLOTS);
}

/**
 * Kernel memory of one service's table of `size` slots, as the kernel charges it (fdinfo
 * "memlock" of an mmapable array): one page for the map header, then the slots rounded up to
 * whole pages. M = 16381: 69 632 bytes (68 KiB); M = 65537: 270 336; M = 131071: 528 384.
 */
export function tableMemoryBytes(size: number): number {
  return PAGE + Math.ceil((tableGroups(size) * MAGLEV_GROUP_BYTES) / PAGE) * PAGE;
}

export class MaglevTable {
  readonly map: BpfMap;
  readonly size: number;
  readonly #mapping: MapMapping;
  /** The live slots: slots[s] is the backend id the datapath reads for slot s. */
  readonly #slots: Uint32Array;

  private constructor(map: BpfMap, size: number) {
    this.map = map;
    this.size = size;
    this.#mapping = map.mmap();
    this.#slots = new Uint32Array(this.#mapping.buffer, 0, size);
  }

  /** A new, unreferenced table holding `table` (length = size). */
  static create(serviceId: number, table: Uint32Array): MaglevTable {
    const map = BpfMap.create({
      type: 'array',
      keySize: 4,
      valueSize: MAGLEV_GROUP_BYTES,
      maxEntries: tableGroups(table.length),
      // As on the template in maps.h: the kernel compares the flags when the table is swapped in.
      flags: MapFlags.INNER_MAP | MapFlags.MMAPABLE,
      name: `maglev_${serviceId}`,
    });
    try {
      const t = new MaglevTable(map, table.length);
      t.#slots.set(table); // no program can see the map yet: a plain copy is fine
      return t;
    } catch (e) {
      map.close();
      throw e;
    }
  }

  /** Takes over an existing table map (adopt); undefined if it does not fit `size` slots. */
  static open(map: BpfMap, size: number): MaglevTable | undefined {
    if (map.type !== 'array' || map.valueSize !== MAGLEV_GROUP_BYTES || map.maxEntries !== tableGroups(size) || !(map.flags & MapFlags.MMAPABLE)) {
      return undefined;
    }
    return new MaglevTable(map, size);
  }

  /** A copy of the slots. */
  read(): Uint32Array {
    return this.#slots.slice();
  }

  slot(s: number): number {
    return this.#slots[s]!;
  }

  /** Writes ids[i] into slots[i], one atomic store each, in order. Returns how many changed. */
  write(slots: ArrayLike<number>, ids: ArrayLike<number>): number {
    let changed = 0;
    for (let i = 0; i < slots.length; i++) {
      if (this.#slots[slots[i]!] !== ids[i]) changed++;
      Atomics.store(this.#slots, slots[i]!, ids[i]!);
    }
    return changed;
  }

  /** Rewrites in place every slot where `table` differs from the live one. Returns that count. */
  writeDiff(table: Uint32Array): number {
    let changed = 0;
    for (let s = 0; s < table.length; s++) {
      if (this.#slots[s] !== table[s]) {
        Atomics.store(this.#slots, s, table[s]!);
        changed++;
      }
    }
    return changed;
  }

  memlockBytes(): number {
    return this.map.memlockBytes();
  }

  close(): void {
    this.#mapping.unmap();
    this.map.close();
  }
}

// ---- pins ------------------------------------------------------------------------------------

export function tablePinPath(dir: string, serviceId: number): string {
  return join(dir, TABLE_PIN_DIR, String(serviceId));
}

/**
 * Pins a service's table (replacing an older pin). The common case — a new pin in an existing
 * directory — is one system call: the directory is created and an older pin removed only when the
 * pin fails for want of them (a change pays for each system call it makes).
 */
export function pinTable(dir: string, serviceId: number, t: MaglevTable): void {
  const path = tablePinPath(dir, serviceId);
  try {
    t.map.pin(path);
    return;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code !== 'EEXIST' && code !== 'ENOENT') throw e;
  }
  mkdirSync(join(dir, TABLE_PIN_DIR), { recursive: true });
  unlinkIfPresent(path);
  t.map.pin(path);
}

/** Removes every table pin under `dir` and the sub-directory. */
export function unpinTables(dir: string): void {
  const sub = join(dir, TABLE_PIN_DIR);
  let names: string[];
  try {
    names = readdirSync(sub);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return;
    throw e;
  }
  for (const n of names) unlinkIfPresent(join(sub, n));
  rmdirSync(sub);
}
