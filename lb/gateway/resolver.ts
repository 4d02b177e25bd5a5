// The facts the datapath needs from the kernel for one interface: the interface's MAC and
// addresses, and the next hop's MAC (route lookup, then the neighbour table; resolution triggered
// when the entry is absent or stale). A GatewayWatcher re-reads them every poll and on neighbour
// notifications, and reports when they change, so the daemon can rewrite lb_config in place.
import { EventEmitter } from 'node:events';
import { parseIp } from '../model/index.js';
import { probeNeighbour } from './probe.js';
import { Rtnl, type InterfaceAddress, type NeighbourState } from './rtnetlink.js';

export interface GatewayLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface GatewayOptions {
  /** The interface the datapath is attached to (XDP_TX leaves through it). */
  interfaceName: string;
  /** Configured next-hop router. */
  gateway: string;
  /** Poll period (default 2000 ms). */
  pollMs?: number;
  log?: GatewayLogger;
  /** Injected for tests; default a real netlink socket. */
  rtnl?: Rtnl;
}

export interface NextHopFacts {
  interface: { name: string; ifindex: number; mac: string; up: boolean; addresses: InterfaceAddress[] } | undefined;
  gateway: {
    ip: string;
    /** Address whose MAC is used: the gateway itself, or the next hop of its route if it is not on-link. */
    nextHop: string;
    /** Interface the route to the gateway leaves through (name), if there is a route. */
    routeInterface: string | undefined;
    mac: string | undefined;
    state: NeighbourState | 'missing';
    /** Why the MAC cannot be used (no route, wrong interface, unresolved), if so. */
    problem: string | undefined;
  };
}

/** Entries whose MAC the kernel vouches for (or that were set by hand and never change). */
const USABLE: ReadonlySet<string> = new Set(['reachable', 'stale', 'delay', 'probe', 'permanent', 'noarp']);
/** Entries worth a probe: nothing there, resolution failed, or the MAC is unconfirmed for a while. */
const PROBE: ReadonlySet<string> = new Set(['missing', 'none', 'failed', 'incomplete', 'stale']);

export function usableMac(facts: NextHopFacts): string | undefined {
  return facts.gateway.problem === undefined ? facts.gateway.mac : undefined;
}

function sameFacts(a: NextHopFacts | undefined, b: NextHopFacts): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class GatewayWatcher extends EventEmitter<{ change: [NextHopFacts]; error: [Error] }> {
  readonly options: Required<Omit<GatewayOptions, 'log' | 'rtnl'>>;
  readonly #rtnl: Rtnl;
  readonly #ownRtnl: boolean;
  readonly #log: GatewayLogger | undefined;
  readonly #family: 4 | 6;
  readonly #linkLocal: boolean;
  #facts: NextHopFacts | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<NextHopFacts> | undefined;
  #stopped = false;

  constructor(o: GatewayOptions) {
    super();
    this.options = { interfaceName: o.interfaceName, gateway: o.gateway, pollMs: o.pollMs ?? 2000 };
    const ip = parseIp(o.gateway, 'gateway');
    this.#family = ip.family;
    this.#linkLocal = ip.family === 6 && ip.bytes[0] === 0xfe && (ip.bytes[1]! & 0xc0) === 0x80;
    this.#rtnl = o.rtnl ?? new Rtnl();
    this.#ownRtnl = o.rtnl === undefined;
    this.#log = o.log;
  }

  /** The last facts read (undefined before the first refresh). */
  get facts(): NextHopFacts | undefined {
    return this.#facts;
  }

  /** Reads everything once (probing the gateway if its entry needs it); emits 'change' on a change. */
  refresh(): Promise<NextHopFacts> {
    // One read at a time: a poll and a notification arriving together share the result.
    this.#running ??= this.#read().finally(() => (this.#running = undefined));
    return this.#running;
  }

  /** Refreshes until the gateway's MAC is usable or the time is up; returns the last facts. */
  async waitForMac(timeoutMs: number, stepMs = 200): Promise<NextHopFacts> {
    const end = Date.now() + timeoutMs;
    let facts = await this.refresh();
    while (!usableMac(facts) && Date.now() < end && !this.#stopped) {
      await new Promise((r) => setTimeout(r, stepMs));
      facts = await this.refresh();
    }
    return facts;
  }

  /** Polls every pollMs until stop(). */
  start(): void {
    const tick = () => {
      this.#timer = setTimeout(() => {
        this.refresh()
          .catch((e: Error) => this.emit('error', e))
          .finally(() => {
            if (!this.#stopped) tick();
          });
      }, this.options.pollMs);
      this.#timer.unref();
    };
    tick();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#ownRtnl) this.#rtnl.close();
  }

  async #read(): Promise<NextHopFacts> {
    const { interfaceName, gateway } = this.options;
    const link = await this.#rtnl.linkByName(interfaceName);
    const facts: NextHopFacts = {
      interface: link && { ...link, addresses: await this.#rtnl.addresses(link.ifindex) },
      gateway: { ip: gateway, nextHop: gateway, routeInterface: undefined, mac: undefined, state: 'missing', problem: undefined },
    };
    const g = facts.gateway;
    if (!link) {
      g.problem = `interface ${interfaceName} does not exist`;
      return this.#settle(facts);
    }
    const route = await this.#rtnl.routeGet(gateway, this.#family, this.#linkLocal ? link.ifindex : undefined);
    if (!route) {
      g.problem = `no route to the gateway ${gateway}`;
      return this.#settle(facts);
    }
    g.routeInterface = (await this.#rtnl.linkByIndex(route.oif))?.name ?? `ifindex ${route.oif}`;
    if (route.gateway) g.nextHop = route.gateway;
    const n = await this.#rtnl.neighbour(g.nextHop, this.#family, route.oif);
    g.state = n?.state ?? 'missing';
    g.mac = n?.mac;
    if (route.oif !== link.ifindex) {
      // XDP_TX sends a frame back out of the interface it came in on: a next hop behind another
      // interface is unreachable for the datapath, whatever its MAC.
      g.problem = `the route to the gateway ${gateway} leaves through ${g.routeInterface}, but xlb is attached to ${interfaceName}`;
    } else if (!g.mac || !USABLE.has(g.state)) {
      g.problem = `the gateway ${g.nextHop} is not resolved yet (neighbour state ${g.state})`;
    }
    if (PROBE.has(g.state) && route.oif === link.ifindex) {
      await probeNeighbour(g.nextHop, this.#family, interfaceName, this.#linkLocal);
    }
    return this.#settle(facts);
  }

  #settle(facts: NextHopFacts): NextHopFacts {
    const before = this.#facts;
    this.#facts = facts;
    if (!sameFacts(before, facts)) {
      const mac = usableMac(facts);
      if (before && usableMac(before) !== mac) {
        if (mac) this.#log?.info(`gateway ${facts.gateway.nextHop} is at ${mac} (${facts.gateway.state})`);
        else this.#log?.warn(facts.gateway.problem ?? 'gateway unresolved');
      }
      this.emit('change', facts);
    }
    return facts;
  }
}
