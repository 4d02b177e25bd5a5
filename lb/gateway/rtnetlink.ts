// The one file that talks to the kernel's routing netlink (npm `netlink`, pinned at 0.3.0: its API
// is marked unstable). Everything is read in the network namespace the process runs in, which for
// xlbd is the namespace of the interfaces it drives.
import { createRtNetlink, type RtNetlinkSocket } from 'netlink';
import { formatIp, parseIp } from '../model/index.js';

const AF_INET = 2;
const AF_INET6 = 10;

export interface LinkInfo {
  ifindex: number;
  name: string;
  /** Lower case, colon separated. */
  mac: string;
  up: boolean;
}

export interface InterfaceAddress {
  family: 4 | 6;
  address: string;
  prefixLength: number;
  /** 0 = global (universe), 253 = link, 254 = host. */
  scope: number;
  /** Still doing duplicate address detection, or DAD failed: not usable as a source. */
  tentative: boolean;
}

export interface RouteInfo {
  /** Interface the route leaves through. */
  oif: number;
  /** Next hop of the route, when the destination is not on-link. */
  gateway: string | undefined;
}

/** NUD_* states of a neighbour entry, as iproute2 prints them (lower case). */
export type NeighbourState = 'incomplete' | 'reachable' | 'stale' | 'delay' | 'probe' | 'failed' | 'noarp' | 'permanent' | 'none';

export interface NeighbourInfo {
  mac: string | undefined;
  state: NeighbourState;
}

function macText(b: Buffer | undefined): string | undefined {
  if (!b || b.length !== 6) return undefined;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

function ipBytes(ip: string): Buffer {
  return Buffer.from(parseIp(ip, 'address').bytes);
}

function neighbourState(s: Record<string, unknown> | undefined): NeighbourState {
  // Precedence: a permanent/noarp entry never changes; otherwise the kernel sets exactly one bit.
  for (const k of ['permanent', 'noarp', 'reachable', 'stale', 'delay', 'probe', 'incomplete', 'failed'] as const) {
    if (s?.[k]) return k;
  }
  return 'none';
}

export class Rtnl {
  readonly #socket: RtNetlinkSocket;

  constructor() {
    // Not referenced: an idle netlink socket must not keep the daemon alive on its own.
    this.#socket = createRtNetlink();
  }

  close(): void {
    this.#socket.socket.close();
  }

  async linkByName(name: string): Promise<LinkInfo | undefined> {
    const links = await this.#socket.getLinks();
    const l = links.find((x) => x.attrs.ifname === name);
    return l && this.#link(l);
  }

  async linkByIndex(ifindex: number): Promise<LinkInfo | undefined> {
    const links = await this.#socket.getLinks();
    const l = links.find((x) => x.data.index === ifindex);
    return l && this.#link(l);
  }

  #link(l: Awaited<ReturnType<RtNetlinkSocket['getLinks']>>[number]): LinkInfo {
    return {
      ifindex: l.data.index ?? 0,
      name: l.attrs.ifname ?? '',
      mac: macText(l.attrs.address) ?? '00:00:00:00:00:00',
      up: Boolean(l.data.flags?.up),
    };
  }

  async addresses(ifindex: number): Promise<InterfaceAddress[]> {
    const all = await this.#socket.getAddresses();
    const out: InterfaceAddress[] = [];
    for (const a of all) {
      if (a.data.index !== ifindex) continue;
      const family = a.data.family === AF_INET ? 4 : a.data.family === AF_INET6 ? 6 : undefined;
      const bytes = family === 4 ? (a.attrs.local ?? a.attrs.address) : a.attrs.address;
      if (!family || !bytes) continue;
      const flags = (a.attrs.flags ?? a.data.flags ?? {}) as Record<string, unknown>;
      out.push({
        family,
        address: formatIp(bytes),
        prefixLength: a.data.prefixlen ?? 0,
        scope: Number(a.data.scope ?? 0),
        tentative: Boolean(flags.tentative || flags.dadfailed),
      });
    }
    return out;
  }

  /** `ip route get IP [oif IFINDEX]`; undefined when there is no route. */
  async routeGet(ip: string, family: 4 | 6, oif?: number): Promise<RouteInfo | undefined> {
    const attrs: { dst: Buffer; oif?: number } = { dst: ipBytes(ip) };
    if (oif !== undefined) attrs.oif = oif;
    let routes;
    try {
      routes = await this.#socket.getRoute({ family: family === 4 ? AF_INET : AF_INET6, dstLen: family === 4 ? 32 : 128 }, attrs);
    } catch (e) {
      // ENETUNREACH / EHOSTUNREACH: no route at all.
      if (/UNREACH/.test(String((e as Error).message ?? e))) return undefined;
      throw e;
    }
    const r = routes[0];
    if (!r || r.attrs.oif === undefined) return undefined;
    return { oif: r.attrs.oif, gateway: r.attrs.gateway ? formatIp(r.attrs.gateway) : undefined };
  }

  /** The neighbour-table entry of `ip` on `ifindex`, or undefined if there is none. */
  async neighbour(ip: string, family: 4 | 6, ifindex: number): Promise<NeighbourInfo | undefined> {
    const want = ipBytes(ip);
    const all = await this.#socket.getNeighbors({ family: family === 4 ? AF_INET : AF_INET6 });
    const n = all.find((x) => x.data.ifindex === ifindex && x.attrs.dst && Buffer.from(x.attrs.dst).equals(want));
    if (!n) return undefined;
    return { mac: macText(n.attrs.lladdr), state: neighbourState(n.data.state as Record<string, unknown> | undefined) };
  }
}
