// The probe source ports: a range kept out of the kernel's ephemeral range (default 61000-61999,
// above Linux's 32768-60999), so the tc program can tell probe sockets from everything else by
// their local port alone. Handed out round-robin, so a port is reused as late as possible.

export class ProbePorts {
  readonly min: number;
  readonly max: number;
  #next: number;
  readonly #busy = new Set<number>();

  constructor(range: { min: number; max: number }) {
    this.min = range.min;
    this.max = range.max;
    this.#next = range.min;
  }

  get size(): number {
    return this.max - this.min + 1;
  }

  get inUse(): number {
    return this.#busy.size;
  }

  /** A free port, or undefined when every port is taken. */
  acquire(): number | undefined {
    for (let i = 0; i < this.size; i++) {
      const port = this.#next;
      this.#next = port === this.max ? this.min : port + 1;
      if (!this.#busy.has(port)) {
        this.#busy.add(port);
        return port;
      }
    }
    return undefined;
  }

  release(port: number): void {
    this.#busy.delete(port);
  }
}
