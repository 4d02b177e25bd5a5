// Metrics whose values are read from the daemon at scrape time (a custom collector per metric):
// the datapath's counters are the kernel's own monotonic values, so they are exposed as counters
// set from the read, never re-incremented by us. When there is nothing to read (no source yet, or
// the read failed) the metric is left out of the scrape rather than reported as 0, which
// Prometheus would take for a counter reset.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Snapshot } from './snapshot.js';

export type Sample<L extends string> = [labels: Partial<Record<L, string>>, value: number];

interface ScrapedSpec<L extends string> {
  registry: Registry;
  name: string;
  help: string;
  labelNames?: readonly L[];
  snapshot: () => Snapshot;
  /** Samples from this scrape's snapshot; undefined = no data (emit nothing). */
  samples: (s: Snapshot) => Sample<L>[] | undefined;
}

function fill(
  metric: { reset(): void; remove(...a: string[]): void },
  labelNames: readonly string[],
  samples: Sample<string>[] | undefined,
  put: (labels: Partial<Record<string, string>>, v: number) => void,
): void {
  metric.reset();
  // reset() leaves a 0 sample in a metric without labels; no data must mean no sample.
  if (labelNames.length === 0) metric.remove();
  for (const [labels, value] of samples ?? []) put(labels, value);
}

export function scrapedCounter<L extends string>(spec: ScrapedSpec<L>): Counter<L> {
  const labelNames = spec.labelNames ?? [];
  return new Counter<L>({
    name: spec.name,
    help: spec.help,
    labelNames,
    registers: [spec.registry],
    collect(this: Counter<L>) {
      fill(this, labelNames, spec.samples(spec.snapshot()), (labels, v) => this.inc(labels as Partial<Record<L, string>>, v));
    },
  });
}

export function scrapedGauge<L extends string>(spec: ScrapedSpec<L>): Gauge<L> {
  const labelNames = spec.labelNames ?? [];
  return new Gauge<L>({
    name: spec.name,
    help: spec.help,
    labelNames,
    registers: [spec.registry],
    collect(this: Gauge<L>) {
      fill(this, labelNames, spec.samples(spec.snapshot()), (labels, v) => this.set(labels as Partial<Record<L, string>>, v));
    },
  });
}
