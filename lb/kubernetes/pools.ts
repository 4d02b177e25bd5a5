// The address pools VIPs come from: which pool an address belongs to, and the first free address
// of a family. Addresses are walked in order from each prefix's start, so every node and every
// leader that looks at the same taken set picks the same address.
import type { AddressPool } from '../config/index.js';
import { formatIp, parseIp, type IpAddress } from '../model/index.js';

interface Range {
  pool: string;
  family: 4 | 6;
  first: bigint;
  last: bigint;
  text: string;
}

function toBigInt(ip: IpAddress): bigint {
  let v = 0n;
  for (const b of ip.bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function fromBigInt(v: bigint, family: 4 | 6): string {
  const bytes = new Uint8Array(family === 4 ? 4 : 16);
  for (let i = bytes.length - 1; i >= 0; i--) {
    bytes[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return formatIp(bytes);
}

export class Pools {
  readonly #ranges: Range[];
  readonly names: readonly string[];

  constructor(pools: readonly AddressPool[]) {
    this.names = pools.map((p) => p.name);
    this.#ranges = pools.flatMap((p) =>
      p.prefixes.map((x) => {
        const first = toBigInt(parseIp(x.address, ''));
        const size = 1n << BigInt((x.family === 4 ? 32 : 128) - x.prefixLength);
        return { pool: p.name, family: x.family, first, last: first + size - 1n, text: x.text };
      }),
    );
  }

  has(name: string): boolean {
    return this.names.includes(name);
  }

  /** The pool holding this (canonical) address, or undefined. */
  poolOf(address: string): string | undefined {
    let ip: IpAddress;
    try {
      ip = parseIp(address, '');
    } catch {
      return undefined;
    }
    const v = toBigInt(ip);
    return this.#ranges.find((r) => r.family === ip.family && v >= r.first && v <= r.last)?.pool;
  }

  /** Whether any pool (or the named one) has addresses of this family. */
  serves(family: 4 | 6, pool?: string): boolean {
    return this.#ranges.some((r) => r.family === family && (pool === undefined || r.pool === pool));
  }

  /** The first address of `family` (in the named pool, else in any, in configuration order) that
   *  `isTaken` does not refuse; undefined when they are exhausted. */
  allocate(family: 4 | 6, isTaken: (address: string) => boolean, pool?: string): string | undefined {
    for (const r of this.#ranges) {
      if (r.family !== family || (pool !== undefined && r.pool !== pool)) continue;
      for (let v = r.first; v <= r.last; v++) {
        const address = fromBigInt(v, family);
        if (!isTaken(address)) return address;
      }
    }
    return undefined;
  }

  /** "web (198.51.100.0/28, 2001:db8::/120)" for messages. */
  describe(pool?: string): string {
    const names = pool === undefined ? this.names : [pool];
    return names.map((n) => `${n} (${this.#ranges.filter((r) => r.pool === n).map((r) => r.text).join(', ')})`).join(', ');
  }
}
