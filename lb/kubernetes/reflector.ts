// List + watch of one resource, kept as a local copy (what client-go calls a reflector):
//   - list, remember the list's resourceVersion, watch from it (with bookmarks, which move the
//     version forward without events, so a re-watch after a quiet hour does not start from a
//     compacted version);
//   - every event moves the version; the server ends each watch after timeoutSeconds and the
//     reflector watches again from where it was, without listing;
//   - 410 Gone (the version was compacted away, as an HTTP status or as an ERROR event) → list
//     again and replace the copy as a whole: objects that still exist are not deleted and re-added,
//     so a re-list never makes anyone see a spurious delete;
//   - any other failure (server unreachable, 5xx, a watch that stops delivering anything) → retry
//     with exponential backoff and jitter, watching from the last version when there is one.
// The copy is never emptied on failure: the last known state stays in use until the server answers.
import { KubeError, type KubeApi, type WatchEvent, type Watched } from './client.js';
import { objectKey, type KObject } from './wire.js';

export interface ReflectorOptions {
  api: KubeApi;
  resource: Watched;
  /** Watch one namespace; undefined = all. */
  namespace?: string;
  watchTimeoutSeconds: number;
  /** First retry delay and the cap (default 500 ms, 30 s). */
  backoff?: { initialMs: number; maxMs: number };
  /** A watch that delivers nothing (no event, no bookmark) for this long is dropped and redone
   *  (default: watchTimeoutSeconds + 30 s — the server should have ended it by then). */
  idleMs?: number;
  log?: { info(m: string): void; warn(m: string): void };
  /** Called after every change of the copy (events, re-lists). */
  onChange: () => void;
  random?: () => number;
}

export class Reflector {
  readonly #o: ReflectorOptions;
  readonly #objects = new Map<string, KObject>();
  #resourceVersion = '';
  #synced = false;
  #stopped = true;
  #abort: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #idle: NodeJS.Timeout | undefined;
  #failures = 0;
  #lastError: string | undefined;
  /** Counters for status and tests. */
  readonly stats = { lists: 0, watches: 0, events: 0, bookmarks: 0, gone: 0, failures: 0 };

  constructor(o: ReflectorOptions) {
    this.#o = o;
  }

  get name(): string {
    return `${this.#o.resource}${this.#o.namespace ? ` in ${this.#o.namespace}` : ''}`;
  }

  /** True once a list succeeded: the copy is the server's state (as of some version). */
  get synced(): boolean {
    return this.#synced;
  }

  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  get lastError(): string | undefined {
    return this.#lastError;
  }

  items(): KObject[] {
    return [...this.#objects.values()];
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    void this.#run();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#idle);
    this.#abort?.();
    this.#abort = undefined;
  }

  async #run(): Promise<void> {
    if (this.#stopped) return;
    try {
      if (!this.#resourceVersion) await this.#list();
      if (this.#stopped) return;
      await this.#watch();
    } catch (e) {
      this.#failed(e as Error);
    }
  }

  async #list(): Promise<void> {
    const { items, resourceVersion } = await this.#o.api.list(this.#o.resource, this.#o.namespace);
    if (this.#stopped) return;
    this.stats.lists++;
    this.#objects.clear();
    for (const item of items) this.#objects.set(objectKey(item), item);
    this.#resourceVersion = resourceVersion;
    const first = !this.#synced;
    this.#synced = true;
    this.#recovered();
    if (first) this.#o.log?.info(`kubernetes: listed ${items.length} ${this.name} (version ${resourceVersion})`);
    this.#o.onChange();
  }

  async #watch(): Promise<void> {
    let done = false;
    const finish = (err: Error | null) => {
      if (done) return;
      done = true;
      clearTimeout(this.#idle);
      this.#abort = undefined;
      if (this.#stopped) return;
      if (err) this.#failed(err);
      else void this.#run(); // the server ended the watch (timeoutSeconds): watch again from here
    };
    const armIdle = () => {
      clearTimeout(this.#idle);
      const ms = this.#o.idleMs ?? (this.#o.watchTimeoutSeconds + 30) * 1000;
      this.#idle = setTimeout(() => {
        // finish first: aborting makes the library report an AbortError, which must not win.
        finish(new KubeError(0, `the watch delivered nothing for ${Math.round(ms / 1000)} s`));
        abort?.();
      }, ms);
      this.#idle.unref();
    };
    let abort: (() => void) | undefined;
    armIdle();
    const handle = await this.#o.api.watch(
      this.#o.resource,
      this.#o.namespace,
      { resourceVersion: this.#resourceVersion, timeoutSeconds: this.#o.watchTimeoutSeconds, allowWatchBookmarks: true },
      (e) => {
        if (done || this.#stopped) return;
        armIdle();
        const err = this.#event(e);
        if (err) {
          finish(err); // before abort(): see armIdle
          abort?.();
        }
      },
      finish,
    );
    abort = handle.abort;
    this.#abort = handle.abort;
    if (done || this.#stopped) handle.abort();
    else {
      this.stats.watches++;
      this.#recovered(); // the server answered the watch
    }
  }

  /** Applies one watch event; returns an error that ends the watch. */
  #event(e: WatchEvent): Error | undefined {
    const obj = e.object;
    if (e.type === 'ERROR') {
      const code = obj?.code ?? 0;
      return new KubeError(code, `watch error ${code}${obj?.reason ? ` ${obj.reason}` : ''}: ${obj?.message ?? 'no message'}`, obj?.reason);
    }
    const version = obj?.metadata?.resourceVersion;
    if (e.type === 'BOOKMARK') {
      this.stats.bookmarks++;
      if (version) this.#resourceVersion = version;
      return undefined;
    }
    if (!obj?.metadata?.name) return undefined;
    this.stats.events++;
    if (e.type === 'DELETED') this.#objects.delete(objectKey(obj));
    else this.#objects.set(objectKey(obj), obj);
    if (version) this.#resourceVersion = version;
    this.#recovered();
    this.#o.onChange();
    return undefined;
  }

  #recovered(): void {
    if (this.#failures > 0 || this.#lastError) this.#o.log?.info(`kubernetes: ${this.name}: connected again`);
    this.#failures = 0;
    this.#lastError = undefined;
  }

  #failed(err: Error): void {
    if (this.#stopped) return;
    const status = err instanceof KubeError ? err.status : 0;
    if (status === 410) {
      // The version is gone: list again at once (no backoff: the server is fine).
      this.stats.gone++;
      this.#o.log?.info(`kubernetes: ${this.name}: version ${this.#resourceVersion} is gone (410); listing again`);
      this.#resourceVersion = '';
      void this.#run();
      return;
    }
    this.stats.failures++;
    this.#failures++;
    const { initialMs, maxMs } = this.#o.backoff ?? { initialMs: 500, maxMs: 30_000 };
    const base = Math.min(maxMs, initialMs * 2 ** Math.min(this.#failures - 1, 20));
    const delay = Math.round(base * (0.5 + (this.#o.random ?? Math.random)() / 2));
    const message = err.message.split('\n')[0];
    // Once per outage in the log (the first failure), then quietly at each retry.
    if (this.#failures === 1) this.#o.log?.warn(`kubernetes: ${this.name}: ${message}; retrying with backoff (the last known state stays in use)`);
    this.#lastError = message;
    this.#timer = setTimeout(() => void this.#run(), delay);
    this.#timer.unref();
  }
}
