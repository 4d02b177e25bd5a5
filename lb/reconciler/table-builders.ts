// Maglev tables built off the event loop, for syncs that need many of them at once (a cold start,
// a bulk Apply): a few worker threads build while the main thread writes the tables already built
// into the datapath, and the event loop gets a turn between services (the API and the recorder keep
// answering). Small changes build inline: a worker round trip would cost more than it saves.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { MaglevOptions } from '../maglev/index.js';

const WORKER_URL = new URL('./table-worker.js', import.meta.url);

interface Pending {
  resolve(t: Uint32Array): void;
  reject(e: Error): void;
}

export class TableBuilders {
  readonly size: number;
  #workers: Worker[] | undefined;
  #next = 0;
  #id = 0;
  readonly #pending = new Map<number, Pending>();

  /**
   * `threads`: default one fewer than the CPUs, 1 … 4 (the main thread writes meanwhile). 0 when
   * the compiled worker is not there (running from TypeScript sources, as the unit tests do): then
   * `available` is false and callers build inline.
   */
  constructor(threads = Math.max(1, Math.min(4, availableParallelism() - 1))) {
    this.size = existsSync(fileURLToPath(WORKER_URL)) ? threads : 0;
  }

  get available(): boolean {
    return this.size > 0;
  }

  /** Starts building `request` on a worker; resolves with the table. Workers start on first use. */
  build(request: MaglevOptions): Promise<Uint32Array> {
    if (!this.available) return Promise.reject(new Error('no table worker available'));
    const workers = (this.#workers ??= Array.from({ length: this.size }, () => this.#spawn()));
    const id = this.#id++;
    const w = workers[this.#next++ % workers.length]!;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      w.postMessage({ id, request });
    });
  }

  #spawn(): Worker {
    const w = new Worker(WORKER_URL);
    w.unref(); // an idle pool never keeps the process alive
    w.on('message', (m: { id: number; table?: Uint32Array; error?: string }) => {
      const p = this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id);
      if (m.table) p.resolve(m.table);
      else p.reject(new Error(`Maglev table build: ${m.error}`));
    });
    w.on('error', (e) => {
      for (const p of this.#pending.values()) p.reject(e);
      this.#pending.clear();
    });
    return w;
  }

  async close(): Promise<void> {
    const workers = this.#workers ?? [];
    this.#workers = undefined;
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
