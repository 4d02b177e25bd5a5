// Health checking in the daemon: the monitor (lb/health) restored from the last seen states, the
// probe tunnel it opens on the datapath's interface, the outer source of tunnelled probes (the
// datapath's own), and the last-seen file written shortly after every transition and at stop.
import { dirname, join } from 'node:path';
import type { BackendHealthView, HealthStatusReport, HealthView, ServiceHealthView } from '../../api/server/index.js';
import type { XlbdConfig } from '../config/index.js';
import type { LbDatapath } from '../datapath/index.js';
import { HealthMonitor, ProbeTunnel, loadLastSeen, saveLastSeen } from '../health/index.js';
import type { DesiredState, Service } from '../model/index.js';
import type { Logger } from './log.js';

export const LAST_SEEN_FILE = 'health-last-seen.json';
const SAVE_DELAY_MS = 1000;
const OUTER_SOURCE_TTL_MS = 1000;

export class DaemonHealth implements HealthView {
  readonly monitor: HealthMonitor;
  readonly #path: string;
  readonly #log: Logger;
  readonly #state: () => DesiredState | undefined;
  #saveTimer: NodeJS.Timeout | undefined;
  #tunnel: ProbeTunnel | undefined;

  private constructor(monitor: HealthMonitor, path: string, log: Logger, state: () => DesiredState | undefined) {
    this.monitor = monitor;
    this.#path = path;
    this.#log = log;
    this.#state = state;
    monitor.on('transition', () => this.#saveSoon());
  }

  /** The monitor with the last seen states; probing starts with start(). */
  static async create(
    c: XlbdConfig,
    log: Logger,
    datapath: () => { dp: LbDatapath; ifindex: number } | undefined,
    state: () => DesiredState | undefined,
  ): Promise<DaemonHealth> {
    const path = join(dirname(c.stateFile), LAST_SEEN_FILE);
    const seen = await loadLastSeen(path);
    if (seen.problem) log.warn(`health: ${seen.problem}; every backend starts unknown`);
    else if (seen.entries.length) log.info(`health: restored the last seen state of ${seen.entries.length} backends from ${path}; checking them again now`);
    let self: DaemonHealth | undefined;
    const outer = new Map<4 | 6, { value: string | undefined; at: number }>();
    const monitor = new HealthMonitor({
      log,
      ports: c.health.sourcePorts,
      maxConcurrency: c.health.maxConcurrency,
      lastSeen: seen.entries,
      openTunnel: () => {
        const d = datapath();
        if (!d) throw new Error('the datapath is not running');
        const tunnel = ProbeTunnel.open({ ifindex: d.ifindex, ports: c.health.sourcePorts });
        if (self) self.#tunnel = tunnel;
        return tunnel;
      },
      // Asked once per tunnelled probe; getConfig() decodes the datapath's settings map, which at
      // thousands of probes a second was a quarter of xlbd's main thread (profiled). A second-old
      // answer is fine: the source changes only with a configuration reload.
      outerSource: (family) => {
        const now = performance.now();
        const cached = outer.get(family);
        if (cached && now - cached.at < OUTER_SOURCE_TTL_MS) return cached.value;
        const cfg = datapath()?.dp.getConfig();
        const text = family === 4 ? (cfg?.sourceV4 ?? cfg?.sourceCidrV4) : (cfg?.sourceV6 ?? cfg?.sourceCidrV6);
        const value = text?.split('/')[0];
        outer.set(family, { value, at: now });
        return value;
      },
    });
    self = new DaemonHealth(monitor, path, log, state);
    return self;
  }

  sync(state: DesiredState): string[] {
    return this.monitor.sync(state.list());
  }

  /** sync() for the services of one change only (HealthMonitor.syncChanged). */
  syncChanged(changes: readonly { id: string; before?: Service; after?: Service }[]): string[] {
    return this.monitor.syncChanged(changes);
  }

  /** A service takes new flows: it has an active backend that is not down (checked or not). */
  healthy(svc: Service): boolean {
    return this.monitor.programmed(svc).some((b) => b.state === 'active') && !this.monitor.overlay(svc).allDown;
  }

  backend(serviceId: string, address: string): BackendHealthView | undefined {
    const b = this.monitor.backend(serviceId, address);
    return b && { status: b.status, sinceMs: b.sinceMs, lastError: b.lastError, lastCheckMs: b.lastCheckMs, probe: b.target };
  }

  service(serviceId: string): ServiceHealthView | undefined {
    const svc = this.#state()?.find(serviceId);
    if (!svc?.healthCheck) return undefined;
    const o = this.monitor.overlay(svc);
    return { allBackendsDown: o.allDown, failingOpen: o.failingOpen };
  }

  report(): HealthStatusReport {
    const counts = { up: 0, down: 0, unknown: 0 };
    for (const e of this.monitor.entries()) counts[e.status]++;
    const allDown = this.monitor.allDown();
    return {
      checkedBackends: this.monitor.targetCount,
      ...counts,
      inFlight: this.monitor.inFlight,
      lateProbes: this.monitor.late,
      probesOk: this.monitor.probes.ok,
      probesFailed: this.monitor.probes.failed,
      tunnelAttached: this.#tunnel !== undefined,
      tunnelError: this.monitor.tunnelError,
      allDownServices: allDown.map((a) => a.service),
      failingOpenServices: allDown.filter((a) => a.failingOpen).map((a) => a.service),
    };
  }

  #saveSoon(): void {
    if (this.#saveTimer) return;
    this.#saveTimer = setTimeout(() => {
      this.#saveTimer = undefined;
      this.save().catch((e: Error) => this.#log.warn(`health: cannot save ${this.#path}: ${e.message}`));
    }, SAVE_DELAY_MS);
    this.#saveTimer.unref();
  }

  save(): Promise<void> {
    return saveLastSeen(this.#path, this.monitor.lastSeen());
  }

  /** Stops probing, detaches the tunnel and writes the last seen states. */
  async close(): Promise<void> {
    clearTimeout(this.#saveTimer);
    this.#saveTimer = undefined;
    this.monitor.close();
    this.#tunnel = undefined;
    try {
      await this.save();
    } catch (e) {
      this.#log.warn(`health: cannot save ${this.#path}: ${(e as Error).message}`);
    }
  }
}
