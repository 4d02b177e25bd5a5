// Datapath id allocation. The XDP program indexes arrays by these ids and its flow table remembers
// them, so an id must (1) stay with its service or backend for life, across restarts (the state
// file stores it), and (2) not be handed to a new backend soon after it was freed: a flow still
// pinned to the old id would silently land on the new backend.
//
// The free ids wait in one FIFO queue (a ring buffer): allocate() takes the front, release() puts
// the id at the back. A freed id therefore comes back only after every other free id was used —
// the longest possible distance — and every operation is O(1), whatever the number of ids or how
// many were freed recently. Only the recently freed part of the queue (freed less than
// `reuseDelayMs` ago) is worth persisting: the snapshot keeps those ids in release order plus the
// id at the front (`next`); loading rebuilds the queue as "every other free id, in id order from
// `next` round to `next − 1`, then the retired ids, oldest first". Ids retired longer ago than the
// delay are pruned on load (they rejoin the ordinary free ids), so the snapshot stays small.
import { ValidationError } from './errors.js';

export interface RetiredId {
  id: number;
  /** Wall-clock ms when it was freed. */
  at: number;
}

export interface IdAllocatorSnapshot {
  /** The id allocate() would hand out next, when it is not a retired one (1..max). */
  next: number;
  /** Recently freed ids, oldest first. */
  retired: RetiredId[];
}

export interface IdAllocatorOptions {
  /** Ids are 1..max; 0 is never an id (a zeroed map slot must not look like a valid id). */
  max: number;
  reuseDelayMs: number;
  now: () => number;
  /** For messages: "service" or "backend". */
  what: string;
}

export class IdAllocator {
  readonly #o: IdAllocatorOptions;
  /** 1 when the id is assigned; index = id. */
  readonly #inUse: Uint8Array;
  #used = 0;
  /** When each id was last freed (ms), 0 = not freed since it was last assigned (or ever). */
  readonly #freedAt: Float64Array;
  /** Ring buffer of free ids; built on first use, so that loading can claim ids first. */
  #ring: Uint32Array | undefined;
  #head = 0;
  #len = 0;
  /** Loaded snapshot, consumed when the ring is built. */
  #seed: IdAllocatorSnapshot;

  constructor(options: IdAllocatorOptions, snapshot?: IdAllocatorSnapshot) {
    if (!Number.isInteger(options.max) || options.max < 1) throw new RangeError(`${options.what} ids: max ${options.max} is not an integer ≥ 1`);
    this.#o = options;
    this.#inUse = new Uint8Array(options.max + 1);
    this.#freedAt = new Float64Array(options.max + 1);
    const next = snapshot && snapshot.next >= 1 && snapshot.next <= options.max ? snapshot.next : 1;
    this.#seed = { next, retired: (snapshot?.retired ?? []).filter((r) => r.id >= 1 && r.id <= options.max).map((r) => ({ ...r })) };
  }

  get max(): number {
    return this.#o.max;
  }

  get used(): number {
    return this.#used;
  }

  /** The id allocate() hands out next (O(1)); what a journal records as `next`. */
  get front(): number {
    if (!this.#ring) return this.#seed.next;
    return this.#len ? this.#ring[this.#head]! : 1;
  }

  /** The next `n` ids allocate() would hand out, in order (fewer when fewer are free); O(n) once
   *  the queue is built (call it after loading has claimed its ids, like allocate()). */
  upcoming(n: number): number[] {
    const out: number[] = [];
    const ring = this.#queue();
    for (let i = 0; i < n && i < this.#len; i++) out.push(ring[(this.#head + i) % ring.length]!);
    return out;
  }

  isUsed(id: number): boolean {
    return Number.isInteger(id) && id >= 1 && id <= this.#o.max && this.#inUse[id] === 1;
  }

  /**
   * Records an id that is already assigned (when loading state). O(1) before the first
   * allocate()/release(); afterwards the queue is rebuilt (O(max)), which only tests do.
   */
  claim(id: number): void {
    if (!Number.isInteger(id) || id < 1 || id > this.#o.max) {
      throw new RangeError(`${this.#o.what} id ${id} is outside 1..${this.#o.max}`);
    }
    if (this.#inUse[id]) throw new RangeError(`${this.#o.what} id ${id} is assigned twice`);
    if (this.#ring) this.#removeFromQueue(id);
    this.#inUse[id] = 1;
    this.#used++;
    this.#freedAt[id] = 0;
  }

  /** The front of the free queue. FAILED_PRECONDITION when every id is in use. */
  allocate(): number {
    const { max, what } = this.#o;
    if (this.#used >= max) {
      throw new ValidationError('FAILED_PRECONDITION', '', `all ${max} ${what} ids are in use; raise the map size in the config`);
    }
    const ring = this.#queue();
    const id = ring[this.#head]!;
    this.#head = this.#head + 1 === ring.length ? 0 : this.#head + 1;
    this.#len--;
    this.#inUse[id] = 1;
    this.#used++;
    return id;
  }

  /**
   * Undoes the last allocate() that returned `id` (the id goes back to the front). Only valid in
   * reverse order of the operations (an undo log); used to roll a failed change back.
   */
  unallocate(id: number): void {
    const ring = this.#queue();
    if (!this.#inUse[id]) throw new Error(`unallocate(${id}): the ${this.#o.what} id is not in use`);
    this.#head = this.#head === 0 ? ring.length - 1 : this.#head - 1;
    ring[this.#head] = id;
    this.#len++;
    this.#inUse[id] = 0;
    this.#used--;
  }

  /** Frees an id (to the back of the queue). Returns what unrelease() needs, or undefined if the
   *  id was not in use (nothing changed). */
  release(id: number): number | undefined {
    if (!this.isUsed(id)) return undefined;
    const ring = this.#queue();
    ring[(this.#head + this.#len) % ring.length] = id;
    this.#len++;
    this.#inUse[id] = 0;
    this.#used--;
    const previous = this.#freedAt[id]!;
    this.#freedAt[id] = this.#o.now();
    return previous;
  }

  /** Undoes the last release(id) (reverse order only); `previous` is what release() returned. */
  unrelease(id: number, previous: number): void {
    const ring = this.#queue();
    const last = (this.#head + this.#len - 1) % ring.length;
    if (this.#len === 0 || ring[last] !== id) throw new Error(`unrelease(${id}): not the last released ${this.#o.what} id`);
    this.#len--;
    this.#inUse[id] = 1;
    this.#used++;
    this.#freedAt[id] = previous;
  }

  /** When `id` was freed (ms), if it is free and was freed since it was last assigned. */
  freedAt(id: number): number | undefined {
    if (!Number.isInteger(id) || id < 1 || id > this.#o.max || this.#inUse[id]) return undefined;
    return this.#freedAt[id] || undefined;
  }

  /** The persisted form: the front of the queue and the ids freed within the reuse delay. O(max). */
  snapshot(cutoff = this.#o.now() - this.#o.reuseDelayMs): IdAllocatorSnapshot {
    if (!this.#ring) {
      const retired = this.#seed.retired.filter((r) => r.at > cutoff && !this.#inUse[r.id]);
      return { next: this.#seed.next, retired: retired.map((r) => ({ ...r })) };
    }
    const ring = this.#ring;
    const retired: RetiredId[] = [];
    let next = 0;
    for (let i = 0; i < this.#len; i++) {
      const id = ring[(this.#head + i) % ring.length]!;
      const at = this.#freedAt[id]!;
      if (at > cutoff) retired.push({ id, at });
      else if (next === 0) next = id;
    }
    return { next: next || (this.#len ? ring[this.#head]! : 1), retired };
  }

  /** An independent copy with the same queue (O(max)). */
  clone(): IdAllocator {
    const copy = new IdAllocator(this.#o, this.#seed);
    copy.#inUse.set(this.#inUse);
    copy.#used = this.#used;
    copy.#freedAt.set(this.#freedAt);
    if (this.#ring) {
      copy.#ring = Uint32Array.from(this.#ring);
      copy.#head = this.#head;
      copy.#len = this.#len;
    }
    return copy;
  }

  #removeFromQueue(id: number): void {
    const ring = this.#ring!;
    const kept = new Uint32Array(ring.length);
    let n = 0;
    for (let i = 0; i < this.#len; i++) {
      const x = ring[(this.#head + i) % ring.length]!;
      if (x !== id) kept[n++] = x;
    }
    this.#ring = kept;
    this.#head = 0;
    this.#len = n;
  }

  /** The free queue, built from the loaded snapshot and the claimed ids on first use. */
  #queue(): Uint32Array {
    if (this.#ring) return this.#ring;
    const { max } = this.#o;
    const cutoff = this.#o.now() - this.#o.reuseDelayMs;
    const ring = new Uint32Array(max);
    // Retired ids still cooling go last, oldest first (the last entry of an id counts).
    const cooling = new Map<number, number>();
    for (const r of this.#seed.retired) {
      if (this.#inUse[r.id] || r.at <= cutoff) continue;
      cooling.delete(r.id);
      cooling.set(r.id, r.at);
    }
    let n = 0;
    for (let i = 0, id = this.#seed.next; i < max; i++, id = id === max ? 1 : id + 1) {
      if (!this.#inUse[id] && !cooling.has(id)) ring[n++] = id;
    }
    for (const [id, at] of cooling) {
      ring[n++] = id;
      this.#freedAt[id] = at;
    }
    this.#ring = ring;
    this.#head = 0;
    this.#len = n;
    return ring;
  }
}
