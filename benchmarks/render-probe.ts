// The /metrics per-service render alone (lb/metrics entityChunks), 10 000 services × 16 backends
// from a fake source, pooled buffers as in the daemon: median and min of 8 renders.
//   node dist/benchmarks/render-probe.js [big]     (big: 9-digit counter values instead of 0)
import { BufferPool } from '../lb/metrics/buffer-pool.js';
import { entityChunks } from '../lb/metrics/entities.js';
import type { MetricsServiceSource } from '../lb/metrics/index.js';

const services = Array.from({ length: 10000 }, (_, i) => ({
  id: `10.100.${i >> 8}.${i & 255}:80/tcp`,
  datapathId: i + 1,
  backends: Array.from({ length: 16 }, (_, j) => ({ address: `10.3.${j}.${(i % 250) + 1}`, datapathId: 20000 + i * 16 + j, weight: 1, state: 'active' as const })),
}));
const big = process.argv[2] === 'big';
const counters = (_which: string, ids: Uint32Array) => {
  const o = new Float64Array(ids.length * 2);
  if (big) for (let i = 0; i < o.length; i++) o[i] = 123456789 + i;
  return o;
};
const source: MetricsServiceSource = { services: () => services, counters, serviceCounters: (ids) => counters('services', ids) };
const pool = new BufferPool();
const ms: number[] = [];
for (let r = 0; r < 8; r++) {
  const t = performance.now();
  const b = await entityChunks({ source }, pool);
  ms.push(performance.now() - t);
  for (const x of b.backing) pool.give(x);
}
ms.sort((a, b) => a - b);
console.log(`${big ? '9-digit values' : 'values 0'}: median ${ms[4]!.toFixed(1)} ms, min ${ms[0]!.toFixed(1)} ms`);
