// xlbd's metrics: a prom-client registry holding the datapath-wide metrics (read from a
// MetricsSource at scrape time), the metrics the daemon observes (Maglev rebuilds, API requests)
// and Node's process metrics, plus the per-service and per-backend families written directly
// (entities.ts). Concurrent scrapes share one read: a scrape that arrives while another is being
// built waits for that one, and the text is kept for `cacheMs` (configurable) after it is done.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { registerDatapathMetrics } from './datapath.js';
import { BufferPool, ScrapeBody } from './buffer-pool.js';
import { entityChunks } from './entities.js';
import { registerHealthBgpMetrics } from './health-bgp.js';
import { OPEN_FDS, registerOpenFds } from './open-fds.js';
import { API_DURATION_BUCKETS, MAGLEV_REBUILD_BUCKETS, METRIC } from './names.js';
import { ScrapeSnapshot } from './snapshot.js';
import type { MetricsSource } from './source.js';

export interface XlbMetricsOptions {
  /** The daemon (or anything with stats() and status()); may be set later with setSource(). */
  source?: MetricsSource;
  /** Reported in xlb_build_info until the source's status says otherwise. */
  version?: string;
  /** process_* and nodejs_* metrics (default true). */
  processMetrics?: boolean;
  /** Told about a failed read of the source (the scrape goes on without the datapath metrics). */
  onSourceError?: (what: 'stats' | 'status', err: unknown) => void;
  /** A finished scrape's text serves the scrapes of the next `cacheMs` ms (default 0: only
   *  scrapes that arrive while one is being built share it). */
  cacheMs?: number;
}

export class XlbMetrics {
  readonly registry = new Registry();
  #source: MetricsSource | undefined;
  readonly #maglevRebuild: Histogram<never>;
  readonly #apiRequests: Counter<'method' | 'code'>;
  readonly #apiDuration: Histogram<'method'>;
  readonly #snapshot: ScrapeSnapshot;
  readonly #cacheMs: number;
  #building: Promise<ScrapeBody> | undefined;
  #cached: { body: ScrapeBody; at: number } | undefined;
  readonly #pool = new BufferPool();
  readonly #internalErrors: Counter<never>;
  readonly #healthTransitions: Counter<'service' | 'backend' | 'to'>;

  constructor(o: XlbMetricsOptions = {}) {
    this.#source = o.source;
    this.#cacheMs = o.cacheMs ?? 0;
    // The read happens in whichever collect() runs first; this one triggers it too, so a failure
    // is counted in the same scrape that lacks the data.
    const sourceErrors = new Counter<'report'>({
      name: METRIC.sourceErrors,
      help: "Scrapes that could not read the daemon's stats or status (those metrics were left out).",
      labelNames: ['report'],
      registers: [this.registry],
      collect: () => void snapshot.get(),
    });
    const snapshot: ScrapeSnapshot = (this.#snapshot = new ScrapeSnapshot(
      () => this.#source,
      (what, err) => {
        sourceErrors.inc({ report: what });
        o.onSourceError?.(what, err);
      },
    ));
    registerDatapathMetrics(this.registry, () => snapshot.get());
    registerHealthBgpMetrics(this.registry, () => snapshot.get());

    const version = o.version ?? 'unknown';
    new Gauge<'version'>({
      name: METRIC.buildInfo,
      help: 'Always 1; the version label says which xlbd is running.',
      labelNames: ['version'],
      registers: [this.registry],
      collect(this: Gauge<'version'>) {
        this.reset();
        this.set({ version: snapshot.get().status?.version || version }, 1);
      },
    });

    this.#maglevRebuild = new Histogram({
      name: METRIC.maglevRebuild,
      help: "Time to build one service's Maglev table and swap it into the datapath.",
      buckets: MAGLEV_REBUILD_BUCKETS,
      registers: [this.registry],
    });
    this.#apiRequests = new Counter({
      name: METRIC.apiRequests,
      help: 'Finished gRPC calls, by method (package.Service/Method) and status code name.',
      labelNames: ['method', 'code'],
      registers: [this.registry],
    });
    this.#apiDuration = new Histogram({
      name: METRIC.apiDuration,
      help: 'Duration of gRPC calls, by method.',
      labelNames: ['method'],
      buckets: API_DURATION_BUCKETS,
      registers: [this.registry],
    });
    this.#internalErrors = new Counter({
      name: METRIC.internalErrors,
      help: 'Errors nobody caught (a bug): logged with their stack by xlbd, which keeps running.',
      registers: [this.registry],
    });
    this.#healthTransitions = new Counter({
      name: METRIC.healthTransitions,
      help: "Health state changes of a backend, by the state it entered (up, down).",
      labelNames: ['service', 'backend', 'to'],
      registers: [this.registry],
    });
    if (o.processMetrics !== false) {
      collectDefaultMetrics({ register: this.registry });
      if (process.platform === 'linux' && this.registry.getSingleMetric(OPEN_FDS)) {
        this.registry.removeSingleMetric(OPEN_FDS);
        registerOpenFds(this.registry);
      }
    }
  }

  /** The daemon, once it exists (metrics can be served before the datapath is ready). */
  setSource(source: MetricsSource | undefined): void {
    this.#source = source;
  }

  /** api/server's onRequest hook: `startApiServer({ ..., onRequest: metrics.onRequest })`. */
  readonly onRequest = (method: string, code: string, seconds: number): void => {
    const name = method.startsWith('/') ? method.slice(1) : method;
    this.#apiRequests.inc({ method: name, code });
    if (Number.isFinite(seconds) && seconds >= 0) this.#apiDuration.observe({ method: name }, seconds);
  };

  /** xlbd's crash guard caught an error nobody else did. */
  readonly onInternalError = (): void => {
    this.#internalErrors.inc();
  };

  /** A backend's health changed state. */
  readonly onHealthTransition = (e: { service: string; backend: string; to: string }): void => {
    this.#healthTransitions.inc({ service: e.service, backend: e.backend, to: e.to });
  };

  /** One Maglev table build (plus its swap into the datapath) took `seconds`. */
  readonly observeMaglevRebuild = (seconds: number): void => {
    if (Number.isFinite(seconds) && seconds >= 0) this.#maglevRebuild.observe(seconds);
  };

  /** Runs `build` and observes its duration (also when it throws). */
  timeMaglevRebuild<T>(build: () => T): T {
    const started = process.hrtime.bigint();
    try {
      return build();
    } finally {
      this.observeMaglevRebuild(Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  /** The exposition text (Prometheus text format 0.0.4); see the coalescing rule at the top. */
  async metrics(): Promise<string> {
    const body = await this.metricsBody();
    try {
      return Buffer.concat(body.chunks).toString('utf8');
    } finally {
      body.release();
    }
  }

  /**
   * The same as UTF-8 bytes, in chunks (not joined: copying 36 MiB into one buffer held the event
   * loop for tens of ms), rendered once per scrape however many requests it serves. The caller
   * holds the body and must release() it when done sending (its buffers are reused).
   */
  metricsBody(): Promise<ScrapeBody> {
    return this.#current().then((b) => b.retain());
  }

  #current(): Promise<ScrapeBody> {
    if (this.#cached && performance.now() - this.#cached.at < this.#cacheMs) return Promise.resolve(this.#cached.body);
    this.#building ??= this.#scrape()
      .then((body) => {
        // The registry's hold on the body: until the next one is cached, or (no cache) until the
        // requests that waited for it took theirs (their continuations run before setImmediate).
        if (this.#cacheMs > 0) {
          this.#cached?.body.release();
          this.#cached = { body, at: performance.now() };
        } else setImmediate(() => body.release());
        return body;
      })
      .finally(() => (this.#building = undefined));
    return this.#building;
  }

  async #scrape(): Promise<ScrapeBody> {
    const snap = this.#snapshot.take();
    try {
      let entities: { chunks: Buffer[]; backing: Uint8Array[] };
      try {
        entities = await entityChunks(snap.entities, this.#pool);
      } catch (err) {
        this.#snapshot.fail('stats', err);
        entities = await entityChunks(undefined, this.#pool);
      }
      // After the entities: a failure to read them is counted in this scrape's text.
      return new ScrapeBody([Buffer.from(await this.registry.metrics(), 'utf8'), ...entities.chunks], this.#pool, entities.backing);
    } finally {
      this.#snapshot.clear();
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
