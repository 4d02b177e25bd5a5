// The announcer keeps gobgpd's global RIB in step with what this node should announce, level-
// triggered: every pass reads gobgpd's state (its BGP instance, neighbours, this node's host
// routes) and corrects only what differs. So a gobgpd restart (nothing there any more) and an xlbd
// restart (stale paths of the last run) are handled by the same code, and paths that are already
// right are never touched: no flap. A pass runs when the announcements change and every pollMs;
// when gobgpd does not answer, xlbd keeps serving and retries with exponential backoff.
//
// Ownership: xlbd treats every locally originated /32 and /128 in its gobgpd as its own (adds,
// replaces and withdraws them). Routes gobgpd learnt from neighbours are never touched.
import { EventEmitter } from 'node:events';
import type { BgpConfig } from '../config/index.js';
import type { Announcement } from './announce.js';
import { GobgpClient, type GobgpPeer, type RibPath } from './gobgp.js';

export interface BgpLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** The gobgpd operations the announcer uses (GobgpClient implements them). */
export type GobgpPort = Pick<GobgpClient, 'target' | 'getBgp' | 'startBgp' | 'listPeers' | 'addPeer' | 'listPaths' | 'addPath' | 'deletePath' | 'close'>;

export interface AnnouncerOptions {
  config: BgpConfig;
  log: BgpLogger;
  /** The next hops to announce (bgp.next_hop[_v6], else the interface's addresses). */
  nextHops: () => { v4?: string; v6?: string };
  /** Client factory (tests inject failures). */
  client?: (target: string) => GobgpPort;
  pollMs?: number;
  backoff?: { minMs: number; maxMs: number };
}

export interface AnnouncerStatus {
  connected: boolean;
  error: string | undefined;
  neighbors: GobgpPeer[];
  /** Prefix → in gobgpd's RIB now (as of the last pass). */
  announced: Set<string>;
  /** The last successful pass (ms since the epoch), 0 = none yet. */
  lastSyncMs: number;
}

function isHostRoute(prefix: string): boolean {
  return prefix.endsWith(prefix.includes(':') ? '/128' : '/32');
}

function samePath(a: Pick<RibPath, 'nextHop' | 'communities'>, b: Pick<RibPath, 'nextHop' | 'communities'>): boolean {
  const c = (x: number[]) => [...x].sort((p, q) => p - q).join(',');
  return a.nextHop === b.nextHop && c(a.communities) === c(b.communities);
}

function grpcDetails(e: unknown): string {
  return (e as { details?: string }).details || (e as Error).message;
}

export class BgpAnnouncer extends EventEmitter<{ synced: [] }> {
  readonly #o: AnnouncerOptions;
  readonly #client: GobgpPort;
  #wanted: Announcement[] = [];
  #started = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #failures = 0;
  #waiters: Array<() => void> = [];
  readonly #status: AnnouncerStatus = { connected: false, error: undefined, neighbors: [], announced: new Set(), lastSyncMs: 0 };
  readonly #neighborErrors = new Map<number, string>();
  #sessionStates = new Map<string, string>();

  constructor(o: AnnouncerOptions) {
    super();
    this.#o = o;
    this.#client = (o.client ?? ((t) => new GobgpClient(t)))(o.config.gobgpApi);
  }

  get status(): AnnouncerStatus {
    return { ...this.#status, announced: new Set(this.#status.announced), neighbors: [...this.#status.neighbors] };
  }

  /** The announcements to converge to (all of them: withdrawals are what is missing or false). */
  setAnnouncements(list: readonly Announcement[]): void {
    this.#wanted = [...list];
    if (this.#started) this.#kick();
  }

  /** Starts the loop; the first pass runs at once. Call after the first setAnnouncements. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#kick();
  }

  /** Resolves after a full pass that started after this call (or at once when stopped). */
  sync(): Promise<void> {
    if (this.#stopped || !this.#started) return Promise.resolve();
    return new Promise((resolve) => {
      this.#waiters.push(resolve);
      this.#kick();
    });
  }

  /** Stops the loop (paths stay in gobgpd unless withdrawn first). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
    for (const w of this.#waiters.splice(0)) w();
    this.#client.close();
  }

  #kick(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#pass(), 0);
  }

  async #pass(): Promise<void> {
    if (this.#stopped || this.#running) return;
    const waiters = this.#waiters.splice(0);
    this.#again = false;
    let delay = this.#o.pollMs ?? 2000;
    this.#running = (async () => {
      try {
        await this.#reconcile();
        if (!this.#status.connected) this.#o.log.info(`bgp: gobgpd at ${this.#o.config.gobgpApi} answers`);
        this.#status.connected = true;
        this.#failures = 0;
        this.#status.lastSyncMs = Date.now();
        this.#status.error = this.#neighborErrors.values().next().value;
      } catch (e) {
        const message = this.#describe(e);
        if (this.#status.error !== message) this.#o.log.error(`bgp: ${message}; retrying with backoff`);
        // Any answer other than "unreachable" came from gobgpd itself.
        this.#status.connected = !this.#isUnreachable(e);
        this.#status.error = message;
        this.#failures++;
        const b = this.#o.backoff ?? { minMs: 500, maxMs: 5000 };
        delay = Math.min(b.maxMs, b.minMs * 2 ** (this.#failures - 1));
      }
    })();
    await this.#running;
    this.#running = undefined;
    for (const w of waiters) w();
    this.emit('synced');
    if (this.#stopped) return;
    if (this.#again || this.#waiters.length) delay = 0;
    this.#timer = setTimeout(() => void this.#pass(), delay);
    this.#timer.unref();
  }

  #isUnreachable(e: unknown): boolean {
    const code = (e as { code?: number }).code;
    return code === 14 || code === 4; // UNAVAILABLE, DEADLINE_EXCEEDED
  }

  #describe(e: unknown): string {
    if (this.#isUnreachable(e)) return `gobgpd at ${this.#o.config.gobgpApi} is unreachable (${grpcDetails(e)})`;
    return grpcDetails(e);
  }

  async #reconcile(): Promise<void> {
    const c = this.#client;
    const cfg = this.#o.config;
    const hops = this.#o.nextHops();
    const g = await c.getBgp();
    if (g.asn === 0) {
      if (cfg.localAs === undefined) {
        throw new Error('gobgpd runs no BGP instance and bgp.local_as is not set: set bgp.local_as (and bgp.router_id), or start gobgpd with its own config (-f)');
      }
      const routerId = cfg.routerId ?? hops.v4;
      if (!routerId) throw new Error('bgp.router_id: needed to start gobgpd\'s BGP instance (no IPv4 next hop to take it from)');
      await c.startBgp({ asn: cfg.localAs, routerId, listenPort: cfg.listenPort });
      this.#o.log.info(`bgp: started gobgpd's BGP instance: AS ${cfg.localAs}, router id ${routerId}`);
    } else if (cfg.localAs !== undefined && g.asn !== cfg.localAs) {
      throw new Error(`bgp.local_as: ${cfg.localAs}, but gobgpd already runs AS ${g.asn} (from its own config?); make them agree`);
    }

    let peers = await c.listPeers();
    let added = false;
    for (const [i, n] of cfg.neighbors.entries()) {
      const have = peers.find((p) => p.address === n.address);
      if (have && have.peerAs === n.peerAs) {
        this.#neighborErrors.delete(i);
        continue;
      }
      try {
        await c.addPeer(n);
        this.#neighborErrors.delete(i);
        added = true;
        this.#o.log.info(`bgp: added neighbour ${n.address} (AS ${n.peerAs}) to gobgpd`);
      } catch (e) {
        const field = have ? `bgp.neighbors[${i}].peer_as` : `bgp.neighbors[${i}]`;
        const why = have ? ` (gobgpd already has ${n.address} with peer AS ${have.peerAs}, from its own config?)` : '';
        const msg = `${field}: gobgpd refused the neighbour ${n.address}: ${grpcDetails(e)}${why}`;
        if (this.#neighborErrors.get(i) !== msg) this.#o.log.error(`bgp: ${msg}`);
        this.#neighborErrors.set(i, msg);
      }
    }
    if (added) peers = await c.listPeers();
    this.#noteSessions(peers);
    this.#status.neighbors = peers;

    const announced = new Set<string>();
    for (const family of [4, 6] as const) {
      const nextHop = family === 4 ? hops.v4 : hops.v6;
      const want = new Map<string, RibPath>();
      for (const a of this.#wanted) {
        if (!a.announce || a.family !== family) continue;
        if (!nextHop) throw new Error(`no IPv${family} next hop to announce ${a.prefix} with: set bgp.next_hop${family === 6 ? '_v6' : ''} or give the interface an IPv${family} address`);
        want.set(a.prefix, { prefix: a.prefix, family, nextHop, communities: cfg.communities, local: true });
      }
      const have = (await c.listPaths(family)).filter((p) => p.local && isHostRoute(p.prefix));
      const haveBy = new Map<string, RibPath[]>();
      for (const p of have) haveBy.set(p.prefix, [...(haveBy.get(p.prefix) ?? []), p]);
      for (const [prefix, paths] of haveBy) {
        if (want.has(prefix)) continue;
        for (const p of paths) await c.deletePath(p);
        this.#o.log.info(`bgp: withdrew ${prefix}`);
      }
      for (const [prefix, w] of want) {
        const cur = haveBy.get(prefix);
        if (!cur?.some((p) => samePath(p, w))) {
          await c.addPath(w); // replaces a path of ours with other attributes (implicit withdraw)
          this.#o.log.info(`bgp: announced ${prefix} next hop ${w.nextHop}`);
        }
        announced.add(prefix);
      }
    }
    this.#status.announced = announced;
  }

  #noteSessions(peers: GobgpPeer[]): void {
    const next = new Map(peers.map((p) => [p.address, p.state]));
    for (const [address, state] of next) {
      const was = this.#sessionStates.get(address);
      if (was === state) continue;
      if (state === 'established') this.#o.log.info(`bgp: session with ${address} established`);
      else if (was === 'established') this.#o.log.warn(`bgp: session with ${address} is down (${state})`);
    }
    this.#sessionStates = next;
  }
}
