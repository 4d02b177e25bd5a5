// Shared setup for the datapath tests: a loaded LbDatapath with small maps, the MACs and addresses
// the tests use, and counter deltas (what one test run added).
import { LbDatapath, type DatapathCounters, type LoadOptions } from '../../lb/datapath/index.js';

export const IF_MAC = '02:00:00:00:00:01';
export const GW_MAC = '02:00:00:00:00:02';
export const CLIENT_MAC = '02:00:00:00:00:09';
export const SRC_V4 = '10.255.0.1';
export const SRC_V6 = 'fd00:ff::1';
export const SEED = 0x5eed;

export function loadDatapath(o: Partial<LoadOptions> = {}): LbDatapath {
  return LbDatapath.load({
    seed: SEED,
    tableSize: 1021,
    mtu: 1500,
    maxServices: 64,
    maxBackends: 256,
    flowTableSize: 4096,
    ...o,
  });
}

export function configure(dp: LbDatapath): void {
  dp.setConfig({ ifMac: IF_MAC, gatewayMac: GW_MAC, sourceV4: SRC_V4, sourceV6: SRC_V6 });
}

/** Packet counts added between two readCounters() snapshots, flattened: 'drop.fragment' → n. */
export interface CounterDelta {
  global: Record<string, number>;
  services: Map<number, number>;
  backends: Map<number, number>;
}

export function counterDelta(before: DatapathCounters, after: DatapathCounters): CounterDelta {
  const global: Record<string, number> = {};
  for (const group of ['verdict', 'pass', 'tx', 'drop', 'flow', 'event'] as const) {
    const a = after[group] as Record<string, { packets: number }>;
    const b = before[group] as Record<string, { packets: number }>;
    for (const name of Object.keys(a)) {
      const d = a[name]!.packets - b[name]!.packets;
      if (d) global[`${group}.${name}`] = d;
    }
  }
  const perId = (a: Map<number, { packets: number }>, b: Map<number, { packets: number }>) => {
    const out = new Map<number, number>();
    for (const [id, c] of a) {
      const d = c.packets - (b.get(id)?.packets ?? 0);
      if (d) out.set(id, d);
    }
    return out;
  };
  return { global, services: perId(after.services, before.services), backends: perId(after.backends, before.backends) };
}

/** Runs a frame and reports verdict, output and what the counters gained. */
export function runFrame(dp: LbDatapath, frame: Buffer) {
  const before = dp.readCounters();
  const r = dp.testRun(frame);
  const delta = counterDelta(before, dp.readCounters());
  return { ...r, delta };
}
