// Large byte buffers kept between scrapes. A fresh 15 MiB buffer cost ~100 ms of page faults on
// the benchmark VM before the first byte of it was useful (measured: the same render into a
// reused buffer took 18 ms); a scrape of 10 000 services writes 36 MiB. Buffers come back when no
// response is sending them and the cache no longer holds them (ScrapeBody.release).

export class BufferPool {
  readonly #free: Uint8Array[] = [];

  constructor(readonly maxBuffers = 16) {}

  /** A buffer of at least `min` bytes: the smallest free one that fits, or a new one. */
  take(min: number): Uint8Array {
    let best = -1;
    this.#free.forEach((b, i) => {
      if (b.length >= min && (best < 0 || b.length < this.#free[best]!.length)) best = i;
    });
    if (best >= 0) return this.#free.splice(best, 1)[0]!;
    const b = Buffer.allocUnsafeSlow(min);
    return new Uint8Array(b.buffer, b.byteOffset, b.length);
  }

  give(b: Uint8Array): void {
    if (b.length < 64 << 10) return; // small ones: not worth keeping
    this.#free.push(b);
    if (this.#free.length > this.maxBuffers) {
      // Keep the largest: they fit the next scrape.
      this.#free.sort((x, y) => y.length - x.length).length = this.maxBuffers;
    }
  }

  get size(): number {
    return this.#free.length;
  }
}

/**
 * A scrape's bytes with a count of holders (the cache, and each response still sending them);
 * the pooled buffers go back when the last lets go.
 */
export class ScrapeBody {
  readonly length: number;
  #holders = 1;

  constructor(
    readonly chunks: readonly Buffer[],
    readonly pool: BufferPool | undefined,
    readonly pooled: readonly Uint8Array[],
  ) {
    this.length = chunks.reduce((n, c) => n + c.length, 0);
  }

  retain(): this {
    this.#holders++;
    return this;
  }

  release(): void {
    if (--this.#holders === 0 && this.pool) for (const b of this.pooled) this.pool.give(b);
  }
}
