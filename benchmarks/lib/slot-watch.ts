// When does a change become visible to the datapath? A worker thread maps a service's pinned Maglev
// table (the same memory the XDP program reads) and polls one slot until it no longer holds its old
// backend id; it reports that instant on the wall clock, which the caller compares with the instant
// it sent the request. Polling sleeps 20 µs between reads, so the watcher does not take a core away
// from the daemon on a 2-core machine; the resolution is about 0.1 ms.
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

export interface WatchRequest {
  /** The pinned table: <pin dir>/maglev/<service datapath id>. */
  path: string;
  /** Slots in the table (the service's M). */
  size: number;
  slot: number;
  /** The value the slot holds now; the watch ends when it differs. */
  old: number;
  timeoutMs: number;
}

const WORKER = `
const { parentPort } = require('node:worker_threads');
let lib;
const maps = new Map();
const nap = new Int32Array(new SharedArrayBuffer(4));
parentPort.on('message', async (m) => {
  try {
    lib ??= await import(m.lib);
    let t = maps.get(m.path);
    if (!t) {
      const map = lib.BpfMap.openPinned(m.path);
      const mapping = map.mmap();
      t = { map, mapping, slots: new Uint32Array(mapping.buffer, 0, m.size) };
      maps.set(m.path, t);
    }
    parentPort.postMessage({ ready: true });
    const deadline = performance.now() + m.timeoutMs;
    while (t.slots[m.slot] === m.old && performance.now() < deadline) Atomics.wait(nap, 0, 0, 0.02);
    const seen = t.slots[m.slot] !== m.old;
    parentPort.postMessage({ seenAt: performance.timeOrigin + performance.now(), seen, value: t.slots[m.slot] });
  } catch (e) {
    parentPort.postMessage({ error: String(e && e.stack || e) });
  }
});
`;

export class SlotWatcher {
  readonly #worker: Worker;
  readonly #lib: string;

  constructor(repoDist: string) {
    this.#worker = new Worker(WORKER, { eval: true });
    this.#lib = `file://${join(repoDist, 'bpf', 'libbpf-ts', 'index.js')}`;
  }

  /**
   * Starts watching; resolves `ready` once the worker polls, and `seen` with the wall-clock ms
   * (performance.timeOrigin-based) at which the slot changed, or undefined on timeout.
   */
  watch(r: WatchRequest): { ready: Promise<void>; seen: Promise<number | undefined> } {
    let onReady!: () => void;
    let fail!: (e: Error) => void;
    const ready = new Promise<void>((res, rej) => ((onReady = res), (fail = rej)));
    const seen = new Promise<number | undefined>((resolve, reject) => {
      const onMessage = (m: { ready?: boolean; seenAt?: number; seen?: boolean; error?: string }) => {
        if (m.error) {
          this.#worker.off('message', onMessage);
          const e = new Error(`slot watcher: ${m.error}`);
          fail(e);
          reject(e);
        } else if (m.ready) {
          onReady();
        } else {
          this.#worker.off('message', onMessage);
          resolve(m.seen ? m.seenAt : undefined);
        }
      };
      this.#worker.on('message', onMessage);
    });
    this.#worker.postMessage({ ...r, lib: this.#lib });
    return { ready, seen };
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}

/** Wall-clock ms with sub-ms precision, comparable with SlotWatcher's. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}
