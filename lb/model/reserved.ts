// Addresses a VIP must never take: the load balancer's own. A VIP equal to the gateway, to the
// encapsulation source or to an address of the interface xlbd drives makes the XDP program take
// the host's own traffic for that address and port (SSH, the API, BGP, ARP replies stay, but TCP to
// it is tunnelled away): the operator locks himself out. The daemon knows these addresses (config
// and interface); the model refuses new services on them with the field and the reason.
import { parsePrefix, prefixContains, type IpAddress, type IpPrefix } from './address.js';

export interface ReservedAddress {
  /** An address, or a prefix (a per-flow source pool). */
  address: string;
  /** What it is, for the message: "the gateway (gateway)". */
  what: string;
}

export class ReservedAddresses {
  readonly #entries: Array<{ prefix: IpPrefix; what: string; single: boolean }>;

  constructor(list: readonly ReservedAddress[] = []) {
    this.#entries = list.map((r) => {
      const prefix = parsePrefix(r.address, 'reserved', { allowBare: true });
      return { prefix, what: r.what, single: prefix.prefixLength === (prefix.address.family === 4 ? 32 : 128) };
    });
  }

  get list(): ReservedAddress[] {
    return this.#entries.map((e) => ({ address: e.single ? e.prefix.address.text : e.prefix.text, what: e.what }));
  }

  /** Why `ip` cannot be a VIP, or null. */
  reason(ip: IpAddress): string | null {
    const hit = this.#entries.find((e) => prefixContains(e.prefix, ip));
    if (!hit) return null;
    const where = hit.single ? `is ${hit.what}` : `is in ${hit.what}`;
    return `${ip.text} ${where}; a VIP there would take the load balancer's own traffic (SSH, the API) and lock you out`;
  }
}
