// Datapath id allocation. The XDP program indexes arrays by these ids and its flow table remembers
// them, so an id must (1) stay with its service or backend for life, across restarts (the state
// file stores it), and (2) not be handed to a new backend soon after it was freed: a flow still
// pinned to the old id would silently land on the new backend. Allocation is next-fit (a cursor
// moves forward and wraps), so a freed id comes back only after every other free id was used, and
// ids freed less than `reuseDelayMs` ago are skipped while any other id is free.
import { ValidationError } from './errors.js';

export interface RetiredId {
  id: number;
  /** Wall-clock ms when it was freed. */
  at: number;
}

export interface IdAllocatorSnapshot {
  /** Where the next search starts (1..max). */
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
  private readonly inUse = new Set<number>();
  private next = 1;
  private retired: RetiredId[] = [];

  constructor(private readonly options: IdAllocatorOptions, snapshot?: IdAllocatorSnapshot) {
    if (snapshot) {
      this.next = snapshot.next >= 1 && snapshot.next <= options.max ? snapshot.next : 1;
      this.retired = snapshot.retired.filter((r) => r.id >= 1 && r.id <= options.max).map((r) => ({ ...r }));
    }
  }

  get max(): number {
    return this.options.max;
  }

  get used(): number {
    return this.inUse.size;
  }

  isUsed(id: number): boolean {
    return this.inUse.has(id);
  }

  /** Records an id that is already assigned (when loading state). */
  claim(id: number): void {
    if (!Number.isInteger(id) || id < 1 || id > this.options.max) {
      throw new RangeError(`${this.options.what} id ${id} is outside 1..${this.options.max}`);
    }
    if (this.inUse.has(id)) throw new RangeError(`${this.options.what} id ${id} is assigned twice`);
    this.inUse.add(id);
    this.retired = this.retired.filter((r) => r.id !== id);
  }

  allocate(): number {
    const { max, reuseDelayMs, now, what } = this.options;
    if (this.inUse.size >= max) {
      throw new ValidationError('FAILED_PRECONDITION', '', `all ${max} ${what} ids are in use; raise the map size in the config`);
    }
    const cutoff = now() - reuseDelayMs;
    this.retired = this.retired.filter((r) => r.at > cutoff);
    const cooling = new Set(this.retired.map((r) => r.id));
    for (let n = 0, id = this.next; n < max; n++, id = id === max ? 1 : id + 1) {
      if (!this.inUse.has(id) && !cooling.has(id)) return this.take(id);
    }
    // Every free id was freed recently: the least recently freed one is the safest choice.
    const oldest = this.retired.find((r) => !this.inUse.has(r.id))!;
    return this.take(oldest.id);
  }

  release(id: number): void {
    if (!this.inUse.delete(id)) return;
    this.retired = this.retired.filter((r) => r.id !== id);
    this.retired.push({ id, at: this.options.now() });
  }

  snapshot(): IdAllocatorSnapshot {
    const cutoff = this.options.now() - this.options.reuseDelayMs;
    return { next: this.next, retired: this.retired.filter((r) => r.at > cutoff).map((r) => ({ ...r })) };
  }

  clone(): IdAllocator {
    const copy = new IdAllocator(this.options, { next: this.next, retired: this.retired });
    for (const id of this.inUse) copy.inUse.add(id);
    return copy;
  }

  private take(id: number): number {
    this.inUse.add(id);
    this.retired = this.retired.filter((r) => r.id !== id);
    this.next = id === this.options.max ? 1 : id + 1;
    return id;
  }
}
