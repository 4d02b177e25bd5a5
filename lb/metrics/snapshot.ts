// One read of the daemon per scrape: taken when the scrape starts and handed to every metric's
// collect() of that scrape, so all metrics show the same instant's figures and the datapath-wide
// counters are read once. Scrapes never overlap (registry.ts coalesces them), so one slot suffices.
import type { EntityInput } from './entities.js';
import type { MetricsSource, MetricsStats, MetricsStatus } from './source.js';

export interface Snapshot {
  stats: MetricsStats | undefined;
  status: MetricsStatus | undefined;
  /** Where the per-service families come from in this scrape (undefined: no data). */
  entities: EntityInput;
}

export class ScrapeSnapshot {
  #current: Snapshot | undefined;
  readonly #source: () => MetricsSource | undefined;
  readonly #onError: (what: 'stats' | 'status', err: unknown) => void;

  constructor(source: () => MetricsSource | undefined, onError: (what: 'stats' | 'status', err: unknown) => void) {
    this.#source = source;
    this.#onError = onError;
  }

  /** Reads the source for a new scrape. */
  take(): Snapshot {
    const source = this.#source();
    const fast = source?.serviceSource !== undefined && source.datapathStats !== undefined;
    const stats = this.#read('stats', () => (fast ? source!.datapathStats!() : source?.stats()));
    const status = this.#read('status', () => source?.status());
    let entities: EntityInput;
    if (stats && fast) entities = { source: source!.serviceSource!() };
    else if (stats) entities = { stats };
    this.#current = { stats, status, entities };
    return this.#current;
  }

  /** The current scrape's snapshot (a fresh one if none was taken). */
  get(): Snapshot {
    return this.#current ?? this.take();
  }

  /** The scrape is over. */
  clear(): void {
    this.#current = undefined;
  }

  /** A failure while reading the per-service counters (fast path), counted like the others. */
  fail(what: 'stats' | 'status', err: unknown): void {
    this.#onError(what, err);
  }

  #read<T>(what: 'stats' | 'status', read: () => T | undefined): T | undefined {
    try {
      return read();
    } catch (err) {
      this.#onError(what, err);
      return undefined;
    }
  }
}
