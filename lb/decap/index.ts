// Backend decapsulation (bpf/decap/xlb_decap.c) on one interface: attach, detach, status. Used by
// `xlb decap attach|detach|status --dev IFACE` and by the namespace lab.
//
// The program hangs off the interface's tc ingress hook (clsact) at a fixed handle/priority, and is
// pinned with its maps under a per-instance bpffs directory, so it keeps working after the command
// that attached it exits and `status` can read its counters later.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  BpfMap, BpfObject, BpfProgram, ifNameToIndex, tcAttach, tcDetach, tcQuery, withNetns,
} from '../../bpf/libbpf-ts/index.js';
import { bpfObjectPath } from '../../bpf/objects.js';
import {
  ANY_SOURCE, DECAP_COUNTER_NAMES, DecapAddrKey, DecapAddrVal, DecapCounter, DecapSourceKey, DecapSourceVal, counterKey, decodeAddrKey,
  decodeSourceKey, encodeAddrKey, encodeSourceKey, sumCounter, zeroCounters, type DecapCounters,
} from './layout.js';
import { defaultPinDir, pinPaths, preparePinDir, removePinDirIfEmpty, unpinIfPresent } from './pins.js';

export { ANY_SOURCE, DECAP_COUNTER_NAMES, DECAP_STRUCTS, encodeAddrKey, encodeSourceKey, type DecapCounterName, type DecapCounters } from './layout.js';
export { DECAP_PIN_ROOT, defaultPinDir } from './pins.js';

/** Where on the tc ingress hook the decap filter sits; other xlb tc programs must use others. */
export const DECAP_TC = { direction: 'ingress', handle: 0xdeca, priority: 0xdec } as const;
export const DECAP_PROGRAM_NAME = 'xlb_decap';
const MAX_ADDRESSES = 64; // decap_addrs max_entries (bpf/decap/maps.h)
const MAX_SOURCES = 256; // decap_sources max_entries (bpf/decap/maps.h)

export interface DecapTarget {
  /** Interface whose ingress receives the tunnelled packets, e.g. eth0 */
  ifname: string;
  /** Network namespace of the interface (e.g. /run/netns/NAME); default: this process's */
  netnsPath?: string;
  /** bpffs directory of this instance; default /sys/fs/bpf/xlb/decap/<netns>_<ifname> */
  pinDir?: string;
}

export interface AttachDecapOptions extends DecapTarget {
  /** Outer destinations to decapsulate for; default: the interface's addresses (minus link-local) */
  addresses?: string[];
  /**
   * Outer sources to accept tunnels from: the load balancers' encapsulation sources (addresses or
   * CIDRs). Required unless allowAnySource: anyone who can route to the backend could otherwise
   * inject packets with any inner source past its firewall.
   */
  allowSources?: string[];
  /** Accept tunnels from every outer source (rely on perimeter filtering of protocols 4 and 41). */
  allowAnySource?: boolean;
  /**
   * Accept inner packets whose destination the host would forward (skips the bpf_fib_lookup check;
   * non-unicast, loopback and similar destinations are still dropped). For hosts that forward the
   * decapsulated packet by design, e.g. Kubernetes nodes with externalTrafficPolicy: Local and
   * kube-proxy in iptables/nftables mode (it DNATs the ingress IP to a pod). The host then
   * decapsulates tunnels to any destination it routes, so the source allow-list is the guard left.
   * A load-time constant: changing it reloads the program.
   */
  allowForwardedInner?: boolean;
  /** Compiled program; default build/bpf/xlb_decap.o */
  objectPath?: string;
  /** Use the pre-6.3 bpf_skb_change_proto() path for 4in6/6in4 (tests; applies on a fresh load) */
  legacyCrossFamily?: boolean;
}

export interface DecapAttachResult {
  ifindex: number;
  progId: number;
  pinDir: string;
  addresses: string[];
  /** Outer sources accepted, as CIDRs; ['0.0.0.0/0', '::/0'] = any */
  allowedSources: string[];
  /** Inner packets the host would forward are accepted (--allow-forwarded-inner) */
  allowForwardedInner: boolean;
  /** true: this instance was already attached; only its address and source lists were refreshed */
  reused: boolean;
}

export interface DecapDetachResult {
  pinDir: string;
  /** A decap filter was removed from the interface */
  detached: boolean;
  /** Pins were removed */
  unpinned: boolean;
  /** The interface no longer exists (only pins were cleaned up) */
  interfaceMissing: boolean;
}

export interface DecapStatus {
  ifname: string;
  ifindex: number;
  pinDir: string;
  /** This instance's program is the one on the interface's tc ingress hook */
  attached: boolean;
  pinned: boolean;
  /** Id of the pinned program */
  progId?: number;
  /** Id of whatever program sits at the decap handle/priority */
  attachedProgId?: number;
  addresses: string[];
  /** Outer sources accepted, as CIDRs; ['0.0.0.0/0', '::/0'] = any; [] = none (nothing is decapsulated) */
  allowedSources: string[];
  /**
   * Inner packets the host would forward are accepted (--allow-forwarded-inner), read from the pinned
   * program's constants; false when nothing is pinned. undefined: the pinned constants cannot be
   * read with this xlb's object (pinned by an older version, or the object changed since).
   */
  allowForwardedInner?: boolean;
  counters: DecapCounters;
}

function validateTarget(o: DecapTarget): void {
  if (typeof o?.ifname !== 'string' || !/^[^\s/:]{1,15}$/.test(o.ifname)) {
    throw new Error(`decap: ifname ${JSON.stringify(o?.ifname)} is not an interface name (1-15 characters, no whitespace, '/' or ':')`);
  }
  if (o.netnsPath !== undefined && !existsSync(o.netnsPath)) {
    throw new Error(`decap: netnsPath ${o.netnsPath} does not exist`);
  }
  if (o.pinDir !== undefined && !o.pinDir.startsWith('/')) {
    throw new Error(`decap: pinDir must be an absolute path, got ${o.pinDir}`);
  }
}

function inNetns<T>(netnsPath: string | undefined, fn: () => T): T {
  return netnsPath ? withNetns(netnsPath, fn) : fn();
}

/** Resolves the interface inside its namespace; the libbpf-ts error already names it. */
function resolveIfindex(o: DecapTarget): number {
  try {
    return ifNameToIndex(o.ifname);
  } catch (err) {
    const where = o.netnsPath ? ` in ${o.netnsPath}` : '';
    throw new Error(`decap: unknown interface ${o.ifname}${where} (${(err as Error).message})`);
  }
}

/**
 * The interface's addresses, read over netlink by iproute2 (os.networkInterfaces() hides
 * interfaces that are down, and a backend may well attach before bringing its NIC up).
 */
function interfaceAddresses(ifname: string, netnsPath: string | undefined): string[] {
  const argv = ['ip', '-j', 'addr', 'show', 'dev', ifname];
  let out: string;
  try {
    out = netnsPath
      ? execFileSync('nsenter', [`--net=${netnsPath}`, '--', ...argv], { encoding: 'utf8', stdio: 'pipe' })
      : execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: 'pipe' });
  } catch (err) {
    throw new Error(`decap: cannot list the addresses of ${ifname}: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`);
  }
  const links = JSON.parse(out) as Array<{ addr_info?: Array<{ local: string; scope: string }> }>;
  // Link-local IPv6 is never a tunnel endpoint: the LB addresses backends by routable addresses.
  return links.flatMap((l) => l.addr_info ?? []).filter((a) => a.scope !== 'link' && a.scope !== 'host').map((a) => a.local);
}

function openPinnedProgram(path: string): BpfProgram | undefined {
  return existsSync(path) ? BpfProgram.openPinned(path) : undefined;
}

function openPinnedMap(path: string): BpfMap | undefined {
  return existsSync(path) ? BpfMap.openPinned(path) : undefined;
}

/** Makes the map hold exactly these addresses (removes the stale ones). */
function syncAddresses(map: BpfMap, addresses: string[]): void {
  const wanted = new Map(addresses.map((a) => [encodeAddrKey(a).toString('hex'), encodeAddrKey(a)]));
  for (const key of [...map.keys()]) {
    if (!wanted.has(key.toString('hex'))) map.delete(key);
  }
  const value = DecapAddrVal.encode({ flags: 1 });
  for (const key of wanted.values()) map.update(key, value);
}

/** Makes the LPM map hold exactly these CIDRs. */
function syncSources(map: BpfMap, cidrs: string[]): void {
  const wanted = new Map(cidrs.map((c) => [encodeSourceKey(c).toString('hex'), encodeSourceKey(c)]));
  // New entries first: a source in both lists is never briefly refused.
  const value = DecapSourceVal.encode({ flags: 1 });
  for (const key of wanted.values()) map.update(key, value);
  for (const key of [...map.keys()]) {
    if (!wanted.has(key.toString('hex'))) map.delete(key);
  }
}

function readSources(map: BpfMap): string[] {
  return [...map.keys()].filter((k) => k.length === DecapSourceKey.size).map(decodeSourceKey).sort();
}

/** The canonical, de-duplicated source list of an attach request; throws naming what is wrong. */
export function resolveAllowedSources(o: Pick<AttachDecapOptions, 'allowSources' | 'allowAnySource'>): string[] {
  const list = o.allowSources;
  if (o.allowAnySource === true) {
    if (list !== undefined && list.length > 0) throw new Error('decap: give either allowed sources (--allow-source) or --allow-any-source, not both');
    return [...ANY_SOURCE];
  }
  if (list === undefined || !Array.isArray(list) || list.length === 0) {
    throw new Error(
      'decap: no outer source allowed: give the load balancers\' encapsulation sources with --allow-source CIDR ' +
        '(e.g. --allow-source 192.0.2.10/32), or --allow-any-source to accept tunnels from anyone ' +
        '(then filter IP protocols 4 and 41 at the perimeter)',
    );
  }
  const keys = new Map<string, string>();
  for (const c of list) {
    if (typeof c !== 'string') throw new Error(`decap: allow-source ${JSON.stringify(c)} is not a CIDR`);
    const key = encodeSourceKey(c); // throws naming the bad one
    keys.set(key.toString('hex'), decodeSourceKey(key));
  }
  if (keys.size > MAX_SOURCES) throw new Error(`decap: at most ${MAX_SOURCES} allowed sources, got ${keys.size}`);
  return [...keys.values()].sort();
}

function readAddresses(map: BpfMap): string[] {
  return [...map.keys()].filter((k) => k.length === DecapAddrKey.size).map(decodeAddrKey).sort();
}

function readCounters(map: BpfMap): DecapCounters {
  const counters = zeroCounters();
  DECAP_COUNTER_NAMES.forEach((name, i) => {
    if (i >= map.maxEntries) return;
    const perCpu = map.lookupPerCpu(counterKey(i));
    if (perCpu) counters[name] = sumCounter(perCpu);
  });
  return counters;
}

/** Names of the program's load-time constants (.rodata). */
const CONST = { legacyCrossFamily: 'cfg_legacy_cross_family', allowForwardedInner: 'cfg_allow_forwarded_inner' } as const;

/**
 * A constant of the pinned program, read from its pinned .rodata at the offset the object file
 * gives. undefined when there is no such pin, or it does not fit the object (another version).
 */
function readPinnedConst(config: BpfMap | undefined, objectPath: string, name: string): number | undefined {
  if (!config || config.type !== 'array' || config.keySize !== 4 || !existsSync(objectPath)) return undefined;
  const obj = BpfObject.open(objectPath);
  try {
    const at = obj.constInfo(name);
    const value = config.lookup(Buffer.alloc(4)); // a datasec map has one entry, key 0
    if (at.section !== '.rodata' || !value || value.length !== config.valueSize || at.offset + at.size > value.length) return undefined;
    return value.readUIntLE(at.offset, at.size);
  } catch {
    return undefined;
  } finally {
    obj.close();
  }
}

/** Shapes of the program's maps (bpf/decap/maps.h); a pinned map is adopted only if it matches. */
const MAP_SHAPES = {
  decap_addrs: { type: 'hash', keySize: DecapAddrKey.size, valueSize: DecapAddrVal.size, maxEntries: MAX_ADDRESSES },
  decap_sources: { type: 'lpm_trie', keySize: DecapSourceKey.size, valueSize: DecapSourceVal.size, maxEntries: MAX_SOURCES },
  decap_stats: { type: 'percpu_array', keySize: 4, valueSize: DecapCounter.size, maxEntries: DECAP_COUNTER_NAMES.length },
} as const;

/** Adopts a pinned map into the object about to load when its shape still matches. */
function reuseIfCompatible(obj: BpfObject, name: keyof typeof MAP_SHAPES, pinned: BpfMap | undefined): boolean {
  if (!pinned) return false;
  const want = MAP_SHAPES[name];
  if (pinned.type !== want.type || pinned.keySize !== want.keySize || pinned.valueSize !== want.valueSize ||
      pinned.maxEntries !== want.maxEntries) return false;
  obj.reuseMap(name, pinned);
  return true;
}

export function attachDecap(o: AttachDecapOptions): DecapAttachResult {
  validateTarget(o);
  if (o.addresses !== undefined) {
    if (!Array.isArray(o.addresses) || o.addresses.length === 0) throw new Error('decap: addresses must be a non-empty list when given');
    o.addresses.forEach(encodeAddrKey); // throws naming the bad one
  }
  const allowedSources = resolveAllowedSources(o);
  const objectPath = o.objectPath ?? bpfObjectPath('xlb_decap');
  if (!existsSync(objectPath)) throw new Error(`decap: BPF object ${objectPath} not found (run npm run build)`);
  const pinDir = o.pinDir ?? defaultPinDir(o.ifname, o.netnsPath);

  const { ifindex, attachedProgId } = inNetns(o.netnsPath, () => {
    const ifindex = resolveIfindex(o);
    return { ifindex, attachedProgId: tcQuery(ifindex, DECAP_TC)?.progId };
  });
  const addresses = [...new Set(o.addresses ?? interfaceAddresses(o.ifname, o.netnsPath))];
  if (addresses.length === 0) {
    throw new Error(`decap: interface ${o.ifname} has no IPv4/IPv6 address to decapsulate for; configure one or pass addresses`);
  }
  if (addresses.length > MAX_ADDRESSES) throw new Error(`decap: at most ${MAX_ADDRESSES} addresses, got ${addresses.length}`);

  preparePinDir(pinDir);
  const paths = pinPaths(pinDir);
  const pinnedProg = openPinnedProgram(paths.prog);
  const pinnedAddrs = openPinnedMap(paths.addrs);
  const pinnedSources = openPinnedMap(paths.sources);
  const pinnedStats = openPinnedMap(paths.stats);
  const pinnedConfig = openPinnedMap(paths.config);
  const allowForwardedInner = o.allowForwardedInner === true;
  try {
    // Idempotent: this instance already runs on the interface, only the lists may change. A
    // program pinned without a source list is an older version without the source check, and one
    // whose constants differ from the request (or cannot be read) must be loaded anew: reloaded.
    const sameConstants = readPinnedConst(pinnedConfig, objectPath, CONST.allowForwardedInner) === (allowForwardedInner ? 1 : 0);
    if (pinnedProg && pinnedAddrs && pinnedSources && pinnedStats && attachedProgId === pinnedProg.id && sameConstants) {
      syncAddresses(pinnedAddrs, addresses);
      syncSources(pinnedSources, allowedSources);
      return { ifindex, progId: pinnedProg.id, pinDir, addresses, allowedSources, allowForwardedInner, reused: true };
    }
    return loadAndAttach(o, objectPath, pinDir, ifindex, addresses, allowedSources, { addrs: pinnedAddrs, sources: pinnedSources, stats: pinnedStats });
  } finally {
    pinnedProg?.close();
    pinnedAddrs?.close();
    pinnedSources?.close();
    pinnedStats?.close();
    pinnedConfig?.close();
  }
}

function loadAndAttach(o: AttachDecapOptions, objectPath: string, pinDir: string, ifindex: number, addresses: string[],
  allowedSources: string[], pinned: { addrs: BpfMap | undefined; sources: BpfMap | undefined; stats: BpfMap | undefined }): DecapAttachResult {
  const paths = pinPaths(pinDir);
  const obj = BpfObject.open(objectPath);
  try {
    obj.setConst(CONST.legacyCrossFamily, o.legacyCrossFamily ? 1 : 0);
    obj.setConst(CONST.allowForwardedInner, o.allowForwardedInner === true ? 1 : 0);
    // Counters survive a reload (upgrade, or an attachment lost with its interface).
    const reusedAddrs = reuseIfCompatible(obj, 'decap_addrs', pinned.addrs);
    const reusedSources = reuseIfCompatible(obj, 'decap_sources', pinned.sources);
    const reusedStats = reuseIfCompatible(obj, 'decap_stats', pinned.stats);
    obj.load();
    const prog = obj.program(DECAP_PROGRAM_NAME);
    const addrsMap = obj.map('decap_addrs');
    const sourcesMap = obj.map('decap_sources');
    // Lists first: the first packet after attach must already be recognised.
    syncAddresses(addrsMap, addresses);
    syncSources(sourcesMap, allowedSources);

    unpinIfPresent(paths.prog);
    prog.pin(paths.prog);
    unpinIfPresent(paths.config);
    rodataMap(obj).pin(paths.config);
    if (!reusedAddrs) {
      unpinIfPresent(paths.addrs);
      addrsMap.pin(paths.addrs);
    }
    if (!reusedSources) {
      unpinIfPresent(paths.sources);
      sourcesMap.pin(paths.sources);
    }
    if (!reusedStats) {
      unpinIfPresent(paths.stats);
      obj.map('decap_stats').pin(paths.stats);
    }
    try {
      inNetns(o.netnsPath, () => tcAttach(ifindex, prog, DECAP_TC));
    } catch (err) {
      for (const p of Object.values(paths)) unpinIfPresent(p);
      removePinDirIfEmpty(pinDir);
      throw new Error(`decap: attaching to ${o.ifname} tc ingress failed: ${(err as Error).message}`);
    }
    return { ifindex, progId: prog.id, pinDir, addresses, allowedSources, allowForwardedInner: o.allowForwardedInner === true, reused: false };
  } finally {
    obj.close();
  }
}

/** The object's .rodata map (libbpf names it after the object: "xlb_deca.rodata"). */
function rodataMap(obj: BpfObject): BpfMap {
  const name = obj.mapNames().find((n) => n.endsWith('.rodata'));
  if (!name) throw new Error(`decap: ${obj.path} has no .rodata (its load-time constants are missing)`);
  return obj.map(name);
}

export function detachDecap(o: DecapTarget): DecapDetachResult {
  validateTarget(o);
  const pinDir = o.pinDir ?? defaultPinDir(o.ifname, o.netnsPath);
  const paths = pinPaths(pinDir);
  const pinnedProg = openPinnedProgram(paths.prog);
  const hasPins = Object.values(paths).some((p) => existsSync(p));
  let detached = false;
  let interfaceMissing = false;
  try {
    inNetns(o.netnsPath, () => {
      let ifindex: number;
      try {
        ifindex = resolveIfindex(o);
      } catch (err) {
        // A vanished interface took its filter with it; stale pins are still ours to remove.
        if (!hasPins) throw err;
        interfaceMissing = true;
        return;
      }
      const attached = tcQuery(ifindex, DECAP_TC);
      if (!attached) return;
      const ours = pinnedProg ? attached.progId === pinnedProg.id : programName(attached.progId) === DECAP_PROGRAM_NAME;
      if (!ours) {
        throw new Error(`decap: ${o.ifname} tc ingress handle 0x${DECAP_TC.handle.toString(16)} runs program id ${attached.progId}, ` +
          `not this instance's${pinnedProg ? ` (pinned id ${pinnedProg.id})` : ''}; left untouched`);
      }
      tcDetach(ifindex, DECAP_TC);
      detached = true;
    });
  } finally {
    pinnedProg?.close();
  }
  for (const p of Object.values(paths)) unpinIfPresent(p);
  removePinDirIfEmpty(pinDir);
  return { pinDir, detached, unpinned: hasPins, interfaceMissing };
}

function programName(id: number): string | undefined {
  try {
    const prog = BpfProgram.fromId(id);
    try {
      return prog.name;
    } finally {
      prog.close();
    }
  } catch {
    return undefined;
  }
}

export function decapStatus(o: DecapTarget & { /** default build/bpf/xlb_decap.o: gives the constants' offsets */ objectPath?: string }): DecapStatus {
  validateTarget(o);
  const pinDir = o.pinDir ?? defaultPinDir(o.ifname, o.netnsPath);
  const paths = pinPaths(pinDir);
  const { ifindex, attachedProgId } = inNetns(o.netnsPath, () => {
    const ifindex = resolveIfindex(o);
    return { ifindex, attachedProgId: tcQuery(ifindex, DECAP_TC)?.progId };
  });
  const prog = openPinnedProgram(paths.prog);
  const addrs = openPinnedMap(paths.addrs);
  const sources = openPinnedMap(paths.sources);
  const stats = openPinnedMap(paths.stats);
  const config = openPinnedMap(paths.config);
  try {
    const allowForwardedInner = prog ? readPinnedConst(config, o.objectPath ?? bpfObjectPath('xlb_decap'), CONST.allowForwardedInner) : 0;
    return {
      ifname: o.ifname,
      ifindex,
      pinDir,
      attached: attachedProgId !== undefined && (prog ? attachedProgId === prog.id : programName(attachedProgId) === DECAP_PROGRAM_NAME),
      pinned: prog !== undefined,
      ...(prog ? { progId: prog.id } : {}),
      ...(attachedProgId !== undefined ? { attachedProgId } : {}),
      addresses: addrs ? readAddresses(addrs) : [],
      allowedSources: sources ? readSources(sources) : [],
      ...(allowForwardedInner !== undefined ? { allowForwardedInner: allowForwardedInner !== 0 } : {}),
      counters: stats ? readCounters(stats) : zeroCounters(),
    };
  } finally {
    prog?.close();
    addrs?.close();
    sources?.close();
    stats?.close();
    config?.close();
  }
}
