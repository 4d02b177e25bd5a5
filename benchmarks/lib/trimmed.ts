// The per-run estimate of BPF_PROG_TEST_RUN benchmarks (datapath.ts, recorder.ts).
import { percentile } from './stats.js';

export function median(samples: readonly number[]): number {
  return percentile([...samples].sort((a, b) => a - b), 50);
}

/** Mean of the samples ≤ 2 × median: calls stretched by an interrupt or preemption are dropped, the
 *  clock's quantisation (10 ns steps on the reference VM) still averages out, which a median or a
 *  quartile-trimmed mean would not. */
export function trimmedMean(samples: readonly number[]): number {
  const limit = 2 * median(samples);
  let sum = 0;
  let n = 0;
  for (const s of samples) {
    if (s <= limit) {
      sum += s;
      n++;
    }
  }
  return sum / n;
}
