// xlbd's lifecycle. start(): restore the desired state, resolve the interface and gateway, get a
// datapath (adopt / upgrade / load, see datapath/open.ts), bring it in step with the state, pin it,
// attach it without a gap, then serve the API (and metrics) and tell systemd it is ready.
// stop(): stop serving and leave the datapath running (unless detach is asked for).
// reload(): re-read the config file: services layer, gateway and outer sources take effect at
// once; settings fixed at load time are reported as needing a restart.
import { EventEmitter } from 'node:events';
import { readdirSync, rmdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ifNameToIndex } from '../../bpf/libbpf-ts/index.js';
import {
  prepareUnixSocket,
  recorderHandlers,
  startApiServer,
  type ApiServer,
  type BackendHealthView,
  type DrainReport,
  type HealthView,
  type LoadBalancerControl,
  type ServiceHealthView,
  type StatsReport,
  type StatusReport,
} from '../../api/server/index.js';
import { reservedFromConfig, type XlbdConfig } from '../config/index.js';
import { LbDatapath, type DatapathCounters, type LoadOptions } from '../datapath/index.js';
import { GatewayWatcher, usableMac, type NextHopFacts } from '../gateway/index.js';
import type { KubernetesSource } from '../kubernetes/index.js';
import { parseIp, ReservedAddresses, ValidationError, type DesiredState, type StateDiff } from '../model/index.js';
import type { GobgpPort } from '../bgp/index.js';
import { Reconciler, TableBuilders, type ChangeResult } from '../reconciler/index.js';
import { loadDesiredState, StateStore, STATE_VERSION } from '../state/index.js';
import { attachDatapath, attachedProgram, type AttachOutcome } from './datapath/attach.js';
import { readAttachRecord, removeAttachRecord, writeAttachRecord } from './datapath/attach-record.js';
import { ensureBpffs } from './datapath/bpffs.js';
import { openDatapath, type DatapathOrigin, type OpenedDatapath } from './datapath/open.js';
import { objectSha256, readProgramRecord, removeProgramRecord, writeProgramRecord } from './datapath/program-record.js';
import { InstanceLock } from './instance-lock.js';
import { datapathSettings, interfaceSource, sameSettings } from './link-settings.js';
import { DaemonHealth } from './health.js';
import { DaemonBgp, NO_BGP } from './bgp.js';
import { createLogger, type Logger } from './log.js';
import { startDaemonMetrics } from './metrics-hook.js';
import type { MetricsServer, MetricsServiceSource } from '../metrics/index.js';
import { systemdNotifier, type Notifier } from './notify.js';
import { maglevUsage, statsReport } from './reports.js';
import { XLB_VERSION } from '../version.js';
import { Recorder } from '../../recorder/index.js';
import { restartOnlyChanges } from './reload.js';
import type { DaemonEvents, DaemonView } from './view.js';

export interface DaemonOptions {
  log?: Logger;
  /** Reads the configuration again for reload() (main: loadConfig with the same flags). */
  reloadConfig?: () => Promise<XlbdConfig>;
  notifier?: Notifier;
  /** Serve Prometheus /metrics on metrics.listen (default true). */
  metrics?: boolean;
  /** How long start() waits for the gateway's MAC before going on unresolved (default 5000 ms). */
  gatewayWaitMs?: number;
  /** Gateway re-check period (default 2000 ms). */
  gatewayPollMs?: number;
  /** The BPF object to load (default build/bpf/xlb_lb.o). */
  objectPath?: string;
  /** gobgpd client factory (tests); default: lb/bgp's GobgpClient. */
  gobgpClient?: (target: string) => GobgpPort;
}

interface Running {
  ifname: string;
  ifindex: number;
  dp: LbDatapath;
  origin: DatapathOrigin;
  note: string;
  attach: AttachOutcome;
  reconciler: Reconciler;
  builders: TableBuilders;
  store: StateStore;
  gateway: GatewayWatcher;
  api: ApiServer;
  metrics: MetricsServer | undefined;
  lock: InstanceLock;
  recorder: Recorder;
  health: DaemonHealth;
  bgp: DaemonBgp | undefined;
  kubernetes: KubernetesSource | undefined;
}

export class Daemon extends EventEmitter<DaemonEvents> implements DaemonView, LoadBalancerControl {
  readonly version = XLB_VERSION;
  readonly log: Logger;
  #config: XlbdConfig;
  readonly #o: DaemonOptions;
  readonly #notifier: Notifier;
  #run: Running | undefined;
  #startedAt = 0;
  #lastReload: StatusReport['lastReload'];
  #stopping: Promise<void> | undefined;

  constructor(config: XlbdConfig, o: DaemonOptions = {}) {
    super();
    this.#config = config;
    this.#o = o;
    this.log = o.log ?? createLogger();
    this.#notifier = o.notifier ?? systemdNotifier({ onError: (e) => this.log.warn(`systemd notify: ${e.message}`) });
  }

  get instance(): string {
    return this.#config.instance;
  }

  get config(): XlbdConfig {
    return this.#config;
  }

  get state(): DesiredState {
    return this.#running().reconciler.state;
  }

  /** Where the attach record lives: next to the state file. */
  get #recordPath(): string {
    return join(dirname(this.#config.stateFile), 'datapath-attach.json');
  }

  /** Which object the pinned program came from (program-record.ts): next to the state file. */
  get #programRecordPath(): string {
    return join(dirname(this.#config.stateFile), 'datapath-program.json');
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  async start(): Promise<void> {
    if (this.#run || this.#startedAt) throw new Error('xlbd: start() was already called');
    this.#startedAt = Date.now();
    const c = this.#config;
    const log = this.log;
    for (const w of c.warnings) log.warn(w);
    if (c.interfaces.length !== 1) {
      throw new Error(
        `interfaces: ${c.interfaces.length} given (${c.interfaces.join(', ')}); one xlbd instance drives one interface, ` +
          'because the datapath has one source MAC and one gateway MAC — run one instance per interface',
      );
    }
    const ifname = c.interfaces[0]!;
    const mounted = ensureBpffs(c.bpffsDir);
    if (mounted) log.info(mounted);
    // Before anything reads or touches the datapath or the state file; held until the process ends.
    const lock = InstanceLock.acquire({ pinDir: c.bpffsDir, stateDir: dirname(c.stateFile), instance: c.instance });
    const cleanup: Array<() => unknown> = [() => lock.release(), () => removeDirIfEmpty(c.bpffsDir)];
    try {
      // A socket another daemon serves on is found before anything touches the datapath.
      if (c.api.listen.kind === 'unix') await prepareUnixSocket(c.api.listen.path);
      const ifindex = ifNameToIndex(ifname);

      const restored = await loadDesiredState(c.stateFile, { limits: c.limits });
      for (const f of restored.removedTempFiles) log.info(`removed ${f} (left by an interrupted write)`);
      if (restored.tornJournal) log.warn('the journal ends in an incomplete record (a crash during a write); that change was never acknowledged and is dropped');
      let kubernetesGone: StateDiff | undefined;
      if (!c.kubernetes) {
        // Kubernetes mode was turned off: what it programmed goes (nobody would keep it in step).
        kubernetesGone = restored.state.apply([], { origin: 'kubernetes', field: 'kubernetes' });
        if (kubernetesGone.deleted.length) log.warn(`kubernetes mode is off: removing ${kubernetesGone.deleted.length} services it had made (${kubernetesGone.deleted.join(' ')})`);
      }
      log.info(
        restored.found
          ? `restored ${restored.state.serviceCount} services, ${restored.state.backendCount} backends from ${c.stateFile}` +
              (restored.replayed ? ` and ${restored.replayed} journal records` : '')
          : `no state file at ${c.stateFile}: first start`,
      );
      const configDiff = restored.state.apply([...c.services], { origin: 'config', field: 'services' });
      const store = new StateStore(c.stateFile, restored, { warn: (m) => log.warn(m) });
      cleanup.push(() => store.close());

      const gateway = new GatewayWatcher({ interfaceName: ifname, gateway: c.gateway.address, pollMs: this.#o.gatewayPollMs, log });
      cleanup.push(() => gateway.stop());
      const facts = await gateway.waitForMac(this.#o.gatewayWaitMs ?? 5000);
      if (!usableMac(facts)) log.warn(`${facts.gateway.problem ?? 'gateway unresolved'}; encapsulated packets need it (retrying every poll)`);
      restored.state.reserved = this.#reserved(facts);
      for (const svc of restored.state.list()) {
        const why = restored.state.reserved.reason(parseIp(svc.vip, 'vip'));
        if (why) log.warn(`service ${svc.id} (kept from before this check existed): ${why}; delete it`);
      }

      const loadOptions = this.#loadOptions();
      const known = { record: await readProgramRecord(this.#programRecordPath), objectSha256: objectSha256(loadOptions.objectPath) };
      const opened = openDatapath(c.bpffsDir, loadOptions, known);
      const dp = opened.dp;
      cleanup.push(() => dp.close(), () => opened.previous?.close());
      if (opened.origin === 'replaced') log.warn(`datapath: ${opened.reason}`);
      else log.info(`datapath ${opened.origin}: ${opened.reason}`);
      checkStateAgainstDatapath(restored.found, opened, c, log);

      this.#writeSettings(dp, facts);
      const builders = new TableBuilders();
      cleanup.push(() => builders.close());
      // Health first: the first programming already leaves out what was last seen down.
      let reconcilerRef: Reconciler | undefined;
      const health = await DaemonHealth.create(c, log, () => ({ dp, ifindex }), () => reconcilerRef?.state ?? restored.state);
      cleanup.push(() => health.close());
      health.sync(restored.state);
      const reconciler = new Reconciler({
        builders,
        datapath: dp,
        state: restored.state,
        store,
        log,
        onBackendSet: (e) => this.emit('backendSet', e),
        onProgress: (e) => log.info(`${e.what}: ${e.done}/${e.total} services`),
        backendFilter: (s) => health.monitor.programmed(s),
      });
      reconcilerRef = reconciler;
      const syncStarted = performance.now();
      const sync = await reconciler.syncAll();
      if (sync.upserted.length || sync.deleted.length || sync.backendSets.length) {
        log.info(
          `datapath brought in step in ${Math.round(performance.now() - syncStarted)} ms: ${sync.upserted.length} services written, ` +
            `${sync.deleted.length} deleted, ${sync.backendSets.length} backend sets`,
        );
      }
      // A snapshot is written when the files on disk are not one up-to-date snapshot already.
      await store.start(restored.state, {
        compact: !restored.found || restored.version < STATE_VERSION || restored.replayed > 0 || restored.tornJournal || configDiff.changes.length > 0 || (kubernetesGone?.changes.length ?? 0) > 0,
      });

      if (opened.origin !== 'adopted') dp.pin(c.bpffsDir);
      // A datapath this start created from nothing is removed again if the start fails; one that
      // was already there (adopted, upgraded, replaced) may carry traffic and stays.
      if (opened.origin === 'loaded') cleanup.push(() => LbDatapath.unpin(c.bpffsDir));
      const attach = await this.#attach(dp, ifindex, ifname, opened.previousProgId);
      if (opened.origin === 'loaded' && attach.action === 'attached') cleanup.push(() => dp.detach(ifindex, attach.mode));
      opened.previous?.close();
      const programNow = { progId: dp.program.id, tag: dp.program.tag, objectSha256: known.objectSha256 };
      const rec = known.record;
      if (!rec || rec.progId !== programNow.progId || rec.tag !== programNow.tag || rec.objectSha256 !== programNow.objectSha256) {
        // Only an optimisation of the next start: a failed write must not fail this one.
        await writeProgramRecord(this.#programRecordPath, programNow).catch((e: Error) => log.warn(`program record not written: ${e.message}`));
      }

      // The packet recorder on this datapath (recordings never outlive the daemon: it clears
      // whatever rules a previous daemon left in the adopted maps).
      const recorder = Recorder.forDatapath(dp, {
        unavailable: this.#recorderUnavailable(dp),
        ringBytes: c.recorder.ringBytes,
        hostTraffic: c.recorder.hostTraffic,
      });
      cleanup.push(() => recorder.close());
      if (recorder.unavailable) log.warn(`recorder off: ${recorder.unavailable}; \`xlb record\` is refused`);
      else log.info(`recorder available (${c.recorder.ringBytes}-byte ring per recording${c.recorder.hostTraffic ? ', host traffic too' : ', VIP traffic only'})`);
      const bgp = c.bgp
        ? new DaemonBgp({ config: c.bgp, stateFile: c.stateFile, log, nextHops: () => this.#nextHops(), client: this.#o.gobgpClient })
        : undefined;
      if (bgp) cleanup.push(() => bgp.stop());
      const running: Running = {
        ifname, ifindex, dp, origin: opened.origin, note: opened.reason, attach, reconciler, builders, store, gateway, api: undefined!, metrics: undefined, lock, recorder,
        health, bgp, kubernetes: undefined,
      };
      this.#run = running;
      health.monitor.on('change', (ids) => void this.#onHealthChange(ids));
      health.monitor.on('transition', (e) => this.emit('health', e));
      health.monitor.start();
      if (bgp) {
        bgp.update(reconciler.state, (s) => health.healthy(s));
        bgp.start();
      }
      gateway.on('change', (f) => this.#onFacts(f));
      gateway.on('error', (e) => log.warn(`gateway check failed: ${e.message}`));
      gateway.start();

      running.api = await startApiServer({
        control: this,
        listen: c.api.listen,
        socketMode: c.api.socketMode,
        socketGroup: c.api.socketGroup,
        tls: c.api.tls,
        insecure: c.api.insecure,
        onRequest: (method, code, seconds) => this.emit('apiRequest', { method, code, seconds }),
        recorder: recorderHandlers(recorder, { log, maxRecordingsPerPeer: c.recorder.maxRecordingsPerPeer, maxRulesPerPeer: c.recorder.maxRulesPerPeer }),
        log,
      });
      cleanup.push(() => running.api.close(0));
      log.info(`API listening on ${running.api.address}`);
      if (this.#o.metrics ?? true) {
        const m = c.metrics.listen;
        running.metrics = await startDaemonMetrics(this, m.host, m.port, log, c.metrics.cacheMs);
        cleanup.push(() => running.metrics?.close());
        log.info(`metrics on ${running.metrics.url}`);
      }
      if (c.kubernetes) {
        // Started after the datapath serves the restored state: until the cluster has been listed
        // the kubernetes services stay as they were (no gap on restart, none while unreachable).
        // Loaded only in Kubernetes mode: the client library is large, and xlbd without Kubernetes
        // should not pay for it at every start.
        const { KubernetesSource } = await import('../kubernetes/index.js');
        const source = new KubernetesSource({
          config: c.kubernetes,
          limits: c.limits,
          instance: c.instance,
          // Health targets and announcements follow its changes as they follow the API's.
          layer: {
            get state() { return reconciler.state; },
            change: async (op) => {
              const result = await reconciler.change(op);
              await this.#afterChange(running, result.diff);
              return result;
            },
          },
          log,
        });
        running.kubernetes = source;
        cleanup.push(() => source.stop());
        source.start();
      }
      const summary = `${reconciler.state.serviceCount} services on ${ifname} (XDP ${attach.mode}, program ${dp.program.id}, ${opened.origin})`;
      await this.#notifier.ready(summary);
      log.info(`ready: ${summary}`);
    } catch (e) {
      this.#run = undefined;
      for (const f of cleanup.reverse()) {
        try {
          await f();
        } catch {
          // best effort: the original error is what matters
        }
      }
      throw e;
    }
  }

  /** Stops serving. The datapath keeps running unless `detach` (default: config detach_on_exit). */
  stop(o: { detach?: boolean } = {}): Promise<void> {
    this.#stopping ??= this.#stop(o.detach ?? this.#config.detachOnExit);
    return this.#stopping;
  }

  async #stop(detach: boolean): Promise<void> {
    const r = this.#run;
    if (!r) return;
    await this.#notifier.stopping();
    // Graceful: routers move new traffic away while this node still forwards what arrives.
    await r.bgp?.withdrawForStop();
    await r.kubernetes?.stop(); // gives the leader Lease up, so another node takes over at once
    await r.recorder.close(); // ends recordings (reason shutdown), so their streams close cleanly
    await r.api.close(3000);
    await r.metrics?.close();
    r.gateway.stop();
    await r.health.close();
    await r.reconciler.idle();
    await r.bgp?.stop();
    // Fold the journal into the snapshot, so the next start reads one file.
    if (r.store.journalBytes > 0) {
      await r.reconciler.compact().catch((e: Error) => this.log.warn(`state snapshot at stop failed (the journal is kept): ${e.message}`));
    }
    await r.store.close();
    await r.builders.close();
    if (detach) {
      const cur = attachedProgram(r.ifindex);
      if (cur.progId === r.dp.program.id && (cur.mode === 'native' || cur.mode === 'generic')) r.dp.detach(r.ifindex, cur.mode);
      r.dp.close();
      LbDatapath.unpin(this.#config.bpffsDir);
      await removeAttachRecord(this.#recordPath);
      await removeProgramRecord(this.#programRecordPath);
      this.log.info(`detached from ${r.ifname} and removed the pins in ${this.#config.bpffsDir}`);
    } else {
      r.dp.close();
      this.log.info(`stopped; the datapath stays attached to ${r.ifname} (program ${r.attach.programId})`);
    }
    r.lock.release();
    this.#run = undefined;
  }

  /** Re-reads the configuration (SIGHUP). Never throws: the outcome is logged and in status(). */
  async reload(): Promise<{ ok: boolean; message: string }> {
    const r = this.#run;
    if (!r || this.#stopping) return { ok: false, message: 'not running' };
    await this.#notifier.reloading();
    let outcome: { ok: boolean; message: string };
    try {
      if (!this.#o.reloadConfig) throw new Error('this daemon was started without a config source to reload');
      const next = await this.#o.reloadConfig();
      const restart = restartOnlyChanges(this.#config, next);
      for (const what of restart) this.log.warn(`reload: ${what} changed; restart xlbd to apply it (the running value is kept)`);
      const { diff } = await r.reconciler.change((d) => d.apply(next.services, { origin: 'config', field: 'services' }));
      await this.#afterChange(r, diff);
      if (next.gateway.address !== this.#config.gateway.address) await this.#replaceGateway(r, next.gateway.address);
      // Settings that take effect at once; the rest keeps its running value.
      this.#config = { ...this.#config, services: next.services, gateway: next.gateway, encap: next.encap, detachOnExit: next.detachOnExit, warnings: next.warnings };
      r.reconciler.state.reserved = this.#reserved(r.gateway.facts);
      if (r.gateway.facts) this.#writeSettings(r.dp, r.gateway.facts);
      outcome = { ok: true, message: `reloaded: services ${describeDiff(diff)}${restart.length ? `; needs a restart: ${restart.join(', ')}` : ''}` };
      this.log.info(outcome.message);
    } catch (e) {
      outcome = { ok: false, message: `reload failed, the running configuration is kept: ${(e as Error).message}` };
      this.log.error(outcome.message);
    }
    this.#lastReload = { at: Date.now(), ...outcome };
    this.emit('reloaded', outcome);
    await this.#notifier.ready(outcome.ok ? 'reloaded' : 'reload failed, running configuration kept');
    return outcome;
  }

  // ---- LoadBalancerControl / DaemonView --------------------------------------------------------

  async change(op: (draft: DesiredState) => StateDiff, o: { dryRun?: boolean; peer?: string } = {}): Promise<ChangeResult> {
    const r = this.#running();
    const result = await r.reconciler.change(op, { dryRun: o.dryRun });
    if (!result.dryRun) await this.#afterChange(r, result.diff);
    // An audit trail of what the API changed and who asked (the request itself is in the caller's hands).
    const d = result.diff;
    if (!result.dryRun && d.changes.length) {
      const parts = (['created', 'updated', 'deleted'] as const).filter((k) => d[k].length).map((k) => `${k} ${d[k].join(' ')}`);
      this.log.info(`services ${parts.join('; ')}${o.peer ? ` (by ${o.peer})` : ''}`);
    }
    return result;
  }

  get health(): HealthView {
    return this.#run?.health ?? NO_HEALTH;
  }

  async drainNode(undo: boolean): Promise<DrainReport> {
    const r = this.#running();
    if (!r.bgp) throw new ValidationError('FAILED_PRECONDITION', '', 'BGP is not configured (no bgp: section in the config file): there is nothing to withdraw');
    return r.bgp.drain(undo, r.reconciler.state, (s) => r.health.healthy(s));
  }

  counters(): DatapathCounters {
    return this.#running().dp.readCounters();
  }

  stats(serviceId?: string): StatsReport {
    const r = this.#running();
    const state = r.reconciler.state;
    if (serviceId === undefined) return statsReport(r.dp.readCounters(), state, r.dp.options.flowTableSize, undefined, r.health);
    // One service: read its ids only.
    const svc = state.get(serviceId, 'service_id');
    const counters = r.dp.readCounters({ services: [svc.datapathId], backends: svc.backends.map((b) => b.datapathId) });
    return statsReport(counters, state, r.dp.options.flowTableSize, [svc], r.health);
  }

  datapathStats(): StatsReport {
    const r = this.#running();
    // Services: only those with a health check, for the health families (xlb_backend_up, ...);
    // their counters are not read here (the per-service families come from serviceSource()).
    const checked = r.reconciler.state.list().filter((s) => s.healthCheck !== undefined);
    return statsReport(r.dp.readCounters({ services: [], backends: [] }), r.reconciler.state, r.dp.options.flowTableSize, checked, r.health);
  }

  serviceSource(): MetricsServiceSource {
    const r = this.#running();
    return {
      services: () => r.reconciler.state.list(),
      counters: (which, ids) => r.dp.idCounters(which, ids),
      serviceCounters: (ids, backendIds, backendCounters) => r.dp.serviceCountersWith(ids, backendIds, backendCounters),
    };
  }

  status(): StatusReport {
    const r = this.#running();
    const c = this.#config;
    const facts = r.gateway.facts;
    const cur = attachedProgram(r.ifindex);
    const mac = facts ? usableMac(facts) : undefined;
    return {
      version: this.version,
      instance: c.instance,
      startedAt: this.#startedAt,
      uptimeSeconds: Math.floor((Date.now() - this.#startedAt) / 1000),
      interfaces: [
        {
          name: r.ifname,
          ifindex: r.ifindex,
          mac: facts?.interface?.mac ?? '',
          attached: cur.progId === r.dp.program.id,
          mode: cur.mode,
          programId: cur.progId,
          requestedMode: c.xdpMode,
          fallback: r.attach.fallback,
        },
      ],
      gateway: {
        ip: c.gateway.address,
        nextHop: facts?.gateway.nextHop ?? c.gateway.address,
        mac: mac ?? '',
        resolved: mac !== undefined,
        interface: facts?.gateway.routeInterface ?? '',
        problem: facts?.gateway.problem,
      },
      maglev: { tableSize: c.maglev.tableSize, seed: r.dp.options.seed, ...maglevUsage(r.reconciler.state) },
      services: r.reconciler.state.serviceCount,
      backends: r.reconciler.state.backendCount,
      mtu: r.dp.options.mtu,
      recorder: { available: r.recorder.unavailable === undefined, reason: r.recorder.unavailable, ringBytes: r.recorder.ringBytes },
      datapath: { origin: r.origin, programId: r.dp.program.id, pinDir: c.bpffsDir, note: r.note },
      adoptedDatapath: r.origin === 'adopted' || r.origin === 'upgraded',
      diverged: r.reconciler.diverged,
      lastReload: this.#lastReload,
      health: r.health.report(),
      bgp: r.bgp?.report() ?? NO_BGP,
      ...(r.kubernetes && c.kubernetes
        ? { kubernetes: { ...r.kubernetes.status(), loadBalancerClass: c.kubernetes.loadBalancerClass, defaultClass: c.kubernetes.defaultClass } }
        : {}),
    };
  }

  // ---- internals -------------------------------------------------------------------------------

  /** After a committed change: health targets follow the services, services whose check changed
   *  are reprogrammed with the overlay, and the announcements follow. */
  async #afterChange(r: Running, diff: StateDiff): Promise<void> {
    const state = r.reconciler.state;
    // Only the services the change touched: the rest of the state is what the monitor has already.
    const touched = new Set(r.health.syncChanged(diff.changes));
    for (const c of diff.changes) if (c.healthChanged) touched.add(c.id);
    if (touched.size) await r.reconciler.reprogram([...touched]);
    r.bgp?.update(state, (s) => r.health.healthy(s));
  }

  /** The health overlay changed its mind about some services: reprogram them, re-announce. */
  async #onHealthChange(ids: string[]): Promise<void> {
    const r = this.#run;
    if (!r) return;
    try {
      await r.reconciler.reprogram(ids);
    } catch (e) {
      this.log.error(`health: reprogramming ${ids.join(' ')} failed: ${(e as Error).message}`);
    }
    r.bgp?.update(r.reconciler.state, (s) => r.health.healthy(s));
  }

  /** BGP next hops: configured, else the interface's addresses. */
  #nextHops(): { v4?: string; v6?: string } {
    const b = this.#config.bgp;
    const facts = this.#run?.gateway.facts;
    const v4 = b?.nextHop ?? (facts ? interfaceSource(facts, 4) : undefined);
    const v6 = b?.nextHopV6 ?? (facts ? interfaceSource(facts, 6) : undefined);
    const out: { v4?: string; v6?: string } = {};
    if (v4) out.v4 = v4;
    if (v6) out.v6 = v6;
    return out;
  }

  #running(): Running {
    if (!this.#run) throw new Error('xlbd is not running');
    return this.#run;
  }

  #loadOptions(): LoadOptions {
    const c = this.#config;
    const o: LoadOptions = {
      seed: c.maglev.seed,
      tableSize: c.maglev.tableSize,
      mtu: c.mtu,
      // Datapath ids are 0..max-1 and the model hands out 1..maps-1: the map sizes are the config's.
      maxServices: c.maps.services,
      maxBackends: c.maps.backends,
      flowTableSize: c.maps.flows,
      icmpTooBigRate: c.icmp.tooBigRate,
      icmpTooBigBurst: c.icmp.tooBigBurst,
      synTakeoverIdleMs: Math.round(c.flowTable.synTakeoverIdleSeconds * 1000),
    };
    if (c.recorder.enabled !== 'auto') o.recorder = c.recorder.enabled;
    if (this.#o.objectPath) o.objectPath = this.#o.objectPath;
    return o;
  }

  /** Why the recorder is off, in the configuration's words when the configuration turned it off. */
  #recorderUnavailable(dp: LbDatapath): string | undefined {
    const reason = dp.recorderUnavailable;
    if (reason === undefined || this.#config.recorder.enabled !== false) return reason;
    return `recorder.enabled is false in the configuration${this.#config.configFile ? ` (${this.#config.configFile})` : ''}`;
  }

  async #attach(dp: LbDatapath, ifindex: number, ifname: string, previousProgId: number | undefined): Promise<AttachOutcome> {
    const record = await readAttachRecord(this.#recordPath);
    const known = record[ifname]?.ifindex === ifindex ? record[ifname]!.progIds : [];
    const ours = new Set([...known, ...(previousProgId ? [previousProgId] : [])]);
    // Recorded before the attach, so a crash right after it still recognises the program.
    record[ifname] = { ifindex, progIds: [...ours, dp.program.id], mode: this.#config.xdpMode };
    await writeAttachRecord(this.#recordPath, record);
    const outcome = attachDatapath({ ifindex, ifname, program: dp.program, mode: this.#config.xdpMode, ours });
    record[ifname] = { ifindex, progIds: [dp.program.id], mode: outcome.mode };
    await writeAttachRecord(this.#recordPath, record);
    const what =
      outcome.action === 'kept'
        ? `program ${outcome.programId} already attached`
        : outcome.action === 'replaced'
          ? `program ${outcome.programId} replaced program ${outcome.replacedProgId} atomically`
          : `program ${outcome.programId} attached`;
    this.log.info(`${ifname}: ${what} (XDP ${outcome.mode})`);
    if (outcome.fallback) {
      this.log.error(
        `${ifname}: NATIVE XDP IS NOT AVAILABLE (${outcome.fallbackReason}); FELL BACK TO GENERIC MODE, which is much slower. ` +
          'Set xdp_mode: generic to make this explicit, or use a driver with XDP support',
      );
    } else if (outcome.mode !== this.#config.xdpMode) {
      this.log.warn(`${ifname}: the running datapath is attached in ${outcome.mode} mode (xdp_mode: ${this.#config.xdpMode}); it is kept to avoid a gap — detach and restart to change the mode`);
    }
    return outcome;
  }

  #writeSettings(dp: LbDatapath, facts: NextHopFacts): void {
    const current = dp.getConfig();
    const next = datapathSettings(facts, this.#config.encap, current);
    if (!next) {
      this.log.warn('lb_config not written yet: the interface MAC or the gateway MAC is unknown (packets to VIPs are dropped as noConfig)');
      return;
    }
    if (sameSettings(current, next)) return;
    try {
      dp.setConfig(next);
    } catch (e) {
      // The datapath names its own setting (sourceCidrV6, ...); say where the value came from.
      throw new Error(`lb_config: ${(e as Error).message} (from encap.source_v4 / encap.source_v6, or the interface's addresses)`, { cause: e });
    }
    this.log.info(
      `lb_config: ${next.ifMac} → gateway ${next.gatewayMac}, sources ${[next.sourceV4 ?? next.sourceCidrV4, next.sourceV6 ?? next.sourceCidrV6].filter(Boolean).join(', ') || 'none'}`,
    );
  }

  /** The load balancer's own addresses (config and interface): never a VIP of a new service. */
  #reserved(facts: NextHopFacts | undefined): ReservedAddresses {
    const list = reservedFromConfig(this.#config);
    const itf = facts?.interface;
    for (const a of itf?.addresses ?? []) list.push({ address: a.address, what: `an address of ${itf!.name}, the interface xlbd drives` });
    return new ReservedAddresses(list);
  }

  #onFacts(facts: NextHopFacts): void {
    const r = this.#run;
    if (!r) return;
    r.reconciler.state.reserved = this.#reserved(facts);
    try {
      this.#writeSettings(r.dp, facts);
    } catch (e) {
      this.log.error(`cannot update lb_config: ${(e as Error).message}`);
    }
    this.emit('gateway', facts);
  }

  async #replaceGateway(r: Running, address: string): Promise<void> {
    const next = new GatewayWatcher({ interfaceName: r.ifname, gateway: address, pollMs: this.#o.gatewayPollMs, log: this.log });
    const facts = await next.waitForMac(this.#o.gatewayWaitMs ?? 5000);
    r.gateway.stop();
    r.gateway = next;
    next.on('change', (f) => this.#onFacts(f));
    next.on('error', (e) => this.log.warn(`gateway check failed: ${e.message}`));
    next.start();
    if (!usableMac(facts)) this.log.warn(`new gateway ${address}: ${facts.gateway.problem}`);
  }
}

/**
 * A pinned datapath that carries services, and no state file: the state directory was lost,
 * moved or is not this datapath's. Reconciling would delete every service from a datapath that
 * carries traffic, so the start is refused unless the operator asked for exactly that.
 */
function checkStateAgainstDatapath(stateFound: boolean, opened: OpenedDatapath, c: XlbdConfig, log: Logger): void {
  if (stateFound) return;
  const pinned = opened.origin === 'adopted' ? opened.dp : opened.previous;
  const held = pinned?.services().length ?? 0;
  if (held === 0) return;
  const what = `the datapath pinned in ${c.bpffsDir} holds ${held} service${held === 1 ? '' : 's'} (${opened.origin})`;
  if (c.discardDatapathState) {
    log.warn(`--discard-datapath-state: the ${held} service${held === 1 ? '' : 's'} in the pinned datapath ${held === 1 ? 'is' : 'are'} removed now (no state file at ${c.stateFile})`);
    return;
  }
  throw new Error(
    `${what} but there is no state file at ${c.stateFile}; starting would delete ${held === 1 ? 'it' : 'them'}. ` +
      'Restore the state file (or point state_dir / --state-dir at it), or start once with --discard-datapath-state ' +
      'to empty the datapath (traffic to those services stops)',
  );
}

function removeDirIfEmpty(dir: string): void {
  try {
    if (readdirSync(dir).length === 0) rmdirSync(dir);
  } catch {
    // gone already, or not ours to judge
  }
}

const NO_HEALTH: HealthView = {
  backend: (): BackendHealthView | undefined => undefined,
  service: (): ServiceHealthView | undefined => undefined,
};

function describeDiff(d: StateDiff): string {
  const parts = [`${d.created.length} created`, `${d.updated.length} updated`, `${d.deleted.length} deleted`, `${d.unchanged.length} unchanged`];
  return parts.join(', ');
}
