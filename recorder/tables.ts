// The recorder's kernel state (bpf/lb/recorder.h): the rule index, its shapes and its filter, the
// recording slots, each recording's ring, the global switch and the per-recording counters,
// written in the order the datapath relies on while traffic flows:
//   activate:   counters zeroed → ring in place → index keys get the slot's bit (slot still
//               inactive) → the filter bits of new keys set → new shapes written → nmasks raised
//               → recording entry written (the packet path starts recording here)
//   deactivate: recording entry zeroed (stops here) → the slot's bits cleared, keys without
//               recordings deleted, filter bits no remaining key has cleared → shapes no longer
//               used removed (the last shape copied into the hole, then nmasks lowered)
//   releaseRing (after the final drain): the ring leaves rec_rings
// rec_ctl (the section .data.rec: switch, filter, shapes) is written in place through a mapping,
// one aligned 32-bit store per word of the switch and of a shape, one atomic 64-bit OR / AND per
// filter word: a packet reads every word old or new, never a mix.
// A freed recording slot goes to the back of the queue, so records in flight never meet a reused
// slot soon after.
import type { BpfMap, MapMapping } from '../bpf/libbpf-ts/index.js';
import {
  REC_CTL_FILTER_OFFSET,
  REC_CTL_SHAPES_OFFSET,
  REC_F_HOST_TRAFFIC,
  REC_FILTER_WORDS,
  REC_MAP_NAMES,
  REC_MAX_RECORDINGS,
  REC_MAX_RULES,
  RecCounter,
  RecCtl,
  RecKey,
  RecRecording,
  RecShape,
  mapSizes,
  recFilterBit,
  recShape,
  type KernelKey,
  type KernelMask,
  type KernelRecording,
  type RecorderMapName,
} from '../lb/datapath/index.js';
import type { KernelRuleEncoding } from './rules.js';

export type RecorderMaps = Record<RecorderMapName, BpfMap>;

const NO_RECORDING = RecRecording.encode({ id: 0, snaplen: 0, points: 0, wakeupBytes: 0 });
const CTL = '.data.rec';

export function checkRecorderMaps(maps: RecorderMaps): void {
  for (const name of REC_MAP_NAMES) {
    const m = maps[name];
    if (!m) throw new Error(`recorder map ${name} is missing (is the datapath built with bpf/lb/recorder.h?)`);
    const want = mapSizes(name);
    if (m.keySize !== want.key || m.valueSize !== want.value) {
      throw new Error(
        `recorder map ${name}: key/value ${m.keySize}/${m.valueSize} bytes, lb/datapath/recorder-layout.ts expects ${want.key}/${want.value}`,
      );
    }
  }
  if (maps.rec_index.maxEntries !== REC_MAX_RULES || maps.rec_recordings.maxEntries !== REC_MAX_RECORDINGS) {
    throw new Error('recorder maps: slot counts differ from lb/datapath/recorder-layout.ts');
  }
}

const key32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

const maskId = (m: KernelMask) => `${m.srcPlen}/${m.dstPlen}/${m.family}/${m.fields}`;

interface IndexEntry {
  key: Buffer;
  mask: string;
  slots: bigint;
  /** its bit in the filter */
  bit: number;
}

const SHAPE_WORDS = RecShape.size / 4;

export class RecorderTables {
  readonly maps: RecorderMaps;
  /** rec_index as written: key bytes (hex) → entry. */
  readonly #index = new Map<string, IndexEntry>();
  /** rec_ctl.shapes[0, masks.length) as written. */
  #masks: KernelMask[] = [];
  /** Filter bit → how many keys of rec_index have it (a bit is cleared when its last key goes). */
  readonly #filterRefs = new Map<number, number>();
  /** rec_ctl mapped: as 32-bit words (switch, shapes) and the filter's 64-bit words. */
  readonly #ctl: MapMapping;
  readonly #words: Uint32Array;
  readonly #filter: BigUint64Array;
  /** Per active slot: its index keys and how many rules it asked for. */
  readonly #slots = new Map<number, { keys: Set<string>; rules: number }>();
  /** FIFO of free recording slots. */
  #freeRecordings: number[] = [];
  #rulesInUse = 0;
  #flags = 0;

  constructor(maps: RecorderMaps, o: { hostTraffic?: boolean } = {}) {
    checkRecorderMaps(maps);
    this.maps = maps;
    this.#flags = o.hostTraffic ? REC_F_HOST_TRAFFIC : 0;
    this.#ctl = maps[CTL].mmap();
    this.#words = new Uint32Array(this.#ctl.buffer, 0, RecCtl.size / 4);
    this.#filter = new BigUint64Array(this.#ctl.buffer, REC_CTL_FILTER_OFFSET, REC_FILTER_WORDS);
    this.reset();
  }

  /** Unmaps rec_ctl (the recorder is done with the datapath; the kernel's state stays as it is). */
  close(): void {
    this.#ctl.unmap();
  }

  /** Clears everything (a restarted daemon may find rules and rings of recordings that died with it). */
  reset(): void {
    this.#masks = [];
    this.#writeCtl();
    const recs = Array.from({ length: REC_MAX_RECORDINGS }, (_, i) => i);
    this.maps.rec_recordings.updateBatch(recs.map(key32), recs.map(() => NO_RECORDING));
    for (const k of [...this.maps.rec_index.keys()]) this.maps.rec_index.delete(k);
    for (const slot of recs) this.maps.rec_rings.delete(key32(slot));
    for (let w = 0; w < REC_FILTER_WORDS; w++) Atomics.store(this.#filter, w, 0n);
    this.#filterRefs.clear();
    this.#index.clear();
    this.#slots.clear();
    this.#rulesInUse = 0;
    this.#freeRecordings = recs;
  }

  get freeRuleCount(): number {
    return REC_MAX_RULES - this.#rulesInUse;
  }

  get freeRecordingCount(): number {
    return this.#freeRecordings.length;
  }

  /** Distinct rule shapes the datapath searches per packet (0: the recorder is off). */
  get maskCount(): number {
    return this.#masks.length;
  }

  /** Whether recordings see packets that are not for a VIP (rec_ctl.flags REC_F_HOST_TRAFFIC). */
  get hostTraffic(): boolean {
    return (this.#flags & REC_F_HOST_TRAFFIC) !== 0;
  }

  set hostTraffic(on: boolean) {
    this.#flags = on ? this.#flags | REC_F_HOST_TRAFFIC : this.#flags & ~REC_F_HOST_TRAFFIC;
    this.#writeCtl();
  }

  /** rec_index as the kernel holds it (tests, `status`): keys and the recording slots of each. */
  indexEntries(): { key: KernelKey; slots: bigint }[] {
    const { keys, values } = this.maps.rec_index.lookupBatch();
    return keys.map((k, i) => ({ key: RecKey.decode(k), slots: values[i]!.readBigUInt64LE(0) }));
  }

  /** The global switch as the kernel holds it. */
  kernelCtl(): { nmasks: number; flags: number } {
    const { nmasks, flags } = RecCtl.decode(this.maps[CTL].lookup(key32(0))!);
    return { nmasks, flags };
  }

  /** The filter bits set, as the kernel holds them (tests). */
  kernelFilterBits(): number[] {
    const filter = RecCtl.decode(this.maps[CTL].lookup(key32(0))!).filter;
    const bits: number[] = [];
    for (let w = 0; w < REC_FILTER_WORDS; w++) {
      const v = filter.readBigUInt64LE(w * 8);
      for (let b = 0; b < 64; b++) if ((v >> BigInt(b)) & 1n) bits.push(w * 64 + b);
    }
    return bits;
  }

  /**
   * Takes a recording slot, puts `ring` in it and starts recording. The caller checked the free
   * counts. On failure everything written is undone (the ring stays the caller's).
   */
  activate(rec: KernelRecording, rules: readonly KernelRuleEncoding[], ring: BpfMap): number {
    if (rules.length > this.freeRuleCount || this.#freeRecordings.length === 0) {
      throw new Error('RecorderTables.activate: not enough free slots (check before calling)');
    }
    const slot = this.#freeRecordings.shift()!;
    const mine = { keys: new Set<string>(), rules: rules.length };
    this.#slots.set(slot, mine);
    this.#rulesInUse += rules.length;
    try {
      this.maps.rec_stats.update(key32(slot), Buffer.alloc(RecCounter.size)); // zero on every CPU
      this.maps.rec_rings.setInner(key32(slot), ring);
      const bit = 1n << BigInt(slot);
      for (const r of rules) {
        const key = RecKey.encode(r.key);
        const hex = key.toString('hex');
        if (mine.keys.has(hex)) continue;
        const known = this.#index.get(hex);
        const entry = known ?? { key, mask: maskId(r.mask), slots: 0n, bit: recFilterBit(key, r.mask) };
        this.maps.rec_index.update(key, u64(entry.slots | bit));
        entry.slots |= bit;
        if (!known) {
          this.#index.set(hex, entry);
          this.#filterRef(entry.bit, +1);
        }
        mine.keys.add(hex);
        if (!this.#masks.some((m) => maskId(m) === entry.mask)) {
          this.#writeShape(this.#masks.length, r.mask);
          this.#masks.push(r.mask);
        }
      }
      this.#writeCtl();
      this.maps.rec_recordings.update(key32(slot), RecRecording.encode(rec));
    } catch (e) {
      try {
        this.deactivate(slot);
        this.releaseRing(slot);
      } finally {
        this.freeSlot(slot);
      }
      throw e;
    }
    return slot;
  }

  /** Stops the packet path recording into `slot` (records already in flight still arrive). */
  deactivate(slot: number): void {
    const mine = this.#slots.get(slot);
    if (!mine) return;
    this.maps.rec_recordings.update(key32(slot), NO_RECORDING);
    const bit = 1n << BigInt(slot);
    for (const hex of mine.keys) {
      const entry = this.#index.get(hex)!;
      entry.slots &= ~bit;
      if (entry.slots === 0n) {
        this.maps.rec_index.delete(entry.key);
        this.#index.delete(hex);
        this.#filterRef(entry.bit, -1);
      } else {
        this.maps.rec_index.update(entry.key, u64(entry.slots));
      }
    }
    this.#slots.delete(slot);
    this.#rulesInUse -= mine.rules;
    const used = new Set([...this.#index.values()].map((e) => e.mask));
    for (let i = this.#masks.length - 1; i >= 0; i--) {
      if (used.has(maskId(this.#masks[i]!))) continue;
      const last = this.#masks.length - 1;
      if (i !== last) {
        // The last shape is copied into the hole first (present twice for a moment), so every
        // shape a live rule needs stays within [0, nmasks), in an entry not being written.
        this.#writeShape(i, this.#masks[last]!);
        this.#masks[i] = this.#masks[last]!;
      }
      this.#masks.pop();
      this.#writeCtl();
    }
  }

  /** Takes the ring out of the datapath (after the final drain). */
  releaseRing(slot: number): void {
    this.maps.rec_rings.delete(key32(slot));
  }

  /** Returns the recording slot to the pool (after its last records were drained and counted). */
  freeSlot(slot: number): void {
    if (!this.#freeRecordings.includes(slot)) this.#freeRecordings.push(slot);
  }

  /** matched / lost of a slot, summed over CPUs. */
  counters(slot: number): { matched: bigint; lost: bigint } {
    return RecCounter.sum(this.maps.rec_stats.lookupPerCpu(key32(slot)) ?? []);
  }

  #writeCtl(): void {
    Atomics.store(this.#words, 1, this.#flags);
    Atomics.store(this.#words, 0, this.#masks.length);
  }

  /** rec_ctl.shapes[i] = the shape of `mask` (an entry outside [0, nmasks) or one no live rule needs). */
  #writeShape(i: number, mask: KernelMask): void {
    const b = RecShape.encode(recShape(mask));
    const at = REC_CTL_SHAPES_OFFSET / 4 + i * SHAPE_WORDS;
    for (let w = 0; w < SHAPE_WORDS; w++) Atomics.store(this.#words, at + w, b.readUInt32LE(w * 4));
  }

  /** One more or one fewer key with filter bit `bit`: the bit is set with the first, cleared with the last. */
  #filterRef(bit: number, delta: 1 | -1): void {
    const n = (this.#filterRefs.get(bit) ?? 0) + delta;
    const word = bit >>> 6;
    const mask = 1n << BigInt(bit & 63);
    if (n > 0) {
      this.#filterRefs.set(bit, n);
      if (n === 1) Atomics.or(this.#filter, word, mask);
    } else {
      this.#filterRefs.delete(bit);
      Atomics.and(this.#filter, word, ~mask & 0xffffffffffffffffn);
    }
  }
}

function u64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
}
