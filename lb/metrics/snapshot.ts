// One read of the daemon per scrape. prom-client calls every metric's collect() synchronously
// within one registry.metrics() call, so a value cached until the next microtask gives all metrics
// of a scrape the same instant's figures, the datapath maps are read once, and the next scrape
// (even one awaited right after) reads again.
import type { MetricsSource, MetricsStats, MetricsStatus } from './source.js';

export interface Snapshot {
  stats: MetricsStats | undefined;
  status: MetricsStatus | undefined;
}

export class ScrapeSnapshot {
  #cached: Snapshot | undefined;
  readonly #source: () => MetricsSource | undefined;
  readonly #onError: (what: 'stats' | 'status', err: unknown) => void;

  constructor(source: () => MetricsSource | undefined, onError: (what: 'stats' | 'status', err: unknown) => void) {
    this.#source = source;
    this.#onError = onError;
  }

  get(): Snapshot {
    if (this.#cached) return this.#cached;
    const source = this.#source();
    this.#cached = { stats: this.#read(source, 'stats'), status: this.#read(source, 'status') };
    queueMicrotask(() => (this.#cached = undefined));
    return this.#cached;
  }

  #read<K extends 'stats' | 'status'>(source: MetricsSource | undefined, what: K): ReturnType<MetricsSource[K]> | undefined {
    if (!source) return undefined;
    try {
      return source[what]() as ReturnType<MetricsSource[K]>;
    } catch (err) {
      this.#onError(what, err);
      return undefined;
    }
  }
}
