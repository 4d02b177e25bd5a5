// LbDatapath: the XDP load balancer as a typed object. Loads (or adopts) bpf/lb/xlb_lb.c, owns its
// maps and is the only code that writes them; the control plane calls upsertService /
// setBackends / setConfig and reads counters and flows back. Byte layouts come from layout.ts.
import { mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { BpfMap, BpfObject, BpfProgram, xdpAttach, xdpDetach, type MapMapping, type XdpMode } from '../../bpf/libbpf-ts/index.js';
import { buildMaglevTable, type MaglevOptions } from '../maglev/index.js';
import { IPPROTO, ValidationError, invalid } from '../model/index.js';
import { bpfObjectPath } from '../../bpf/objects.js';
import { formatAddress, parseAddress } from './addr.js';
import { flowHash, maglevSlot } from './flowhash.js';
import {
  BACKEND_F_ACTIVE,
  BACKEND_F_DRAINING,
  BackendValue,
  FlowKey,
  LAYOUT_VERSION,
  LbConfig,
  LbCounter,
  LbMeta,
  MAGLEV_GROUP_SLOTS,
  MAP,
  PROGRAM_NAME,
  REC_MAP_NAMES,
  SERVICE_F_HASH_SRC_IP_ONLY,
  STAT_NAMES,
  ServiceKey,
  ServiceValue,
  TABLE_NO_BACKEND,
  VipKey,
  VipValue,
  decodeBackendValue,
  familyOf,
  decodeU32,
  objectMapName,
  sumStatsSlot,
  u32Key,
  pinNameOf,
  vipFilterBit,
  CONFIG_SETTINGS_BYTES,
  VIP_FILTER_OFFSET,
  VIP_FILTER_WORDS,
  type Counter,
  type FlowKeyValue,
  type GlobalCounters,
  type MapName,
  type RecorderMapName,
} from './layout.js';
import { flowTableBuckets, resolveLoadOptions, type LoadOptions, type ResolvedLoadOptions } from './options.js';
import { recorderSupport } from './recorder-probe.js';
import { MAP_NAMES, PROG_PIN, checkMapSizes, openPinnedMaps, setConstants, unlinkIfPresent } from './pins.js';
import { decodeSettings, encodeSettings } from './settings.js';
import { MaglevTable, pinTable, tableGroups, tableMemoryBytes, tablePinPath, unpinTables } from './tables.js';
import type {
  BackendSetOptions,
  BackendSetResult,
  DatapathBackend,
  DatapathConfig,
  DatapathCounters,
  DatapathService,
  FlowEntry,
  FlowTuple,
  MapInfo,
  Placement,
  XdpVerdict,
} from './types.js';
import { FlowTable } from './flow-table.js';
import { flowEntry, flowKeyOf, validateBackends, validateService, type ServiceRecord } from './validate.js';

const XDP_VERDICTS: readonly XdpVerdict[] = ['aborted', 'drop', 'pass', 'tx', 'redirect'];

// sumPerCpu sums a value's u64 members in declaration order; where LbCounter keeps packets and bytes.
const COUNTER_U64S = LbCounter.size / 8;
const PACKETS_FIELD = LbCounter.fields.find((f) => f.name === 'packets')!.offset / 8;
const BYTES_FIELD = LbCounter.fields.find((f) => f.name === 'bytes')!.offset / 8;

/** Where a backends-map value keeps its family (0 = an empty slot of the array). */
const BACKEND_FAMILY_OFFSET = BackendValue.fields.find((f) => f.name === 'family')!.offset;

function counterAt(sums: Float64Array, i: number): Counter {
  return { packets: sums[i * COUNTER_U64S + PACKETS_FIELD]!, bytes: sums[i * COUNTER_U64S + BYTES_FIELD]! };
}


export class LbDatapath {
  readonly options: ResolvedLoadOptions;
  readonly program: BpfProgram;
  readonly #maps: Record<MapName, BpfMap>;
  readonly #object: BpfObject | undefined;
  #closed = false;
  #attached: { ifindex: number; mode: XdpMode } | undefined;
  /** The live Maglev table of each service that has one, mapped into this process. */
  readonly #tables = new Map<number, MaglevTable>();
  /** Where pin() pinned this datapath: tables swapped in later are pinned there too. */
  #pinDir: string | undefined;
  readonly #services = new Map<number, ServiceRecord>();
  /** Service id by map key (hex): the key-conflict check of upsertService without a scan. */
  readonly #byKey = new Map<string, number>();
  readonly #backendSets = new Map<number, Map<number, Required<DatapathBackend>>>();
  readonly #backendOwner = new Map<number, number>();
  /**
   * Maps this object loaded itself start zeroed: the counters of an id never assigned since then
   * are 0 already and need no reset (a cold start skips one write per service and per backend).
   * 1 = the id was assigned (its counters may have counted); undefined = adopted maps, reset always.
   */
  #countersUsed: { services: Uint8Array; backends: Uint8Array } | undefined;
  /** #checkTable's per-id counters, all zero between calls. */
  #slotScratch: Uint32Array | undefined;
  /**
   * Spare tables: default-size tables, every slot TABLE_NO_BACKEND, already in maglev_outer at ids
   * no service holds yet (the ids the control plane hands out next). A new service's first table
   * is written into its spare in place — no map to create, no map-in-map update (the RCU grace
   * period the kernel waits for on each one) on the request path; prepareSpareTables() installs
   * many at once, one wait for all. A spare reads "no backend" everywhere, exactly like a missing
   * table, so it never changes what a packet of any service sees.
   */
  readonly #spares = new Map<number, MaglevTable>();
  /** The table maglev_outer entries of removed tables point at: one element, every slot TABLE_NO_BACKEND. */
  #tombstone: MaglevTable | undefined;
  /** VIPs per VIP filter bit (a bit stays set while any VIP hashes to it). */
  readonly #filterBits = new Map<number, number>();
  /** lb_config mapped into this process: the settings and the VIP filter are written in place. */
  readonly #config: MapMapping;
  readonly #configBytes: Buffer;
  readonly #filterWords: BigUint64Array;
  /** The flow table mapped into this process. */
  readonly #flows: FlowTable;

  private constructor(
    options: ResolvedLoadOptions,
    program: BpfProgram,
    maps: Record<MapName, BpfMap>,
    object: BpfObject | undefined,
  ) {
    this.options = options;
    this.program = program;
    this.#maps = maps;
    this.#object = object;
    this.#config = maps[MAP.config].mmap();
    this.#configBytes = Buffer.from(this.#config.buffer, 0, LbConfig.size);
    this.#filterWords = new BigUint64Array(this.#config.buffer, VIP_FILTER_OFFSET, VIP_FILTER_WORDS);
    this.#flows = new FlowTable(maps[MAP.flows], options.seed);
  }

  /** Opens the object, applies the load-time constants and map sizes, loads it (not attached). */
  static load(o: LoadOptions): LbDatapath {
    const opts = resolveLoadOptions(o);
    const obj = BpfObject.open(o.objectPath ?? bpfObjectPath('xlb_lb'));
    try {
      const flags = setConstants(obj, opts);
      for (const m of [MAP.services, MAP.vips, MAP.maglevOuter, MAP.serviceStats]) obj.setMapMaxEntries(m, opts.maxServices);
      for (const m of [MAP.backends, MAP.backendStats]) obj.setMapMaxEntries(m, opts.maxBackends);
      obj.setMapMaxEntries(MAP.flows, flowTableBuckets(opts.flowTableSize));
      obj.load();
      const maps = Object.fromEntries(MAP_NAMES.map((n) => [n, obj.map(objectMapName(n))])) as Record<MapName, BpfMap>;
      checkMapSizes(maps);
      maps[MAP.meta].update(
        u32Key(0),
        LbMeta.encode({
          layoutVersion: LAYOUT_VERSION, hashSeed: opts.seed, maglevSize: opts.tableSize, mtu: opts.mtu, flags, flowTableSize: opts.flowTableSize,
          icmpRate: opts.icmpTooBigRate, icmpBurst: opts.icmpTooBigBurst, synIdleMs: opts.synTakeoverIdleMs,
        }),
      );
      const dp = new LbDatapath(opts, obj.program(PROGRAM_NAME), maps, obj);
      dp.#countersUsed = { services: new Uint8Array(opts.maxServices), backends: new Uint8Array(opts.maxBackends) };
      return dp;
    } catch (e) {
      obj.close();
      throw e;
    }
  }

  /**
   * Takes over a datapath pinned by pin(dir) (e.g. after a daemon restart): the program, its maps
   * and their contents stay as they are — traffic is never interrupted — and the service and
   * backend registry is rebuilt from the maps.
   */
  static adopt(dir: string): LbDatapath {
    const { maps, options } = openPinnedMaps(dir);
    try {
      const program = BpfProgram.openPinned(join(dir, PROG_PIN));
      const dp = new LbDatapath(options, program, maps, undefined);
      dp.#pinDir = dir;
      dp.#rebuildRegistry();
      return dp;
    } catch (e) {
      for (const m of Object.values(maps)) m.close();
      throw e;
    }
  }

  /**
   * Loads the program from `objectPath` (default: the built object) on top of the maps pinned in
   * `dir`, with the load-time constants recorded there: a new program version that keeps every
   * service, backend, table, flow and counter. Not attached: swap it in with
   * attach(ifindex, mode, { replaceProgId: old.program.id }), then pin(dir) to replace the pin.
   */
  static upgrade(dir: string, o: { objectPath?: string } = {}): LbDatapath {
    const pinned = openPinnedMaps(dir);
    const opts = pinned.options;
    const obj = BpfObject.open(o.objectPath ?? bpfObjectPath('xlb_lb'));
    try {
      setConstants(obj, opts);
      for (const n of MAP_NAMES) obj.reuseMap(objectMapName(n), pinned.maps[n]);
      obj.load();
      const maps = Object.fromEntries(MAP_NAMES.map((n) => [n, obj.map(objectMapName(n))])) as Record<MapName, BpfMap>;
      const dp = new LbDatapath(opts, obj.program(PROGRAM_NAME), maps, obj);
      dp.#pinDir = dir;
      dp.#rebuildRegistry();
      return dp;
    } catch (e) {
      obj.close();
      throw e;
    } finally {
      for (const m of Object.values(pinned.maps)) m.close(); // the object holds its own fds
    }
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  /** Pins the program and every map under `dir` (created if needed) for adopt(); pins already
   *  there (an older program version, the same maps after upgrade()) are replaced. */
  pin(dir: string): void {
    this.#open();
    mkdirSync(dir, { recursive: true });
    const replace = (path: string, pin: (p: string) => void) => {
      unlinkIfPresent(path);
      pin(path);
    };
    replace(join(dir, PROG_PIN), (p) => this.program.pin(p));
    for (const n of MAP_NAMES) replace(join(dir, pinNameOf(n)), (p) => this.#maps[n].pin(p));
    // Table pins let adopt() map the live tables again (opening them by id would need CAP_SYS_ADMIN).
    unpinTables(dir);
    for (const [id, t] of this.#tables) pinTable(dir, id, t);
    this.#pinDir = dir;
  }

  /** Removes the pins pin(dir) made, and the directory if it is then empty. */
  static unpin(dir: string): void {
    for (const name of [PROG_PIN, ...MAP_NAMES.map(pinNameOf)]) unlinkIfPresent(join(dir, name));
    unpinTables(dir);
    try {
      if (readdirSync(dir).length === 0) rmdirSync(dir);
    } catch (e) {
      if ((e as { code?: string }).code !== 'ENOENT') throw e;
    }
  }

  /** Attaches the program to an interface (netlink; the attachment outlives this process). */
  attach(ifindex: number, mode: XdpMode, o: { replaceProgId?: number } = {}): void {
    this.#open();
    xdpAttach(ifindex, this.program, o.replaceProgId === undefined ? { mode } : { mode, replaceProgId: o.replaceProgId });
    this.#attached = { ifindex, mode };
  }

  /** Detaches this program (only if it is still the one attached) from the interface given, or the
   *  one attach() used. */
  detach(ifindex?: number, mode?: XdpMode): void {
    const target = ifindex === undefined ? this.#attached : { ifindex, mode: mode ?? 'native' };
    if (!target) throw new Error('detach: not attached by this object; pass ifindex and mode');
    xdpDetach(target.ifindex, { mode: target.mode, expectedProgId: this.program.id });
    if (this.#attached?.ifindex === target.ifindex) this.#attached = undefined;
  }

  /** Releases file descriptors. Pins and XDP attachments stay (that is the restart story). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#tables.values()) t.close();
    this.#tables.clear();
    for (const t of this.#spares.values()) t.close();
    this.#spares.clear();
    this.#tombstone?.close();
    this.#config.unmap();
    this.#flows.close();
    if (this.#object) {
      this.#object.close();
      return;
    }
    this.program.close();
    for (const m of Object.values(this.#maps)) m.close();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Why the packet recorder cannot run on this datapath — it was loaded with the recorder off
   * (options.recorder false: the hooks are pruned, recordings would match nothing) — or undefined
   * when it can.
   */
  get recorderUnavailable(): string | undefined {
    if (this.options.recorder) return undefined;
    const support = recorderSupport();
    return support.available ? 'the datapath was loaded with the recorder turned off (load option recorder: false)' : support.reason;
  }

  /**
   * The recorder's maps (rec_* and the ring), as this object holds them: borrowed, not copies.
   * The recorder works through these handles because opening the maps by id instead
   * (BPF_MAP_GET_FD_BY_ID) needs CAP_SYS_ADMIN, which xlbd should not hold. They stay valid until
   * close(): close the recorder first, and never close them yourself.
   */
  recorderMaps(): Readonly<Record<RecorderMapName, BpfMap>> {
    this.#open();
    return Object.fromEntries(REC_MAP_NAMES.map((n) => [n, this.#maps[n]])) as Record<RecorderMapName, BpfMap>;
  }

  /** Kernel id, type, key/value sizes and max_entries of every map (e.g. for `bpftool map dump id`). */
  mapInfo(): Record<MapName, MapInfo> {
    this.#open();
    const out = {} as Record<MapName, MapInfo>;
    for (const n of MAP_NAMES) {
      const m = this.#maps[n];
      out[n] = { id: m.id, type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries };
    }
    return out;
  }

  // ---- runtime config --------------------------------------------------------------------------

  /**
   * Replaces the settings in lb_config (MACs, outer sources); takes effect for the next packet. They
   * are written in place: a packet processed during the write may see some fields old and some new.
   */
  setConfig(c: DatapathConfig): void {
    this.#open();
    encodeSettings(c).copy(this.#configBytes, 0, 0, CONFIG_SETTINGS_BYTES);
  }

  /** The current lb_config settings, or undefined before the first setConfig. */
  getConfig(): DatapathConfig | undefined {
    this.#open();
    return decodeSettings(this.#configBytes);
  }

  // ---- services --------------------------------------------------------------------------------

  /**
   * Creates or changes a service (VIP, port, protocol, flags, table size) by id. A new table size
   * rebuilds the service's table from its backends (a swap); the entry and the table change in the
   * order that keeps every slot a packet computes inside the table it reads.
   */
  upsertService(svc: DatapathService): void {
    this.#open();
    const rec = validateService(svc, this.options.maxServices, (key) => this.#serviceByKey(key), this.options.tableSize);
    const id = rec.spec.id;
    const old = this.#services.get(id);
    if (!old) this.#resetCounters(MAP.serviceStats, [id]);
    const resized = old !== undefined && old.spec.tableSize !== rec.spec.tableSize && this.#hasTable(id);
    const newTable = resized ? this.#buildTable(id, rec.spec.tableSize, [...(this.#backendSets.get(id)?.values() ?? [])]) : undefined;
    // Growing: the bigger table first (slots computed with the old size stay inside it).
    if (newTable && rec.spec.tableSize > old!.spec.tableSize) this.#swapTable(id, newTable.table);
    // New entries first, then remove the old ones: the VIP never blinks out during a change.
    if (!old || !old.vipKey.equals(rec.vipKey)) this.#vipRef(rec.vipKey, +1);
    this.#maps[MAP.services].update(
      rec.key,
      ServiceValue.encode({ serviceId: id, flags: rec.spec.sourceHash ? SERVICE_F_HASH_SRC_IP_ONLY : 0, tableSize: rec.spec.tableSize }),
    );
    // Shrinking: the entry with the smaller size first, then the smaller table.
    if (newTable && rec.spec.tableSize < old!.spec.tableSize) this.#swapTable(id, newTable.table);
    if (old && !old.key.equals(rec.key)) {
      this.#maps[MAP.services].delete(old.key);
      this.#byKey.delete(old.key.toString('hex'));
    }
    if (old && !old.vipKey.equals(rec.vipKey)) this.#vipRef(old.vipKey, -1);
    this.#services.set(rec.spec.id, rec);
    this.#byKey.set(rec.key.toString('hex'), rec.spec.id);
    if (!this.#backendSets.has(rec.spec.id)) this.#backendSets.set(rec.spec.id, new Map());
  }

  /** Removes a service, its table and its backends. False if there was no such service. */
  deleteService(id: number): boolean {
    return this.deleteServices([id]) === 1;
  }

  /**
   * Removes services, their tables and their backends, each step batched across them: the service
   * entries first (packets stop matching), then the tables — replaced with one map-in-map batch
   * update by a shared one-slot "no backend" table, since the kernel has no batch delete for
   * map-in-map entries and would otherwise wait for running programs once per service — then the
   * backend entries. Unknown ids are skipped; returns how many services were removed.
   */
  deleteServices(ids: readonly number[]): number {
    this.#open();
    const recs = [...new Set(ids)].map((id) => this.#services.get(id)).filter((r): r is ServiceRecord => r !== undefined);
    if (recs.length === 0) return 0;
    this.#maps[MAP.services].deleteBatch(recs.map((r) => r.key));
    const vipDrops = new Map<string, { key: Buffer; n: number }>();
    for (const r of recs) {
      const k = r.vipKey.toString('hex');
      const e = vipDrops.get(k) ?? { key: r.vipKey, n: 0 };
      e.n++;
      vipDrops.set(k, e);
    }
    for (const e of vipDrops.values()) this.#vipRef(e.key, -e.n);
    this.#removeTables(recs.map((r) => r.spec.id));
    const backends = recs.flatMap((r) => [...(this.#backendSets.get(r.spec.id)?.keys() ?? [])]);
    this.#writeBackends(backends.map((b) => [b, Buffer.alloc(BackendValue.size)]));
    for (const b of backends) this.#backendOwner.delete(b);
    for (const r of recs) {
      this.#backendSets.delete(r.spec.id);
      this.#services.delete(r.spec.id);
      this.#byKey.delete(r.key.toString('hex'));
    }
    return recs.length;
  }

  services(): DatapathService[] {
    return [...this.#services.values()].map((r) => ({ ...r.spec }));
  }

  /** One service by id, or undefined (O(1), unlike services()). */
  service(id: number): DatapathService | undefined {
    const r = this.#services.get(id);
    return r && { ...r.spec };
  }

  // ---- backends --------------------------------------------------------------------------------

  /**
   * Replaces the backend set of a service: writes the backend entries, builds the Maglev table
   * (lb/maglev) — or takes `o.table` — and installs it (`o.write`: a fresh table swapped in
   * atomically, the default, or the changed slots rewritten in place), then clears removed
   * backends. Established flows stay on backends that remain (active or draining).
   */
  setBackends(serviceId: number, backends: readonly DatapathBackend[], o: BackendSetOptions = {}): BackendSetResult {
    const { table, ...rest } = o;
    return this.setBackendsMany([table === undefined ? { serviceId, backends } : { serviceId, backends, table }], rest)[0]!;
  }

  /**
   * setBackends for many services in one go: the same result service by service, in the same order
   * (backend entries → tables → removed backends cleared) but each step batched across the
   * services — one write for all backend entries, and the fresh tables installed with one map-in-map
   * batch update, so the kernel waits for running programs once instead of once per service (an RCU
   * grace period on kernels before 6.19: what makes a cold start or a large Apply slow otherwise).
   * Everything is validated before anything is written (errors name `sets[i]`). After a kernel
   * failure the services of the batch are left for a rewrite: the next setBackends of each one
   * rewrites its entries and table, whatever they hold.
   */
  setBackendsMany(
    sets: readonly { serviceId: number; backends: readonly DatapathBackend[]; table?: Uint32Array }[],
    o: Omit<BackendSetOptions, 'table'> = {},
  ): BackendSetResult[] {
    this.#open();
    if (o.write !== undefined && o.write !== 'swap' && o.write !== 'inPlace') {
      throw invalid('write', `${JSON.stringify(o.write)} is not "swap" or "inPlace"`);
    }
    // ---- validate everything --------------------------------------------------------------------
    const listed = new Set<number>();
    const claimed = new Map<number, number>();
    const plans = sets.map((set, i) => {
      const where = (f: string) => (sets.length === 1 ? f : `sets[${i}].${f}`);
      const serviceId = set.serviceId;
      const svc = this.#services.get(serviceId);
      if (!svc) throw new ValidationError('NOT_FOUND', where('serviceId'), `no service with id ${JSON.stringify(serviceId)}`);
      if (listed.has(serviceId)) throw invalid(where('serviceId'), `service id ${serviceId} is listed twice`);
      listed.add(serviceId);
      const list = validateBackends(serviceId, set.backends, this.options.maxBackends, this.#backendOwner);
      for (const b of list) {
        const other = claimed.get(b.id);
        if (other !== undefined) throw new ValidationError('ALREADY_EXISTS', where('backends'), `backend id ${b.id} is also given to service id ${other}`);
      }
      for (const b of list) claimed.set(b.id, serviceId);
      const size = svc.spec.tableSize;
      const activeIds = new Set(list.filter((b) => b.state === 'active').map((b) => b.id));
      const counted = set.table !== undefined ? this.#checkTable(set.table, size, list, activeIds, where) : undefined;
      const built = set.table ? undefined : this.#buildTable(serviceId, size, list);
      const previous = this.#backendSets.get(serviceId) ?? new Map<number, Required<DatapathBackend>>();
      return { serviceId, list, size, activeIds, built, table: set.table ?? built?.table, previous, counted };
    });
    claimed.clear();

    // ---- write ------------------------------------------------------------------------------
    const results: BackendSetResult[] = [];
    const fresh: { serviceId: number; table: MaglevTable }[] = [];
    const removals: number[] = [];
    try {
      this.#resetCounters(MAP.backendStats, plans.flatMap((p) => p.list.filter((b) => !p.previous.has(b.id)).map((b) => b.id)));
      this.#writeBackends(plans.flatMap((p) => p.list.map((b): [number, Buffer] => [b.id, encodeBackend(b, p.serviceId)])));
      for (const p of plans) {
        let tableWrite: BackendSetResult['tableWrite'];
        let slotsChanged: number;
        const live = this.#tables.get(p.serviceId);
        if (!p.table) {
          tableWrite = this.#hasTable(p.serviceId) ? 'removed' : 'none';
          slotsChanged = tableWrite === 'removed' ? p.size : 0;
          removals.push(p.serviceId);
        } else if (o.write === 'inPlace' && live && live.size === p.size) {
          tableWrite = 'inPlace';
          slotsChanged = live.writeDiff(p.table);
        } else if (!live && this.#spares.get(p.serviceId)?.size === p.size && this.#spareInstalled(p.serviceId)) {
          // The service's first table, into the spare already installed at its id: each slot goes
          // from "no backend" to its backend with one atomic store (backend entries are written).
          const spare = this.#spares.get(p.serviceId)!;
          this.#spares.delete(p.serviceId);
          tableWrite = 'swap';
          slotsChanged = spare.writeDiff(p.table);
          this.#adoptTable(p.serviceId, spare, false);
        } else {
          tableWrite = 'swap';
          slotsChanged = live && live.size === p.size ? countDiff(live, p.table) : p.size;
          fresh.push({ serviceId: p.serviceId, table: MaglevTable.create(p.serviceId, p.table) });
        }
        // lb/maglev counted the slots of a table it built; #checkTable those of a table given to us.
        const slotsPerBackend = p.built?.slotsPerBackend ?? p.counted ?? new Map(p.list.map((b) => [b.id, 0]));
        results.push({
          activeBackends: p.built?.activeBackends ?? (p.counted ? p.activeIds.size : 0),
          slotsPerBackend,
          warnings: p.built?.warnings ?? (p.table ? [] : p.list.length ? ['no active backend: new flows are dropped (noBackend)'] : []),
          tableWrite,
          slotsChanged,
        });
      }
      this.#removeTables(removals);
      this.#installTables(fresh);
      fresh.length = 0;
      const removed: number[] = [];
      for (const p of plans) {
        const kept = new Set(p.list.map((b) => b.id));
        const gone = [...p.previous.keys()].filter((id) => !kept.has(id));
        this.#retireBackends(p.serviceId, gone);
        removed.push(...gone);
      }
      this.#writeBackends(removed.map((id) => [id, Buffer.alloc(BackendValue.size)]));
      for (const id of removed) this.#backendOwner.delete(id);
      for (const p of plans) {
        for (const b of p.list) this.#backendOwner.set(b.id, p.serviceId);
        this.#backendSets.set(p.serviceId, new Map(p.list.map((b) => [b.id, b])));
      }
    } catch (e) {
      for (const f of fresh) f.table.close(); // created, never installed
      // What the kernel holds is somewhere between the old and the new sets: remember both, so the
      // next write of each service compares unequal, rewrites it and clears whatever it no longer has.
      for (const p of plans) {
        const union = new Map(p.previous);
        for (const b of p.list) union.set(b.id, { ...b, weight: -1 });
        this.#backendSets.set(p.serviceId, union);
        for (const b of p.list) this.#backendOwner.set(b.id, p.serviceId);
      }
      throw e;
    }
    return results;
  }

  /** Checks a table given by the caller: its size, and every slot an active backend of the service.
   *  Returns the slots per backend (what lb/maglev reports for a table it builds). */
  #checkTable(
    table: unknown,
    size: number,
    list: readonly Required<DatapathBackend>[],
    activeIds: ReadonlySet<number>,
    where: (f: string) => string,
  ): Map<number, number> {
    if (!(table instanceof Uint32Array) || table.length !== size) {
      throw invalid(where('table'), `must be a Uint32Array of ${size} slots (the service's tableSize)`);
    }
    if (activeIds.size === 0) throw invalid(where('table'), 'given, but no backend is active (a service without active backends has no table)');
    // One array read per slot: slot counts per id (ids are < maxBackends) in a scratch array kept
    // zeroed between calls, only the active ids' counters start at 1 (0 = not an active backend).
    const counts = (this.#slotScratch ??= new Uint32Array(this.options.maxBackends));
    for (const id of activeIds) counts[id] = 1;
    try {
      for (let s = 0; s < size; s++) {
        const id = table[s]!;
        if (id >= counts.length || counts[id] === 0) throw invalid(where(`table[${s}]`), `${id} is not the id of an active backend of this service`);
        counts[id]!++;
      }
      return new Map(list.map((b) => [b.id, activeIds.has(b.id) ? counts[b.id]! - 1 : 0]));
    } finally {
      for (const id of activeIds) counts[id] = 0;
    }
  }



  /**
   * Writes backend ids into single slots of the service's live table, in place: ids[i] into
   * slots[i], one aligned 32-bit store each, in the order given. A packet that reads a slot during
   * the write sees its old or its new id; packets of other flows may see any mix of written and
   * not-yet-written slots. The caller keeps the table consistent with the backend entries: every id
   * written must be an active backend of the service (set with setBackends) — checked here, before
   * anything is written. Returns how many slots changed.
   */
  writeSlots(serviceId: number, slots: ArrayLike<number>, ids: ArrayLike<number>): number {
    this.#open();
    const svc = this.#services.get(serviceId);
    if (!svc) throw new ValidationError('NOT_FOUND', 'serviceId', `no service with id ${JSON.stringify(serviceId)}`);
    const t = this.#tables.get(serviceId);
    if (!t) {
      throw new ValidationError('FAILED_PRECONDITION', 'serviceId', `service ${serviceId} has no table this process can write (no active backend, or adopted without its table pin): use setBackends`);
    }
    if (slots.length !== ids.length) throw invalid('ids', `${ids.length} ids for ${slots.length} slots`);
    const active = new Set([...(this.#backendSets.get(serviceId)?.values() ?? [])].filter((b) => b.state === 'active').map((b) => b.id));
    for (let i = 0; i < slots.length; i++) {
      const s = slots[i]!;
      if (!Number.isInteger(s) || s < 0 || s >= t.size) throw invalid(`slots[${i}]`, `${s} is not a slot 0 … ${t.size - 1}`);
      if (!active.has(ids[i]!)) throw invalid(`ids[${i}]`, `${ids[i]} is not the id of an active backend of service ${serviceId}`);
    }
    return t.write(slots, ids);
  }

  /**
   * Makes `ids` (the service ids the control plane hands out next) the spare-table ids: installs a
   * spare (default size, every slot "no backend") at each listed id that has no service, table or
   * spare yet, and takes back the spares at ids no longer listed, all with one map-in-map batch
   * update (one wait for running programs, however many tables). Does nothing, and returns 0, while
   * fewer than `minMissing` of the listed ids lack a spare: the call is cheap to repeat after every
   * change. Returns how many spares it installed.
   */
  prepareSpareTables(ids: readonly number[], o: { minMissing?: number } = {}): number {
    this.#open();
    const listed = new Set(ids);
    const missing = ids.filter((id) => Number.isInteger(id) && id >= 0 && id < this.options.maxServices && !this.#spares.has(id) && !this.#services.has(id) && !this.#tables.has(id));
    if (missing.length === 0 || missing.length < (o.minMissing ?? 1)) return 0;
    const stale = [...this.#spares.keys()].filter((id) => !listed.has(id) && !this.#services.has(id));
    const size = this.options.tableSize;
    const empty = new Uint32Array(size).fill(TABLE_NO_BACKEND);
    const fresh: { id: number; table: MaglevTable }[] = [];
    try {
      for (const id of missing) fresh.push({ id, table: MaglevTable.create(id, empty) });
      const tomb = stale.length ? (this.#tombstone ??= MaglevTable.create(0, new Uint32Array(MAGLEV_GROUP_SLOTS).fill(TABLE_NO_BACKEND))) : undefined;
      this.#maps[MAP.maglevOuter].setInnerBatch(
        [...fresh.map((f) => u32Key(f.id)), ...stale.map(u32Key)],
        [...fresh.map((f) => f.table.map), ...stale.map(() => tomb!.map)],
      );
    } catch (e) {
      // Part of the batch may have been applied: keep as spares exactly the tables maglev_outer
      // holds (a spare that is not installed must never be written for a service). Either way
      // every entry touched reads "no backend", as before.
      const installed = (id: number, t: MaglevTable) => {
        const v = this.#maps[MAP.maglevOuter].lookup(u32Key(id));
        return v !== undefined && decodeU32(v) === t.map.id;
      };
      for (const f of fresh) {
        if (installed(f.id, f.table)) this.#spares.set(f.id, f.table);
        else f.table.close();
      }
      for (const id of stale) {
        const t = this.#spares.get(id)!;
        if (installed(id, t)) continue;
        t.close();
        this.#spares.delete(id);
      }
      throw e;
    }
    for (const id of stale) {
      this.#spares.get(id)!.close();
      this.#spares.delete(id);
    }
    for (const f of fresh) this.#spares.set(f.id, f.table);
    return fresh.length;
  }

  /** Whether the spare at `id` is still what maglev_outer holds there (another process sharing the
   *  pins may have replaced it); a spare that is not is dropped. */
  #spareInstalled(id: number): boolean {
    const t = this.#spares.get(id)!;
    const v = this.#maps[MAP.maglevOuter].lookup(u32Key(id));
    if (v !== undefined && decodeU32(v) === t.map.id) return true;
    t.close();
    this.#spares.delete(id);
    return false;
  }

  /** Spare tables installed (prepareSpareTables). */
  get spareTables(): number {
    return this.#spares.size;
  }

  /** Kernel memory of a service's table of `size` slots (fdinfo memlock of the inner map). */
  static tableMemoryBytes(size: number): number {
    return tableMemoryBytes(size);
  }

  /** Kernel memory of the service's live table as the kernel reports it; 0 without a table. */
  tableMemory(serviceId: number): number {
    this.#open();
    return this.#tables.get(serviceId)?.memlockBytes() ?? 0;
  }

  backends(serviceId: number): DatapathBackend[] {
    return [...(this.#backendSets.get(serviceId)?.values() ?? [])].map((b) => ({ ...b }));
  }

  /** The service's Maglev table as the datapath reads it, or undefined if it has none. */
  maglevTable(serviceId: number): Uint32Array | undefined {
    this.#open();
    const t = this.#liveTable(serviceId);
    if (t) return t.read();
    if (this.#spares.has(serviceId)) return undefined;
    const size = this.#services.get(serviceId)?.spec.tableSize;
    const inner = size === undefined ? undefined : this.#innerTableById(serviceId);
    if (!inner) return undefined;
    // A table this process has not mapped (adopted without its pin): read it by id. A map that
    // does not fit the service's size is not its table (the tombstone of a removed one).
    try {
      if (inner.maxEntries !== tableGroups(size!)) return undefined;
      const { keys, values } = inner.lookupBatch();
      const table = new Uint32Array(size!);
      keys.forEach((k, i) => {
        const base = decodeU32(k) * MAGLEV_GROUP_SLOTS;
        for (let j = 0; j < MAGLEV_GROUP_SLOTS && base + j < size!; j++) table[base + j] = values[i]!.readUInt32LE(j * 4);
      });
      return table;
    } finally {
      inner.close();
    }
  }

  /** Which slot and backend a new flow of this tuple gets (userspace copy of the datapath's hash). */
  placement(t: FlowTuple): Placement | undefined {
    this.#open();
    const flow = flowKeyOf(t, 'flow');
    const svc = this.#serviceFor(flow);
    if (!svc) return undefined;
    const hash = flowHash(flow, this.options.seed, svc.spec.sourceHash);
    const slot = maglevSlot(hash, svc.spec.tableSize);
    const table = this.#liveTable(svc.spec.id);
    let backendId: number | undefined;
    if (table) backendId = table.slot(slot);
    else if (this.#hasTable(svc.spec.id)) backendId = this.maglevTable(svc.spec.id)?.[slot];
    if (backendId === TABLE_NO_BACKEND) backendId = undefined;
    return { serviceId: svc.spec.id, hash, slot, backendId };
  }

  // ---- flows -----------------------------------------------------------------------------------

  flowCount(): number {
    this.#open();
    return this.#flows.count();
  }

  /** Flow-table entry of a tuple. For sourceHash services the entry is keyed by (client, service):
   *  pass the client's tuple, the lookup applies the same keying as the datapath. */
  lookupFlow(t: FlowTuple): FlowEntry | undefined {
    this.#open();
    const flow = flowKeyOf(t, 'flow');
    const svc = this.#serviceFor(flow);
    if (svc?.spec.sourceHash) {
      flow.sport = 0;
      flow.dport = svc.spec.port;
    }
    const e = this.#flows.find(FlowKey.encode(flow));
    return e && flowEntry(e);
  }

  flows(): FlowEntry[] {
    this.#open();
    return [...this.#flows.entries()].map(flowEntry);
  }

  clearFlows(): number {
    this.#open();
    return this.#flows.clear();
  }

  // ---- counters --------------------------------------------------------------------------------

  /**
   * Every counter summed over CPUs. The per-service and per-backend maps are read for the ids in
   * use only (or the ids given), and list only ids that counted something.
   */
  readCounters(o: { services?: ArrayLike<number>; backends?: ArrayLike<number> } = {}): DatapathCounters {
    this.#open();
    const global = {} as Record<string, Record<string, Counter>>;
    const perCpu = this.#maps[MAP.stats].lookupPerCpu(u32Key(0)) ?? [];
    STAT_NAMES.forEach(([group, name], i) => {
      (global[group] ??= {})[name] = sumStatsSlot(perCpu, i);
    });
    // The datapath counts each packet's reason only; its verdict is the reason's group.
    for (const v of ['pass', 'tx', 'drop'] as const) {
      const total = { packets: 0, bytes: 0 };
      for (const c of Object.values(global[v]!)) {
        total.packets += c.packets;
        total.bytes += c.bytes;
      }
      global.verdict![v] = total;
    }
    return {
      ...(global as GlobalCounters),
      ...this.#serviceAndBackendCounters(o.services ?? [...this.#services.keys()], o.backends ?? [...this.#backendOwner.keys()]),
    };
  }

  /**
   * Counters of the given service or backend ids, summed over CPUs in C: packets and bytes of
   * ids[i] at [2i] and [2i + 1]. One call per slice of ids; no object per id.
   */
  idCounters(which: 'services' | 'backends', ids: Uint32Array): Float64Array {
    this.#open();
    const map = this.#maps[which === 'services' ? MAP.serviceStats : MAP.backendStats];
    const out = pairs(map.sumPerCpu(ids, COUNTER_U64S), ids.length);
    if (which === 'backends') return out;
    // A service's figure includes what its backends counted (#serviceAndBackendCounters).
    const owners: number[] = [];
    const backendIds: number[] = [];
    ids.forEach((id, i) => {
      for (const b of this.#backendSets.get(id)?.keys() ?? []) {
        owners.push(i);
        backendIds.push(b);
      }
    });
    if (backendIds.length === 0) return out;
    const be = pairs(this.#maps[MAP.backendStats].sumPerCpu(Uint32Array.from(backendIds), COUNTER_U64S), backendIds.length);
    owners.forEach((i, j) => {
      out[2 * i] += be[2 * j]!;
      out[2 * i + 1] += be[2 * j + 1]!;
    });
    return out;
  }

  /**
   * idCounters('services', ids), reusing a read of backend counters the caller already made
   * (backendIds[i] at backendCounters[2i], [2i + 1]): a scrape reads every backend once instead of
   * twice. Backends of these services that are not in that read are read here.
   */
  serviceCountersWith(ids: Uint32Array, backendIds: Uint32Array, backendCounters: Float64Array): Float64Array {
    this.#open();
    const out = pairs(this.#maps[MAP.serviceStats].sumPerCpu(ids, COUNTER_U64S), ids.length);
    // The caller (metrics) lists the backends service by service in the order the datapath holds
    // them, so backend b is nearly always at the cursor; a Map of positions (building it took a
    // third of the counters' time at 10 000 services) is made only if one is not.
    let at: Map<number, number> | undefined;
    const find = (b: number): number | undefined => {
      if (cursor < backendIds.length && backendIds[cursor] === b) return cursor++;
      if (!at) {
        at = new Map();
        backendIds.forEach((x, k) => at!.set(x, k));
      }
      return at.get(b);
    };
    let cursor = 0;
    const owners: number[] = [];
    const missing: number[] = [];
    ids.forEach((id, i) => {
      for (const b of this.#backendSets.get(id)?.keys() ?? []) {
        const k = find(b);
        if (k === undefined) {
          owners.push(i);
          missing.push(b);
          continue;
        }
        out[2 * i] += backendCounters[2 * k]!;
        out[2 * i + 1] += backendCounters[2 * k + 1]!;
      }
    });
    if (missing.length) {
      const be = pairs(this.#maps[MAP.backendStats].sumPerCpu(Uint32Array.from(missing), COUNTER_U64S), missing.length);
      owners.forEach((i, j) => {
        out[2 * i] += be[2 * j]!;
        out[2 * i + 1] += be[2 * j + 1]!;
      });
    }
    return out;
  }

  // ---- test hook -------------------------------------------------------------------------------

  /** Runs one frame through the program (BPF_PROG_TEST_RUN, repeat 1). Maps and counters are the
   *  live ones: the frame counts like a received packet. */
  testRun(frame: Buffer): { verdict: XdpVerdict; frame: Buffer } {
    this.#open();
    const r = this.program.testRun({ data: frame, dataOutSize: frame.length + 512, repeat: 1 });
    return { verdict: XDP_VERDICTS[r.retval] ?? 'aborted', frame: r.data };
  }

  // ---- internals -------------------------------------------------------------------------------

  #open(): void {
    if (this.#closed) throw new Error('LbDatapath is closed');
  }

  /** lb/maglev's table for `list` (draining ones weight 0), or undefined without an active backend. */
  #buildTable(serviceId: number, size: number, list: readonly Required<DatapathBackend>[]) {
    if (!list.some((b) => b.state === 'active')) return undefined;
    return buildMaglevTable(maglevRequest(list, size, this.options.seed));
  }

  /**
   * This process's mapping of the service's table, if it is still the table the datapath reads.
   * Another process may have swapped in a new one since (a second LbDatapath adopted on the same
   * pins, e.g. a tool reading what xlbd wrote): then reads go through maglev_outer instead.
   */
  #liveTable(serviceId: number): MaglevTable | undefined {
    const t = this.#tables.get(serviceId);
    if (!t) return undefined;
    const v = this.#maps[MAP.maglevOuter].lookup(u32Key(serviceId));
    return v && decodeU32(v) === t.map.id ? t : undefined;
  }

  /** Whether maglev_outer holds a table for the service (the tombstone of a removed table, ours or
   *  a previous process's — one element — does not count). */
  #hasTable(serviceId: number): boolean {
    if (this.#tables.has(serviceId)) return true;
    if (this.#spares.has(serviceId)) return false;
    const v = this.#maps[MAP.maglevOuter].lookup(u32Key(serviceId));
    if (v === undefined || decodeU32(v) === this.#tombstone?.map.id) return false;
    const inner = this.#innerTableByIdOrUndefined(decodeU32(v));
    if (!inner) return true; // cannot look (no CAP_SYS_ADMIN): assume a table
    try {
      return inner.maxEntries !== 1;
    } finally {
      inner.close();
    }
  }

  #innerTableByIdOrUndefined(id: number): BpfMap | undefined {
    try {
      return BpfMap.fromId(id);
    } catch {
      return undefined;
    }
  }

  /** A fresh table holding `table`, swapped in with one map update (and pinned if we are pinned). */
  #swapTable(serviceId: number, table: Uint32Array): void {
    this.#installTables([{ serviceId, table: MaglevTable.create(serviceId, table) }]);
  }

  /**
   * Swaps fresh tables in with one map-in-map batch update: packets see each service's old table or
   * its new one, never a partial one. On failure the registry is made to match the kernel (some
   * entries before the failing one may be set) and the tables that did not make it are closed.
   */
  #installTables(fresh: readonly { serviceId: number; table: MaglevTable }[]): void {
    if (fresh.length === 0) return;
    const outer = this.#maps[MAP.maglevOuter];
    try {
      outer.setInnerBatch(fresh.map((f) => u32Key(f.serviceId)), fresh.map((f) => f.table.map));
    } catch (e) {
      for (const f of fresh) {
        const v = outer.lookup(u32Key(f.serviceId));
        if (v && decodeU32(v) === f.table.map.id) this.#adoptTable(f.serviceId, f.table);
        else f.table.close();
      }
      throw e;
    }
    for (const f of fresh) this.#adoptTable(f.serviceId, f.table);
  }

  /** `t` is the service's live table now: the previous one is closed (the kernel frees it once no
   *  program holds it) and the pin follows. */
  #adoptTable(serviceId: number, t: MaglevTable, replacesSpare = true): void {
    if (replacesSpare) {
      // A spare at this id was replaced in maglev_outer by `t`.
      this.#spares.get(serviceId)?.close();
      this.#spares.delete(serviceId);
    }
    this.#tables.get(serviceId)?.close();
    this.#tables.set(serviceId, t);
    if (this.#pinDir) pinTable(this.#pinDir, serviceId, t);
  }

  /**
   * Takes the services' tables away. One table: its maglev_outer entry is deleted. Several: their
   * entries point at the shared tombstone (one batch update, one wait for running programs instead
   * of one per delete), which reads "no backend" at every slot, exactly like a missing table.
   */
  #removeTables(ids: readonly number[]): void {
    const present = ids.filter((id) => this.#hasTable(id));
    if (present.length === 1) {
      this.#maps[MAP.maglevOuter].delete(u32Key(present[0]!));
    } else if (present.length) {
      const tomb = (this.#tombstone ??= MaglevTable.create(0, new Uint32Array(MAGLEV_GROUP_SLOTS).fill(TABLE_NO_BACKEND)));
      this.#maps[MAP.maglevOuter].setInnerBatch(present.map(u32Key), present.map(() => tomb.map));
    }
    for (const id of ids) {
      this.#tables.get(id)?.close();
      this.#tables.delete(id);
      if (this.#pinDir) unlinkIfPresent(tablePinPath(this.#pinDir, id));
    }
  }

  /** The inner map in maglev_outer[serviceId] opened by id (needs CAP_SYS_ADMIN), if any. */
  #innerTableById(serviceId: number): BpfMap | undefined {
    const v = this.#maps[MAP.maglevOuter].lookup(u32Key(serviceId));
    return v && BpfMap.fromId(decodeU32(v));
  }

  /**
   * Maps the live table of every service after adopt()/upgrade(): from its pin under the pin
   * directory (checked to be the map the datapath reads), else by id where that is allowed. A table
   * neither yields stays readable by id and is replaced by the next setBackends.
   */
  #openTables(): void {
    const outer = this.#maps[MAP.maglevOuter];
    for (const [id, rec] of this.#services) {
      const v = outer.lookup(u32Key(id));
      if (!v) continue;
      const liveId = decodeU32(v);
      let map: BpfMap | undefined;
      if (this.#pinDir) {
        try {
          map = BpfMap.openPinned(tablePinPath(this.#pinDir, id));
        } catch {
          map = undefined;
        }
        if (map && map.id !== liveId) {
          map.close();
          map = undefined;
        }
      }
      if (!map) {
        try {
          map = BpfMap.fromId(liveId);
        } catch {
          continue;
        }
      }
      const t = MaglevTable.open(map, rec.spec.tableSize);
      if (t) this.#tables.set(id, t);
      else map.close();
    }
  }

  #writeBackends(entries: [number, Buffer][]): void {
    if (entries.length === 0) return;
    this.#maps[MAP.backends].updateBatch(
      entries.map(([id]) => u32Key(id)),
      entries.map(([, v]) => v),
    );
  }

  #vipRef(vipKey: Buffer, delta: number): void {
    const vips = this.#maps[MAP.vips];
    const cur = vips.lookup(vipKey);
    const n = (cur ? VipValue.decode(cur).services : 0) + delta;
    // A VIP's filter bit is set before its entry appears and cleared after it is gone: the filter
    // never hides a VIP.
    if (n === 1 && delta > 0) this.#filterRef(vipKey, +1);
    if (n > 0) vips.update(vipKey, VipValue.encode({ services: n }));
    else vips.delete(vipKey);
    if (n === 0) this.#filterRef(vipKey, -1);
  }

  #filterRef(vipKey: Buffer, delta: 1 | -1): void {
    const bit = vipFilterBit(VipKey.decode(vipKey).addr);
    const n = (this.#filterBits.get(bit) ?? 0) + delta;
    if (n > 0) this.#filterBits.set(bit, n);
    else this.#filterBits.delete(bit);
    if ((n === 1 && delta > 0) || n === 0) this.#writeFilterWord(bit >> 6);
  }

  /** One aligned 64-bit store: a packet sees the word old or new, never a mix. */
  #writeFilterWord(word: number): void {
    let v = 0n;
    for (let b = 0; b < 64; b++) if (this.#filterBits.has(word * 64 + b)) v |= 1n << BigInt(b);
    Atomics.store(this.#filterWords, word, v);
  }

  /** Rebuilds the filter's reference counts from `vips` (adopt) and rewrites every word, so a
   *  filter that lost a bit (or kept a stale one) is right again. */
  #rebuildFilter(): void {
    for (const k of this.#maps[MAP.vips].lookupBatch().keys) {
      const bit = vipFilterBit(VipKey.decode(k).addr);
      this.#filterBits.set(bit, (this.#filterBits.get(bit) ?? 0) + 1);
    }
    for (let w = 0; w < VIP_FILTER_WORDS; w++) this.#writeFilterWord(w);
  }

  /** Zeroes the counters of ids being assigned, in one batch; ids of fresh maps never used are skipped. */
  #resetCounters(map: typeof MAP.serviceStats | typeof MAP.backendStats, ids: readonly number[]): void {
    const used = this.#countersUsed?.[map === MAP.serviceStats ? 'services' : 'backends'];
    const dirty = used ? ids.filter((id) => used[id] === 1) : ids;
    if (used) for (const id of ids) used[id] = 1;
    if (dirty.length === 0) return;
    const zero = Buffer.alloc(LbCounter.size); // one value, written to every CPU
    this.#maps[map].updateBatch(dirty.map(u32Key), dirty.map(() => zero));
  }

  /**
   * The datapath counts a packet that reached a backend only for that backend (one counter per
   * packet); service_stats hold the service's other packets (drops, ICMP replies) and what its
   * removed backends had counted (#retireBackends). A service's figure is the sum of both: the
   * backends read are added to the services read that own them.
   */
  #serviceAndBackendCounters(serviceIds: ArrayLike<number>, backendIds: ArrayLike<number>): { services: Map<number, Counter>; backends: Map<number, Counter> } {
    const services = this.#nonZero(MAP.serviceStats, serviceIds);
    const wanted = new Set(Array.from(serviceIds));
    const backends = this.#nonZero(MAP.backendStats, backendIds);
    for (const [id, c] of backends) {
      const svc = this.#backendOwner.get(id);
      if (svc === undefined || !wanted.has(svc)) continue;
      const s = services.get(svc) ?? { packets: 0, bytes: 0 };
      services.set(svc, { packets: s.packets + c.packets, bytes: s.bytes + c.bytes });
    }
    return { services, backends };
  }

  /** Adds what removed backends counted to their service's counters, CPU by CPU, so the service's
   *  figure does not shrink. (Packets a removed backend counts while this runs are not carried.) */
  #retireBackends(serviceId: number, ids: readonly number[]): void {
    if (ids.length === 0) return;
    const svcMap = this.#maps[MAP.serviceStats];
    const beMap = this.#maps[MAP.backendStats];
    const total = (svcMap.lookupPerCpu(u32Key(serviceId)) ?? []).map((v) => LbCounter.decode(v));
    for (const id of ids) {
      (beMap.lookupPerCpu(u32Key(id)) ?? []).forEach((v, cpu) => {
        const c = LbCounter.decode(v);
        const t = (total[cpu] ??= { packets: 0n, bytes: 0n });
        t.packets += c.packets;
        t.bytes += c.bytes;
      });
    }
    svcMap.update(u32Key(serviceId), total.map((c) => LbCounter.encode(c)));
  }

  #nonZero(map: typeof MAP.serviceStats | typeof MAP.backendStats, ids: ArrayLike<number>): Map<number, Counter> {
    const keys = Uint32Array.from(ids);
    const sums = this.#maps[map].sumPerCpu(keys, COUNTER_U64S);
    const out = new Map<number, Counter>();
    keys.forEach((id, i) => {
      const c = counterAt(sums, i);
      if (c.packets || c.bytes) out.set(id, c);
    });
    return out;
  }

  #serviceFor(flow: FlowKeyValue): ServiceRecord | undefined {
    const candidates = [...this.#services.values()].filter(
      (r) => r.family === flow.family && r.vip.equals(flow.dst) && IPPROTO[r.spec.protocol] === flow.proto,
    );
    return candidates.find((r) => r.spec.port === flow.dport) ?? candidates.find((r) => r.spec.port === 0);
  }

  #serviceByKey(key: Buffer): ServiceRecord | undefined {
    const id = this.#byKey.get(key.toString('hex'));
    return id === undefined ? undefined : this.#services.get(id);
  }

  #rebuildRegistry(): void {
    const { keys, values } = this.#maps[MAP.services].lookupBatch();
    keys.forEach((k, i) => {
      const key = ServiceKey.decode(k);
      const family = familyOf(key.family, 'service key');
      const val = ServiceValue.decode(values[i]!);
      const protocol = key.proto === IPPROTO.tcp ? 'tcp' : 'udp';
      this.#services.set(val.serviceId, {
        spec: {
          id: val.serviceId,
          vip: formatAddress(family, key.addr),
          port: key.port,
          protocol,
          sourceHash: (val.flags & SERVICE_F_HASH_SRC_IP_ONLY) !== 0,
          tableSize: val.tableSize,
        },
        family,
        vip: key.addr,
        key: Buffer.from(k),
        vipKey: VipKey.encode({ addr: key.addr, family }),
      });
      this.#byKey.set(Buffer.from(k).toString('hex'), val.serviceId);
      this.#backendSets.set(val.serviceId, new Map());
    });
    // The backends map is an array: every slot comes back (262 144 of them in a 10 000-service
    // configuration). Only slots with a family byte set are entries; decode just those (an adopt
    // with an empty state took 1.8 s decoding zeros).
    const all = this.#maps[MAP.backends].lookupBatchPacked();
    const stride = all.valueStride;
    const familyAt = BACKEND_FAMILY_OFFSET;
    for (let i = 0; i < all.count; i++) {
      if (all.values[i * stride + familyAt] === 0) continue;
      const b = decodeBackendValue(all.values.subarray(i * stride, (i + 1) * stride));
      if (!b) continue;
      const family = familyOf(b.family, 'backend');
      const id = all.keys.readUInt32LE(i * 4);
      const set = this.#backendSets.get(b.serviceId);
      if (!set) continue; // orphan of a deleted service; the datapath ignores it too
      set.set(id, {
        id,
        address: formatAddress(family, b.addr),
        weight: b.weight,
        state: b.flags & BACKEND_F_ACTIVE ? 'active' : 'draining',
      });
      this.#backendOwner.set(id, b.serviceId);
    }
    this.#rebuildFilter();
    this.#openTables();
  }
}

/**
 * The lb/maglev request for a backend set: what setBackends builds when it is not given a table.
 * Exported so that a caller building tables elsewhere (worker threads at a cold start) builds
 * exactly the same ones — every node of an ECMP group must.
 */
export function maglevRequest(backends: readonly DatapathBackend[], size: number, seed: number): MaglevOptions {
  return {
    backends: backends.map((b) => ({ key: b.address, id: b.id, weight: (b.state ?? (b.weight > 0 ? 'active' : 'draining')) === 'active' ? b.weight : 0 })),
    size,
    seed,
  };
}

function encodeBackend(b: Required<DatapathBackend>, serviceId: number): Buffer {
  const addr = parseAddress(b.address, 'address');
  return BackendValue.encode({
    family: addr.family,
    addr: addr.bytes,
    flags: b.state === 'active' ? BACKEND_F_ACTIVE : BACKEND_F_DRAINING,
    weight: b.weight,
    serviceId,
  });
}

function countDiff(live: MaglevTable, table: Uint32Array): number {
  let n = 0;
  for (let s = 0; s < table.length; s++) if (live.slot(s) !== table[s]) n++;
  return n;
}

/** sumPerCpu's rows (COUNTER_U64S values per id) as packets, bytes pairs. */
function pairs(sums: Float64Array, n: number): Float64Array {
  if (PACKETS_FIELD === 0 && BYTES_FIELD === 1 && COUNTER_U64S === 2) return sums;
  const out = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    out[2 * i] = sums[i * COUNTER_U64S + PACKETS_FIELD]!;
    out[2 * i + 1] = sums[i * COUNTER_U64S + BYTES_FIELD]!;
  }
  return out;
}
