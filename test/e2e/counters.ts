// What the datapath counted between two readCounters() snapshots: the end-to-end tests assert on
// these deltas (per-backend packets, flow new/hit, verdicts) next to what the client observed.
import type { Counter, DatapathCounters, LbDatapath } from '../../lb/datapath/index.js';

export interface CounterDelta {
  /** 'verdict.tx', 'tx.ipip', 'flow.new', … → packets added (only non-zero entries) */
  packets: Record<string, number>;
  bytes: Record<string, number>;
  services: Map<number, Counter>;
  backends: Map<number, Counter>;
}

const GROUPS = ['verdict', 'pass', 'tx', 'drop', 'flow', 'event'] as const;

export function counterDelta(before: DatapathCounters, after: DatapathCounters): CounterDelta {
  const packets: Record<string, number> = {};
  const bytes: Record<string, number> = {};
  for (const group of GROUPS) {
    const a = after[group] as Record<string, Counter>;
    const b = before[group] as Record<string, Counter>;
    for (const name of Object.keys(a)) {
      const p = a[name]!.packets - b[name]!.packets;
      if (p) {
        packets[`${group}.${name}`] = p;
        bytes[`${group}.${name}`] = a[name]!.bytes - b[name]!.bytes;
      }
    }
  }
  const perId = (a: Map<number, Counter>, b: Map<number, Counter>) => {
    const out = new Map<number, Counter>();
    for (const [id, c] of a) {
      const d = { packets: c.packets - (b.get(id)?.packets ?? 0), bytes: c.bytes - (b.get(id)?.bytes ?? 0) };
      if (d.packets) out.set(id, d);
    }
    return out;
  };
  return { packets, bytes, services: perId(after.services, before.services), backends: perId(after.backends, before.backends) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seen = (c: DatapathCounters) => c.verdict.pass.packets + c.verdict.tx.packets + c.verdict.drop.packets;

/**
 * Waits until the program has seen no packet for `quietMs` (at most `maxMs`): a client is done
 * before its last FIN/ACK has crossed the LB, and counts compared with a capture must include it.
 */
export async function quiesce(dp: LbDatapath, quietMs = 300, maxMs = 5000): Promise<DatapathCounters> {
  const end = Date.now() + maxMs;
  let last = dp.readCounters();
  for (;;) {
    await sleep(quietMs);
    const now = dp.readCounters();
    if (seen(now) === seen(last) || Date.now() > end) return now;
    last = now;
  }
}

/** Runs fn and returns its result with what the datapath counted meanwhile (tail included). */
export async function counted<T>(dp: LbDatapath, fn: () => Promise<T>): Promise<{ result: T; delta: CounterDelta }> {
  const before = dp.readCounters();
  const result = await fn();
  return { result, delta: counterDelta(before, await quiesce(dp)) };
}

/** Packets of a counter in a delta, 0 when absent. */
export function pk(delta: CounterDelta, name: string): number {
  return delta.packets[name] ?? 0;
}

/** Sum of per-backend packets in a delta. */
export function backendPackets(delta: CounterDelta, ids?: number[]): number {
  let n = 0;
  for (const [id, c] of delta.backends) if (!ids || ids.includes(id)) n += c.packets;
  return n;
}
