// The health monitor: one probe target per (service with a check, backend), each probed every
// interval at a stable phase of its own (a hash of its key), so probes spread over the interval
// instead of firing together; at most `maxConcurrency` probes run at once (the rest wait their
// turn, late rather than lost). The probes run on the addon's prober thread (native-probes.ts) and
// are scheduled on a wheel of TICK_MS buckets with one timer. Results go through the state machine (state.ts); a transition is
// logged, counted and, coalesced per event-loop turn, reported as the services whose datapath
// backend set may have changed ('change'), which the daemon hands to the reconciler.
//
// Tunnel-mode probes connect to VIP:port from a probe source port that the tc egress program
// (tunnel.ts) routes to the one backend under test; direct-mode probes connect to the backend's
// own address (or its check_address). The tunnel is attached on first use only: without tunnel
// checks nothing is attached, and the XDP datapath never pays for health checking.
import { EventEmitter } from 'node:events';
import { createHash } from 'node:crypto';
import type { Backend, HealthCheckSpec, Service } from '../model/index.js';
import { applyHealth, type OverlayResult } from './overlay.js';
import { ProbePorts } from './ports.js';
import { nativeProber } from './native-probes.js';
import { prepareProbe, type ProbeResult, type ProbeSpec } from './probes.js';
import { newRecord, observe, type HealthRecord, type HealthStatus } from './state.js';
import { ProbeTunnel, type EncodedTarget, type ProbeRoute } from './tunnel.js';

export interface HealthLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** What the monitor needs from the probe tunnel (tunnel.ts's ProbeTunnel). */
export interface TunnelPort {
  route(r: ProbeRoute): void;
  /** Optional fast path: the route's value encoded once per target (ProbeTunnel.encode). */
  routeEncoded?(port: number, t: EncodedTarget): void;
  close(): void;
}

/** A backend's last seen health, as restored at start (not truth: re-checked at once). */
export interface LastSeenEntry {
  service: string;
  address: string;
  status: 'up' | 'down';
  sinceMs: number;
}

export interface HealthMonitorOptions {
  log: HealthLogger;
  /** Probe source ports (inclusive range). */
  ports: { min: number; max: number };
  maxConcurrency: number;
  /** Opens the probe tunnel (first tunnel-mode probe); throws when it cannot. */
  openTunnel: () => TunnelPort;
  /** The outer source address of tunnelled probes towards a backend of this family. */
  outerSource: (family: 4 | 6) => string | undefined;
  lastSeen?: readonly LastSeenEntry[];
  /** Wall clock (tests). */
  now?: () => number;
  /** The first probe of a target runs within this much of its creation (default 1000 ms). */
  firstProbeWithinMs?: number;
  /** Runs one probe (default: the prober thread, native-probes.ts; tests inject their own). */
  probe?: (spec: ProbeSpec) => Promise<ProbeResult>;
}

export interface TransitionEvent {
  service: string;
  backend: string;
  from: HealthStatus;
  to: HealthStatus;
  error: string | undefined;
}

export interface HealthEvents {
  transition: [TransitionEvent];
  /** Services whose programmed backend set may differ now (coalesced). */
  change: [string[]];
}

export interface BackendHealthReport extends Omit<HealthRecord, 'successes' | 'failures'> {
  /** How the backend is probed, e.g. "http 10.100.0.10:80/healthz via tunnel to 10.1.0.5". */
  target: string;
}

interface Target {
  key: string;
  service: string;
  address: string;
  family: 4 | 6;
  check: HealthCheckSpec;
  probe: ProbeSpec;
  /** Tunnel mode: route the probe socket to this backend. */
  tunnel: { vip: string; vipPort: number; backend: string } | undefined;
  /** The tunnel route's value, encoded for `encodedFor` (the outer source it was made with). */
  encoded: EncodedTarget | undefined;
  encodedFor: string | undefined;
  record: HealthRecord;
  phaseMs: number;
  /** The scheduler tick this target waits for (undefined: not waiting). */
  dueTick: number | undefined;
  queued: boolean;
  running: boolean;
  description: string;
}

/** The scheduler's resolution: probes start up to this much after their point in the interval. */
const TICK_MS = 10;

const keyOf = (service: string, address: string) => `${service}|${address}`;

function fraction(key: string): number {
  return createHash('sha1').update(key).digest().readUInt32BE(0) / 0x1_0000_0000;
}

/** Where in each interval a backend of a service is probed (ms after the monitor's epoch, mod interval). */
export function probePhaseMs(service: string, address: string, intervalMs: number): number {
  return fraction(keyOf(service, address)) * intervalMs;
}

function sameProbe(a: Target, b: Target): boolean {
  return JSON.stringify([a.check, a.probe, a.tunnel]) === JSON.stringify([b.check, b.probe, b.tunnel]);
}

export class HealthMonitor extends EventEmitter<HealthEvents> {
  readonly #o: HealthMonitorOptions;
  readonly #now: () => number;
  readonly #ports: ProbePorts;
  readonly #targets = new Map<string, Target>();
  readonly #services = new Map<string, Service>();
  readonly #allDown = new Map<string, boolean>();
  /** Targets waiting for a free slot, oldest first from #queueHead (a shift() per probe on a long
   *  array moved the whole array each time: measured, it was xlbd's largest cost when late). */
  #queue: Target[] = [];
  #queueHead = 0;
  readonly #lastSeen = new Map<string, LastSeenEntry>();
  readonly #epoch: number;
  #running = 0;
  readonly #buckets = new Map<number, Target[]>();
  #doneTick = Math.floor(performance.now() / TICK_MS);
  #tickTimer: NodeJS.Timeout | undefined;
  #tunnel: TunnelPort | undefined;
  #tunnelError: string | undefined;
  #dirty = new Set<string>();
  #flushScheduled = false;
  #closed = false;
  #started = false;
  /** Probes that had to wait for a free slot (the interval is not being kept). */
  late = 0;
  /** Probes finished, by result (counted, not emitted: there may be thousands a second). */
  readonly probes = { ok: 0, failed: 0 };

  constructor(o: HealthMonitorOptions) {
    super();
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.#ports = new ProbePorts(o.ports);
    this.#epoch = this.#now();
    for (const e of o.lastSeen ?? []) this.#lastSeen.set(keyOf(e.service, e.address), e);
  }

  // ---- the desired state -------------------------------------------------------------------

  /**
   * Brings the targets in step with the services: new checks and backends get a target (state as
   * last seen, else unknown), removed ones lose theirs, changed ones keep their state but are
   * probed the new way. Returns the services whose programmed set may have changed.
   */
  sync(services: readonly Service[]): string[] {
    const changed = new Set<string>();
    const wanted = new Map<string, Target>();
    this.#services.clear();
    for (const s of services) {
      this.#services.set(s.id, s);
      if (!s.healthCheck) continue;
      for (const b of s.backends) {
        const t = this.#target(s, b, s.healthCheck);
        wanted.set(t.key, t);
      }
    }
    for (const [key, cur] of this.#targets) {
      if (wanted.has(key)) continue;
      this.#drop(cur);
      this.#targets.delete(key);
      if (cur.record.status === 'down') changed.add(cur.service);
    }
    this.#install(wanted);
    for (const id of [...this.#allDown.keys()]) if (!this.#services.get(id)?.healthCheck) this.#allDown.delete(id);
    for (const s of services) if (s.healthCheck) this.#noteService(s, false);
    return [...changed];
  }

  /**
   * sync() for the services one change touched (`before` as the monitor last saw it, `after` as it
   * is now; either absent for a creation or a deletion): O(their backends), not O(every service),
   * so an API change costs the same with 10 or 10 000 services. Same result as sync() of the whole
   * state, since every other service is the same object as before.
   */
  syncChanged(changes: readonly { id: string; before?: Service; after?: Service }[]): string[] {
    const changed = new Set<string>();
    for (const c of changes) {
      const wanted = new Map<string, Target>();
      if (c.after) {
        this.#services.set(c.id, c.after);
        if (c.after.healthCheck) for (const b of c.after.backends) {
          const t = this.#target(c.after, b, c.after.healthCheck);
          wanted.set(t.key, t);
        }
      } else this.#services.delete(c.id);
      // The service's current targets: those of its backends before the change (sync() keeps
      // exactly one target per backend of a checked service).
      for (const b of c.before?.backends ?? []) {
        const key = keyOf(c.id, b.address);
        const cur = this.#targets.get(key);
        if (!cur || wanted.has(key)) continue;
        this.#drop(cur);
        this.#targets.delete(key);
        if (cur.record.status === 'down') changed.add(cur.service);
      }
      this.#install(wanted);
      if (!c.after?.healthCheck) this.#allDown.delete(c.id);
      else this.#noteService(c.after, false);
    }
    return [...changed];
  }

  /** Makes `wanted` current: a target whose probe changed replaces the old one and keeps its
   *  record (status, last result) with the streaks restarted; a new one is probed at once. */
  #install(wanted: ReadonlyMap<string, Target>): void {
    for (const [key, next] of wanted) {
      const cur = this.#targets.get(key);
      if (cur && sameProbe(cur, next)) continue;
      if (cur) {
        next.record = cur.record;
        next.record.successes = 0;
        next.record.failures = 0;
        this.#drop(cur);
      }
      this.#targets.set(key, next);
      if (this.#started) this.#schedule(next, true);
    }
  }

  /** Starts probing (after the datapath is attached): every target is checked at once. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    for (const t of this.#targets.values()) this.#schedule(t, true);
  }

  // ---- what the rest of xlbd reads ------------------------------------------------------------

  /** The backends the datapath should hold for this service (the overlay). */
  programmed(service: Service): readonly Backend[] {
    return this.overlay(service).backends;
  }

  overlay(service: Service): OverlayResult {
    return applyHealth(service, (address) => this.#targets.get(keyOf(service.id, address))?.record.status);
  }

  /** Health of one backend of a service with a check; undefined when it has none. */
  backend(service: string, address: string): BackendHealthReport | undefined {
    const t = this.#targets.get(keyOf(service, address));
    if (!t) return undefined;
    const { status, sinceMs, lastError, lastCheckMs } = t.record;
    return { status, sinceMs, lastError, lastCheckMs, target: t.description };
  }

  /** Every target's state (metrics). */
  *entries(): IterableIterator<{ service: string; backend: string; status: HealthStatus }> {
    for (const t of this.#targets.values()) yield { service: t.service, backend: t.address, status: t.record.status };
  }

  /** Services whose every backend is down right now, and whether they fail open. */
  allDown(): { service: string; failingOpen: boolean }[] {
    const out: { service: string; failingOpen: boolean }[] = [];
    for (const [id, down] of this.#allDown) {
      if (down) out.push({ service: id, failingOpen: this.#services.get(id)?.healthCheck?.failOpen ?? true });
    }
    return out;
  }

  get targetCount(): number {
    return this.#targets.size;
  }

  get inFlight(): number {
    return this.#running;
  }

  /** Why tunnel-mode probes cannot run, if they cannot. */
  get tunnelError(): string | undefined {
    return this.#tunnelError;
  }

  /** The states worth restoring after a restart (unknown ones are not). */
  lastSeen(): LastSeenEntry[] {
    const out: LastSeenEntry[] = [];
    for (const t of this.#targets.values()) {
      if (t.record.status !== 'unknown') out.push({ service: t.service, address: t.address, status: t.record.status, sinceMs: t.record.sinceMs });
    }
    return out;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#targets.values()) this.#drop(t);
    this.#queue = [];
    this.#queueHead = 0;
    clearTimeout(this.#tickTimer);
    this.#tickTimer = undefined;
    this.#buckets.clear();
    this.#tunnel?.close();
    this.#tunnel = undefined;
  }

  // ---- targets --------------------------------------------------------------------------------

  #target(s: Service, b: Backend, check: HealthCheckSpec): Target {
    const key = keyOf(s.id, b.address);
    const port = b.checkPort ?? check.port ?? s.port;
    const direct = check.mode === 'direct' || b.checkAddress !== undefined;
    const address = b.checkAddress ?? (direct ? b.address : s.vip);
    const probe: ProbeSpec = { kind: check.kind, address, port, timeoutMs: check.timeoutMs };
    if (check.path !== undefined) probe.path = check.path;
    if (check.host !== undefined) probe.host = check.host;
    if (check.expectStatus !== undefined) probe.expectStatus = check.expectStatus;
    if (check.payload !== undefined) probe.payload = Buffer.from(check.payload);
    if (check.payloadHex !== undefined) probe.payload = Buffer.from(check.payloadHex, 'hex');
    if (!this.#o.probe) prepareProbe(probe);
    const tunnel = direct ? undefined : { vip: s.vip, vipPort: port, backend: b.address };
    const shown = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
    const description = `${check.kind} ${shown}${check.kind === 'http' ? check.path : ''}${tunnel ? ` through the tunnel to ${b.address}` : ' direct'}`;
    const seen = this.#lastSeen.get(key);
    const record = seen ? newRecord(this.#now(), seen.status, seen.sinceMs) : newRecord(this.#now());
    return {
      key, service: s.id, address: b.address, family: b.family, check, probe, tunnel, record,
      phaseMs: probePhaseMs(s.id, b.address, check.intervalMs),
      encoded: undefined, encodedFor: undefined,
      dueTick: undefined, queued: false, running: false, description,
    };
  }

  #drop(t: Target): void {
    t.dueTick = undefined; // its bucket entry is skipped
    t.queued = false; // its queue entry, if any, is skipped
  }

  /** Next run: soon for a first probe (spread over firstProbeWithinMs), else the next point of
   *  this target's phase grid at least half an interval away. */
  #schedule(t: Target, first: boolean): void {
    if (this.#closed) return;
    const now = this.#now();
    const interval = t.check.intervalMs;
    let delay: number;
    if (first) {
      delay = fraction(`${t.key}#first`) * Math.min(interval, this.#o.firstProbeWithinMs ?? 1000);
    } else {
      const sinceEpoch = now - this.#epoch - t.phaseMs;
      let next = this.#epoch + t.phaseMs + (Math.floor(sinceEpoch / interval) + 1) * interval;
      if (next - now < interval / 2) next += interval;
      delay = next - now;
    }
    const tick = Math.ceil((performance.now() + Math.max(0, delay)) / TICK_MS);
    t.dueTick = tick;
    const bucket = this.#buckets.get(tick);
    if (bucket) bucket.push(t);
    else this.#buckets.set(tick, [t]);
    if (!this.#tickTimer) this.#arm();
  }

  // The schedule is a wheel of TICK_MS buckets with one timer, not a timer per target: every due
  // probe of a tick starts in one event-loop turn (and reaches the prober thread in one call).
  #arm(): void {
    const at = (this.#doneTick + 1) * TICK_MS;
    this.#tickTimer = setTimeout(() => this.#onTick(), Math.max(0, at - performance.now()));
    this.#tickTimer.unref();
  }

  #onTick(): void {
    this.#tickTimer = undefined;
    if (this.#closed) return;
    const current = Math.floor(performance.now() / TICK_MS);
    for (let tick = this.#doneTick + 1; tick <= current; tick++) {
      const bucket = this.#buckets.get(tick);
      if (!bucket) continue;
      this.#buckets.delete(tick);
      for (const t of bucket) if (t.dueTick === tick) this.#due(t);
    }
    this.#doneTick = current;
    if (this.#buckets.size) this.#arm();
  }

  #due(t: Target): void {
    t.dueTick = undefined;
    if (this.#targets.get(t.key) !== t || this.#closed) return;
    if (this.#running >= this.#o.maxConcurrency) {
      this.late++;
      t.queued = true;
      this.#queue.push(t);
      return;
    }
    this.#run(t);
  }

  // Callbacks rather than promises from here to the result: at thousands of probes a second the
  // promise and async-function allocations per probe were a visible share of xlbd's CPU.
  #run(t: Target): void {
    this.#running++;
    t.running = true;
    this.#probeOnce(t, (result) => {
      this.#running--;
      t.running = false;
      if (result.ok) this.probes.ok++;
      else this.probes.failed++;
      if (this.#targets.get(t.key) === t && !this.#closed) {
        this.#record(t, result);
        this.#schedule(t, false);
      }
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#running < this.#o.maxConcurrency && this.#queueHead < this.#queue.length) {
      const next = this.#queue[this.#queueHead++]!;
      if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#queueHead);
        this.#queueHead = 0;
      }
      if (!next.queued || this.#targets.get(next.key) !== next) continue;
      next.queued = false;
      this.#run(next);
    }
  }

  /** One probe of `spec` from `localPort` (0: any): the injected probe function, else the prober thread. */
  #start(spec: ProbeSpec, localPort: number, done: (r: ProbeResult) => void): void {
    const fail = (e: unknown) => done({ ok: false, error: (e as Error).message });
    try {
      if (this.#o.probe) this.#o.probe(localPort ? { ...spec, localPort } : spec).then(done, fail);
      else nativeProber().start(spec, localPort, done);
    } catch (e) {
      fail(e);
    }
  }

  #probeOnce(t: Target, done: (r: ProbeResult) => void): void {
    if (!t.tunnel) return this.#start(t.probe, 0, done);
    const tunnel = this.#openTunnel();
    if (!tunnel) return done({ ok: false, error: `probe tunnel unavailable: ${this.#tunnelError}` });
    const outer = this.#o.outerSource(t.family);
    if (!outer) return done({ ok: false, error: `no IPv${t.family} encapsulation source (encap.source_v${t.family} or an interface address)` });
    const via = t.tunnel;
    // A port someone else has bound is skipped; the next one is tried (a few times at most).
    const attempt = (n: number): void => {
      if (n === 4) return done({ ok: false, error: 'every probe source port tried was in use' });
      const port = this.#ports.acquire();
      if (port === undefined) return done({ ok: false, error: 'no free probe source port (health.source_ports too small)' });
      try {
        const protocol = t.check.kind === 'udp' ? 'udp' : 'tcp';
        if (tunnel.routeEncoded) {
          if (t.encodedFor !== outer) {
            t.encoded = ProbeTunnel.encode({ protocol, vip: via.vip, vipPort: via.vipPort, backend: via.backend, outerSource: outer });
            t.encodedFor = outer;
          }
          tunnel.routeEncoded(port, t.encoded!);
        } else {
          tunnel.route({ port, protocol, vip: via.vip, vipPort: via.vipPort, backend: via.backend, outerSource: outer });
        }
      } catch (e) {
        this.#ports.release(port);
        return done({ ok: false, error: (e as Error).message });
      }
      this.#start(t.probe, port, (r) => {
        this.#ports.release(port);
        if (r.portBusy) attempt(n + 1);
        else done(r);
      });
    };
    attempt(0);
  }

  #openTunnel(): TunnelPort | undefined {
    if (this.#tunnel || this.#tunnelError) return this.#tunnel;
    try {
      this.#tunnel = this.#o.openTunnel();
      this.#o.log.info(`health: probe tunnel attached (source ports ${this.#ports.min}-${this.#ports.max})`);
    } catch (e) {
      this.#tunnelError = (e as Error).message;
      this.#o.log.error(`health: cannot attach the probe tunnel, tunnel-mode checks fail: ${this.#tunnelError}`);
    }
    return this.#tunnel;
  }

  // ---- results --------------------------------------------------------------------------------

  #record(t: Target, result: ProbeResult): void {
    const tr = observe(t.record, result, { rise: t.check.rise, fall: t.check.fall, nowMs: this.#now() });
    if (!tr) return;
    const why = tr.to === 'down' ? ` (${t.record.lastError}, ${t.check.fall} failures in a row)` : tr.to === 'up' ? ` (${t.check.rise} successes in a row)` : '';
    const line = `health: ${t.service} backend ${t.address} ${tr.from} → ${tr.to}${why}; probe: ${t.description}`;
    if (tr.to === 'down') this.#o.log.warn(line);
    else this.#o.log.info(line);
    this.emit('transition', { service: t.service, backend: t.address, from: tr.from, to: tr.to, error: t.record.lastError });
    const svc = this.#services.get(t.service);
    if (svc) this.#noteService(svc, true);
    this.#markDirty(t.service);
  }

  /** Says so, loudly, when a service enters or leaves the every-backend-down state. */
  #noteService(s: Service, announce: boolean): void {
    const r = this.overlay(s);
    const was = this.#allDown.get(s.id) ?? false;
    this.#allDown.set(s.id, r.allDown);
    if (!announce || was === r.allDown) return;
    if (r.allDown && r.failingOpen) {
      this.#o.log.error(`health: EVERY BACKEND OF ${s.id} IS DOWN; failing open (fail_open: true): new flows still go to all of them`);
    } else if (r.allDown) {
      this.#o.log.error(`health: EVERY BACKEND OF ${s.id} IS DOWN; fail_open is false, so new flows are dropped (no_backend)`);
    } else {
      this.#o.log.info(`health: ${s.id} has a healthy backend again${s.healthCheck?.failOpen ? '; no longer failing open' : ''}`);
    }
  }

  #markDirty(service: string): void {
    this.#dirty.add(service);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      const ids = [...this.#dirty];
      this.#dirty.clear();
      if (ids.length && !this.#closed) this.emit('change', ids);
    });
  }
}
