// The recorder's kernel state: rule slots, recording slots, the scan limit and the per-recording
// counters, written in the order bpf/lb/recorder.h relies on while traffic flows:
//   activate:   counters zeroed → rules written (slot still inactive) → scan limit raised →
//               recording entry written (the packet path starts recording here)
//   deactivate: recording entry zeroed (stops here) → rules cleared → scan limit lowered
// Slots are handed out lowest-first so the scan limit stays small; a freed recording slot goes to
// the back of the queue, so ids of in-flight records never meet a reused slot soon after.
import type { BpfMap } from '../bpf/libbpf-ts/index.js';
import {
  REC_MAP_NAMES,
  REC_MAX_RECORDINGS,
  REC_MAX_RULES,
  RecCounter,
  RecCtl,
  RecRecording,
  RecRule,
  mapSizes,
  type KernelRecording,
  type KernelRule,
  type RecorderMapName,
} from '../lb/datapath/index.js';

export type RecorderMaps = Record<RecorderMapName, BpfMap>;

const NO_RECORDING = RecRecording.encode({ id: 0, snaplen: 0, points: 0 });
const NO_RULE = Buffer.alloc(RecRule.size);

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
  if (maps.rec_rules.maxEntries !== REC_MAX_RULES || maps.rec_recordings.maxEntries !== REC_MAX_RECORDINGS) {
    throw new Error('recorder maps: slot counts differ from lb/datapath/recorder-layout.ts');
  }
}

const key = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

export class RecorderTables {
  readonly maps: RecorderMaps;
  readonly #freeRules = new Set<number>();
  /** FIFO of free recording slots. */
  #freeRecordings: number[] = [];
  #ruleLimit = 0;

  constructor(maps: RecorderMaps) {
    checkRecorderMaps(maps);
    this.maps = maps;
    this.reset();
  }

  /** Clears everything (a restarted daemon may find rules of recordings that died with it). */
  reset(): void {
    this.#setLimit(0);
    const recs = Array.from({ length: REC_MAX_RECORDINGS }, (_, i) => i);
    this.maps.rec_recordings.updateBatch(recs.map(key), recs.map(() => NO_RECORDING));
    const rules = Array.from({ length: REC_MAX_RULES }, (_, i) => i);
    this.maps.rec_rules.updateBatch(rules.map(key), rules.map(() => NO_RULE));
    this.#freeRules.clear();
    for (const r of rules) this.#freeRules.add(r);
    this.#freeRecordings = recs;
  }

  get freeRuleCount(): number {
    return this.#freeRules.size;
  }

  get freeRecordingCount(): number {
    return this.#freeRecordings.length;
  }

  get ruleLimit(): number {
    return this.#ruleLimit;
  }

  /** Rule slots that hold a rule, as the kernel map says (for tests and `status`). */
  activeRuleSlots(): number[] {
    const { keys, values } = this.maps.rec_rules.lookupBatch();
    return keys.filter((_, i) => RecRule.decode(values[i]!).active !== 0).map((k) => k.readUInt32LE(0)).sort((a, b) => a - b);
  }

  /**
   * Takes a recording slot and rule slots and starts recording. The caller checked the free
   * counts; `rules` get the slot filled in here.
   */
  activate(rec: KernelRecording, rules: readonly Omit<KernelRule, 'slot'>[]): { slot: number; ruleSlots: number[] } {
    if (rules.length > this.#freeRules.size || this.#freeRecordings.length === 0) {
      throw new Error('RecorderTables.activate: not enough free slots (check before calling)');
    }
    const slot = this.#freeRecordings.shift()!;
    const ruleSlots = [...this.#freeRules].sort((a, b) => a - b).slice(0, rules.length);
    for (const r of ruleSlots) this.#freeRules.delete(r);
    try {
      this.maps.rec_stats.update(key(slot), Buffer.alloc(RecCounter.size)); // zero on every CPU
      this.maps.rec_rules.updateBatch(
        ruleSlots.map(key),
        rules.map((r) => RecRule.encode({ ...r, slot, active: 1 })),
      );
      this.#setLimit(this.#highestRule() + 1);
      this.maps.rec_recordings.update(key(slot), RecRecording.encode(rec));
    } catch (e) {
      this.#release(slot, ruleSlots);
      throw e;
    }
    return { slot, ruleSlots };
  }

  /** Stops the packet path recording into `slot` (records already in flight still arrive). */
  deactivate(slot: number, ruleSlots: readonly number[]): void {
    this.maps.rec_recordings.update(key(slot), NO_RECORDING);
    if (ruleSlots.length) this.maps.rec_rules.updateBatch(ruleSlots.map(key), ruleSlots.map(() => NO_RULE));
    for (const r of ruleSlots) this.#freeRules.add(r);
    this.#setLimit(this.#highestRule() + 1);
  }

  /** Returns the recording slot to the pool (after its last records were drained and counted). */
  freeSlot(slot: number): void {
    if (!this.#freeRecordings.includes(slot)) this.#freeRecordings.push(slot);
  }

  /** matched / lost of a slot, summed over CPUs. */
  counters(slot: number): { matched: bigint; lost: bigint } {
    return RecCounter.sum(this.maps.rec_stats.lookupPerCpu(key(slot)) ?? []);
  }

  #release(slot: number, ruleSlots: readonly number[]): void {
    try {
      this.deactivate(slot, ruleSlots);
    } finally {
      this.freeSlot(slot);
    }
  }

  #highestRule(): number {
    let hi = -1;
    for (let i = 0; i < REC_MAX_RULES; i++) if (!this.#freeRules.has(i)) hi = i;
    return hi;
  }

  #setLimit(n: number): void {
    if (n === this.#ruleLimit && n !== 0) return;
    this.maps.rec_ctl.update(key(0), RecCtl.encode({ ruleLimit: n }));
    this.#ruleLimit = n;
  }
}
