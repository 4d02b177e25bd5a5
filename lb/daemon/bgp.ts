// BGP in the daemon: the announcer (lb/bgp) fed with this node's announcements, which follow the
// desired services and their health; the node's drain flag (xlb drain-node), kept in a file next
// to the desired state so a drained node stays drained across restarts; the next hops (configured,
// else the interface's addresses); and the graceful stop (withdraw, wait, stop).
import { existsSync } from 'node:fs';
import { unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { BgpStatusReport, DrainReport } from '../../api/server/index.js';
import type { BgpConfig } from '../config/index.js';
import { announcements, BgpAnnouncer, type Announcement, type GobgpPort } from '../bgp/index.js';
import type { DesiredState, Service } from '../model/index.js';
import type { Logger } from './log.js';

export const DRAINED_FILE = 'node-drained';

export class DaemonBgp {
  readonly config: BgpConfig;
  readonly #announcer: BgpAnnouncer;
  readonly #drainedPath: string;
  readonly #log: Logger;
  readonly #nextHops: () => { v4?: string; v6?: string };
  #drained: boolean;
  #stopping = false;
  #last: Announcement[] = [];

  constructor(o: {
    config: BgpConfig;
    stateFile: string;
    log: Logger;
    nextHops: () => { v4?: string; v6?: string };
    client?: (target: string) => GobgpPort;
  }) {
    this.config = o.config;
    this.#log = o.log;
    this.#nextHops = o.nextHops;
    this.#drainedPath = join(dirname(o.stateFile), DRAINED_FILE);
    this.#drained = existsSync(this.#drainedPath);
    if (this.#drained) o.log.warn(`bgp: this node is drained (${this.#drainedPath}): nothing is announced until \`xlb drain-node --undo\``);
    this.#announcer = new BgpAnnouncer({ config: o.config, log: o.log, nextHops: o.nextHops, client: o.client });
  }

  get drained(): boolean {
    return this.#drained;
  }

  /** Recomputes the announcements from the services and their health. */
  update(state: DesiredState, healthy: (s: Service) => boolean): void {
    this.#last = this.#stopping
      ? []
      : announcements(state.list(), { mode: this.config.announce, drained: this.#drained, healthy });
    this.#announcer.setAnnouncements(this.#last);
  }

  start(): void {
    this.#announcer.start();
  }

  async drain(undo: boolean, state: DesiredState, healthy: (s: Service) => boolean): Promise<DrainReport> {
    const before = new Set(this.#last.filter((a) => a.announce).map((a) => a.prefix));
    this.#drained = !undo;
    if (this.#drained) await writeFile(this.#drainedPath, `${new Date().toISOString()}\n`);
    else await unlink(this.#drainedPath).catch(() => undefined);
    this.update(state, healthy);
    await this.#announcer.sync();
    const after = new Set(this.#last.filter((a) => a.announce).map((a) => a.prefix));
    this.#log.warn(`bgp: node ${this.#drained ? 'drained: every VIP withdrawn' : 'undrained: VIPs announced again'}`);
    return {
      drained: this.#drained,
      withdrawn: [...before].filter((p) => !after.has(p)),
      announced: [...after].filter((p) => !before.has(p)),
    };
  }

  /** SIGTERM: withdraw everything, wait shutdown_delay so routers move traffic away, then return. */
  async withdrawForStop(): Promise<void> {
    if (!this.config.withdrawOnStop) return;
    this.#stopping = true;
    this.#last = [];
    this.#announcer.setAnnouncements([]);
    await this.#announcer.sync();
    const st = this.#announcer.status;
    if (st.announced.size === 0 && st.connected) {
      this.#log.info(`bgp: withdrew every VIP; waiting ${this.config.shutdownDelayMs} ms (bgp.shutdown_delay) before stopping`);
    } else {
      this.#log.warn(`bgp: could not withdraw the VIPs before stopping (${st.error ?? 'gobgpd did not confirm'}); waiting ${this.config.shutdownDelayMs} ms anyway`);
    }
    await new Promise((r) => setTimeout(r, this.config.shutdownDelayMs));
  }

  async stop(): Promise<void> {
    await this.#announcer.stop();
  }

  report(): BgpStatusReport {
    const st = this.#announcer.status;
    const hops = this.#nextHops();
    const configured = new Map(this.config.neighbors.map((n) => [n.address, n.peerAs]));
    const neighbors = st.neighbors.map((p) => ({ address: p.address, peerAs: p.peerAs, state: st.connected ? p.state : 'unknown', uptimeSeconds: p.uptimeSeconds }));
    for (const [address, peerAs] of configured) {
      if (!neighbors.some((n) => n.address === address)) neighbors.push({ address, peerAs, state: 'unknown', uptimeSeconds: 0 });
    }
    return {
      enabled: true,
      connected: st.connected,
      gobgpApi: this.config.gobgpApi,
      error: st.error,
      neighbors,
      prefixes: this.#last.map((a) => ({ prefix: a.prefix, announced: st.announced.has(a.prefix), reason: a.reason })),
      drained: this.#drained,
      announce: this.config.announce,
      nextHop: hops.v4 ?? '',
      nextHopV6: hops.v6 ?? '',
    };
  }
}

export const NO_BGP: BgpStatusReport = Object.freeze({
  enabled: false,
  connected: false,
  gobgpApi: '',
  error: undefined,
  neighbors: [],
  prefixes: [],
  drained: false,
  announce: 'when_healthy',
  nextHop: '',
  nextHopV6: '',
}) as BgpStatusReport;
