// Resolution of one instance's configuration: each setting comes from a flag if given, else from
// the YAML file, else from its default; the result is validated as a whole. Errors are ConfigError
// naming the flag or the YAML path (with file:line:column).
import { join } from 'node:path';
import { ALLOWED_TABLE_SIZES } from '../maglev/index.js';
import {
  DesiredState,
  isPlainObject,
  parsePrefix,
  parseUnicastIp,
  ReservedAddresses,
  servicesFromDocument,
  unusableAddressReason,
  ValidationError,
  type Limits,
  type ReservedAddress,
  type ServiceInput,
} from '../model/index.js';
import {
  DEFAULTS,
  DEFAULT_INSTANCE,
  DEFAULT_STATE_DIR,
  LIMITS,
  STATE_FILE_NAME,
  defaultApiListen,
  defaultBpffsDir,
} from './defaults.js';
import { ConfigError } from './errors.js';
import { KUBERNETES_KEYS, LEADER_ELECTION_KEYS, resolveKubernetes } from './kubernetes.js';
import { parseListen, parseTcpListen } from './listen.js';
import type { EncapSource, ListenAddress, XdpMode, XlbdConfig, XlbdFlags } from './types.js';
import { BGP_KEYS, resolveBgp } from './bgp.js';
import { resolveHealthSettings } from './health.js';
import { absolutePath, boolean, integer, readableFile, Resolver, type Setting } from './resolver.js';
import { parsePath, YamlSource } from './yaml-source.js';

/** Keys the file may contain, per mapping. */
const SCHEMA: Record<string, readonly string[]> = {
  '': [
    'instance', 'interfaces', 'xdp_mode', 'gateway', 'encap', 'mtu', 'maglev', 'maps', 'limits', 'icmp', 'flow_table',
    'recorder', 'api', 'metrics', 'state_dir', 'bpffs_dir', 'detach_on_exit', 'services', 'health', 'bgp', 'kubernetes',
  ],
  encap: ['source_v4', 'source_v6'],
  maglev: ['table_size', 'seed'],
  maps: ['services', 'backends', 'flows'],
  icmp: ['too_big_rate', 'too_big_burst'],
  flow_table: ['syn_takeover_idle'],
  limits: ['max_backends_per_service'],
  recorder: ['enabled', 'ring_bytes', 'host_traffic', 'max_recordings_per_peer', 'max_rules_per_peer'],
  api: ['listen', 'socket_mode', 'socket_group', 'tls', 'insecure'],
  'api.tls': ['cert', 'key', 'client_ca', 'allowed_clients'],
  metrics: ['listen', 'cache_ms'],
  health: ['source_ports', 'max_concurrency'],
  bgp: BGP_KEYS,
  kubernetes: KUBERNETES_KEYS,
  'kubernetes.leader_election': LEADER_ELECTION_KEYS,
};

const INSTANCE_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;
// Linux IFNAMSIZ is 16 including the NUL; '/' and whitespace are impossible, ':' means an alias.
const IFNAME_PATTERN = /^[^\s/:]{1,15}$/;

export interface ResolveInput {
  /** The config file's text and name (omit for "no file"). */
  yaml?: { text: string; file: string };
  flags?: XlbdFlags;
  /** Check that TLS files exist and are readable (default true). */
  checkFiles?: boolean;
  /** Environment for settings that may come from it (kubernetes.node_name: $NODE_NAME); default process.env. */
  env?: NodeJS.ProcessEnv;
}

function recorderEnabled(r: Resolver, s: Setting): 'auto' | boolean {
  if (s.value === 'auto' || typeof s.value === 'boolean') return s.value;
  return r.fail(s, `${JSON.stringify(s.value)} must be auto, true or false (auto: on when the kernel has bpf_xdp_load_bytes, Linux 5.18)`);
}

function ringBytes(r: Resolver, s: Setting): number {
  const { recorderRingBytesMin: min, recorderRingBytesMax: max } = LIMITS;
  const v = s.value;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max || (v & (v - 1)) !== 0) {
    r.fail(s, `${JSON.stringify(v)} must be a power of two ${min}..${max} (bytes; e.g. 4194304 = 4 MiB)`);
  }
  return v;
}

function encapSource(r: Resolver, s: Setting, family: 4 | 6): EncapSource | undefined {
  if (s.value === undefined) return undefined;
  const prefix = r.check(s, (v) => parsePrefix(v, '', { allowBare: true }));
  if (prefix.address.family !== family) {
    r.fail(s, `${prefix.text} is IPv${prefix.address.family}; source_v${family} needs an IPv${family} address or prefix`);
  }
  const reason = unusableAddressReason(prefix.address);
  if (reason) r.fail(s, `${prefix.address.text} ${reason}; the encapsulation source must be a routable unicast address`);
  const min = LIMITS.encapPrefixMin[family];
  if (prefix.prefixLength < min) r.fail(s, `/${prefix.prefixLength} is too wide a source pool; use /${min} or longer`);
  return { address: prefix.address.text, family, prefixLength: prefix.prefixLength };
}

function interfaces(r: Resolver, s: Setting): string[] {
  const list = s.value;
  if (!Array.isArray(list) || list.length === 0) {
    r.fail(s, s.from === 'default' ? 'is required: at least one interface (or --interface IFACE)' : 'expected a non-empty list of interface names, e.g. [eth0]');
  }
  const seen = new Set<string>();
  list.forEach((name: unknown, i: number) => {
    const item: Setting = { ...s, path: s.from === 'flag' ? s.path : `${s.path}[${i}]`, segments: [...s.segments, i] };
    if (typeof name !== 'string' || !IFNAME_PATTERN.test(name) || name === '.' || name === '..') {
      r.fail(item, `${JSON.stringify(name)} is not a valid interface name (1..15 characters, no '/', ':' or spaces)`);
    }
    if (seen.has(name)) r.fail(item, `interface ${name} is listed twice`);
    seen.add(name);
  });
  return list as string[];
}

function socketMode(r: Resolver, s: Setting): number {
  const v = s.value;
  let mode: number | undefined;
  if (typeof v === 'string' && /^0?[0-7]{3}$/.test(v)) mode = parseInt(v, 8);
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0o777) mode = v;
  if (mode === undefined) return r.fail(s, `${JSON.stringify(v)} is not a file mode; write it as a quoted octal string, e.g. "0660"`);
  // Whoever can connect can delete every service: the API is for the owner and one group.
  if (mode & 0o007) {
    r.fail(s, `${JSON.stringify(v)} gives other users access to the API; use "0660" with api.socket_group for the users that may manage xlb`);
  }
  return mode;
}

function allowedClients(r: Resolver, s: Setting): string[] {
  if (!Array.isArray(s.value) || s.value.length === 0) {
    r.fail(s, 'expected a non-empty list of certificate subject common names (CN), e.g. [xlb-admin]');
  }
  return (s.value as unknown[]).map((v, i) => {
    if (typeof v !== 'string' || v.length === 0 || v.length > 64) {
      r.fail({ ...s, path: `${s.path}[${i}]`, segments: [...s.segments, i] }, `${JSON.stringify(v)} is not a common name (1..64 characters)`);
    }
    return v;
  });
}

/** The load balancer's own addresses known from the configuration: never a VIP. */
export function reservedFromConfig(c: Pick<XlbdConfig, 'gateway' | 'encap'>): ReservedAddress[] {
  const out: ReservedAddress[] = [{ address: c.gateway.address, what: 'the gateway (gateway)' }];
  for (const src of [c.encap.v4, c.encap.v6]) {
    if (!src) continue;
    const key = `encap.source_v${src.family}`;
    const single = src.prefixLength === (src.family === 4 ? 32 : 128);
    out.push(single
      ? { address: src.address, what: `the encapsulation source (${key})` }
      : { address: `${src.address}/${src.prefixLength}`, what: `the encapsulation source pool ${src.address}/${src.prefixLength} (${key})` });
  }
  return out;
}

export function resolveConfig(input: ResolveInput = {}): XlbdConfig {
  const flags = input.flags ?? {};
  const yaml = input.yaml ? YamlSource.parse(input.yaml.text, input.yaml.file) : undefined;
  const data = yaml?.data ?? {};
  if (!isPlainObject(data)) throw new ConfigError('', 'the file must be a YAML mapping of settings', yaml ? yaml.locate([]) : {});
  const r: Resolver = new Resolver(yaml, data);
  r.checkSchema(SCHEMA);
  const checkFiles = input.checkFiles ?? true;

  const instanceS = r.get(['instance'], { name: '--instance', value: flags.instance }, DEFAULT_INSTANCE);
  if (typeof instanceS.value !== 'string' || !INSTANCE_PATTERN.test(instanceS.value)) {
    r.fail(instanceS, `${JSON.stringify(instanceS.value)} is not a valid instance name (1..32 of a-z 0-9 _ -, starting with a letter or digit)`);
  }
  const instance = instanceS.value;

  const ifaces = interfaces(r, r.get(['interfaces'], { name: '--interface', value: flags.interfaces }, undefined));

  const modeS = r.get(['xdp_mode'], { name: '--xdp-mode', value: flags.xdpMode }, DEFAULTS.xdpMode);
  if (modeS.value !== 'native' && modeS.value !== 'generic') r.fail(modeS, `${JSON.stringify(modeS.value)} must be native or generic`);
  const xdpMode = modeS.value as XdpMode;

  const gwS = r.get(['gateway'], { name: '--gateway', value: flags.gateway }, undefined);
  if (gwS.value === undefined) r.fail(gwS, "is required: the next-hop router's IP address (or --gateway IP)");
  const gw = r.check(gwS, (v) => parseUnicastIp(v, '', 'gateway', { allowLinkLocal: true }));

  const v4 = encapSource(r, r.get(['encap', 'source_v4'], undefined, undefined), 4);
  const v6 = encapSource(r, r.get(['encap', 'source_v6'], undefined, undefined), 6);
  const encap: XlbdConfig['encap'] = {};
  if (v4) encap.v4 = v4;
  if (v6) encap.v6 = v6;

  const mtu = integer(r, r.get(['mtu'], undefined, DEFAULTS.mtu), LIMITS.mtuMin, LIMITS.mtuMax);

  const sizeS = r.get(['maglev', 'table_size'], undefined, DEFAULTS.maglevTableSize);
  if (typeof sizeS.value !== 'number' || !ALLOWED_TABLE_SIZES.includes(sizeS.value)) {
    r.fail(sizeS, `${JSON.stringify(sizeS.value)} is not an allowed Maglev table size; allowed (primes): ${ALLOWED_TABLE_SIZES.join(', ')}`);
  }
  const tableSize = sizeS.value;
  const seed = integer(r, r.get(['maglev', 'seed'], undefined, DEFAULTS.maglevSeed), 0, 0xffffffff, 'a uint32 (0..4294967295)');
  if (seed === 0) {
    r.warnings.push(
      'maglev.seed is 0 (the default): flow placement is predictable, so a client can aim many flows at one backend. ' +
        'Set maglev.seed to a random uint32 (scripts/install.sh writes one into xlb.yaml.example), ' +
        'the same random seed on every load balancer of an ECMP group',
    );
  }

  const maps = {
    services: integer(r, r.get(['maps', 'services'], undefined, DEFAULTS.mapServices), LIMITS.mapServicesMin, LIMITS.mapServicesMax),
    backends: integer(r, r.get(['maps', 'backends'], undefined, DEFAULTS.mapBackends), LIMITS.mapBackendsMin, LIMITS.mapBackendsMax),
    flows: integer(r, r.get(['maps', 'flows'], undefined, DEFAULTS.mapFlows), LIMITS.mapFlowsMin, LIMITS.mapFlowsMax),
  };
  const perServiceS = r.get(['limits', 'max_backends_per_service'], undefined, Math.min(DEFAULTS.maxBackendsPerService, maps.backends - 1));
  const perServiceMax = Math.min(maps.backends - 1, tableSize);
  const maxBackendsPerService = integer(
    r,
    perServiceS,
    1,
    perServiceMax,
    `an integer 1..${perServiceMax} (at most maps.backends - 1 = ${maps.backends - 1} and maglev.table_size = ${tableSize})`,
  );
  const limits: Limits = { maxServices: maps.services - 1, maxBackends: maps.backends - 1, maxBackendsPerService, maglevTableSize: tableSize };

  const icmp = {
    tooBigRate: integer(r, r.get(['icmp', 'too_big_rate'], undefined, DEFAULTS.icmpTooBigRate), LIMITS.icmpTooBigMin, LIMITS.icmpTooBigMax,
      `an integer ${LIMITS.icmpTooBigMin}..${LIMITS.icmpTooBigMax} (replies per second and CPU)`),
    tooBigBurst: integer(r, r.get(['icmp', 'too_big_burst'], undefined, DEFAULTS.icmpTooBigBurst), LIMITS.icmpTooBigMin, LIMITS.icmpTooBigMax,
      `an integer ${LIMITS.icmpTooBigMin}..${LIMITS.icmpTooBigMax} (replies)`),
  };
  const idleS = r.get(['flow_table', 'syn_takeover_idle'], undefined, DEFAULTS.synTakeoverIdleSeconds);
  if (typeof idleS.value !== 'number' || !Number.isFinite(idleS.value) || idleS.value < 0 || idleS.value > LIMITS.synTakeoverIdleSecondsMax ||
    !Number.isInteger(idleS.value * 1000)) {
    r.fail(idleS, `${JSON.stringify(idleS.value)} must be a number of seconds 0..${LIMITS.synTakeoverIdleSecondsMax} (whole milliseconds; 0 = a SYN always takes over)`);
  }
  const flowTable = { synTakeoverIdleSeconds: idleS.value };

  const recorder = {
    enabled: recorderEnabled(r, r.get(['recorder', 'enabled'], undefined, DEFAULTS.recorderEnabled)),
    ringBytes: ringBytes(r, r.get(['recorder', 'ring_bytes'], undefined, DEFAULTS.recorderRingBytes)),
    hostTraffic: boolean(r, r.get(['recorder', 'host_traffic'], undefined, DEFAULTS.recorderHostTraffic)),
    maxRecordingsPerPeer: integer(r, r.get(['recorder', 'max_recordings_per_peer'], undefined, DEFAULTS.recorderMaxRecordingsPerPeer), 1, LIMITS.recorderMaxRecordings),
    maxRulesPerPeer: integer(r, r.get(['recorder', 'max_rules_per_peer'], undefined, DEFAULTS.recorderMaxRulesPerPeer), 1, LIMITS.recorderMaxRules),
  };

  // --- API listener and its security rules
  const listenS = r.get(['api', 'listen'], { name: '--api', value: flags.api }, defaultApiListen(instance));
  const listen: ListenAddress = r.check(listenS, parseListen);
  const mode = socketMode(r, r.get(['api', 'socket_mode'], undefined, DEFAULTS.socketMode));
  const groupS = r.get(['api', 'socket_group'], undefined, undefined);
  const g = groupS.value;
  const validGroup = g === undefined || (typeof g === 'string' && /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/.test(g)) || (Number.isInteger(g) && (g as number) >= 0);
  if (!validGroup) r.fail(groupS, `${JSON.stringify(g)} is not a group name or numeric gid`);
  const socketGroup = groupS.value === undefined ? undefined : String(groupS.value);
  const insecureS = r.get(['api', 'insecure'], undefined, false);
  const insecure = boolean(r, insecureS);
  const tlsPresent = r.fileValue(['api', 'tls']) !== undefined && r.fileValue(['api', 'tls']) !== null;
  let tls: XlbdConfig['api']['tls'];
  if (listen.kind === 'unix') {
    if (tlsPresent || insecure) r.warnings.push(`api.tls / api.insecure are ignored: the API listens on a unix socket (${listen.path})`);
  } else if (insecure) {
    if (tlsPresent) r.fail(insecureS, 'cannot be combined with api.tls; remove one of them');
    if (!listen.loopback) {
      r.fail(insecureS, `plaintext is allowed only on loopback (127.0.0.0/8, ::1, localhost), and the API listens on ${listen.target}; configure api.tls (mTLS) instead`);
    }
    r.warnings.push(`the API listens on ${listen.target} without TLS (api.insecure: true)`);
  } else {
    if (!tlsPresent) {
      r.fail(
        listenS,
        `${listen.target} is a TCP address: configure api.tls (cert, key, client_ca; clients must present certificates), ` +
          'or set api.insecure: true on a loopback address',
      );
    }
    const file = (key: string) => {
      const s = r.get(['api', 'tls', key], undefined, undefined);
      if (s.value === undefined) r.fail({ ...s, from: 'file' }, 'is required (TLS needs cert, key and client_ca)');
      return readableFile(r, s, checkFiles);
    };
    tls = { cert: file('cert'), key: file('key'), clientCa: file('client_ca') };
    const allowedS = r.get(['api', 'tls', 'allowed_clients'], undefined, undefined);
    if (allowedS.value !== undefined) tls.allowedClients = allowedClients(r, allowedS);
  }

  const metricsS = r.get(['metrics', 'listen'], { name: '--metrics', value: flags.metrics }, DEFAULTS.metricsListen);
  const metricsListen = r.check(metricsS, parseTcpListen);
  if (listen.kind === 'tcp' && listen.target === metricsListen.target) r.fail(metricsS, `is the same address as the API (${listen.target})`);
  if (!metricsListen.loopback) {
    r.warnings.push(
      `metrics.listen ${metricsListen.target} is not a loopback address: anyone who can reach it reads the metrics ` +
        '(services, backends, traffic); firewall it, or listen on 127.0.0.1 and scrape through a proxy',
    );
  }
  const metricsCacheMs = integer(r, r.get(['metrics', 'cache_ms'], undefined, DEFAULTS.metricsCacheMs), 0, LIMITS.metricsCacheMsMax);

  const stateDir = absolutePath(r, r.get(['state_dir'], { name: '--state-dir', value: flags.stateDir }, DEFAULT_STATE_DIR));
  const bpffsDir = absolutePath(r, r.get(['bpffs_dir'], undefined, defaultBpffsDir(instance)));
  const health = resolveHealthSettings(r);
  const bgp = resolveBgp(r);
  const detachOnExit = boolean(r, r.get(['detach_on_exit'], { name: '--detach-on-exit', value: flags.detachOnExit }, DEFAULTS.detachOnExit));

  // --- services: checked now, with the limits above, exactly as the daemon will apply them.
  const servicesS = r.get(['services'], undefined, []);
  let services: ServiceInput[] = [];
  try {
    services = servicesFromDocument(servicesS.value, 'services');
    const reserved = new ReservedAddresses(reservedFromConfig({ gateway: { address: gw.text, family: gw.family }, encap }));
    new DesiredState({ limits, reserved }).apply(services, { origin: 'config', field: 'services' });
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    const segments = parsePath(e.field);
    r.fail({ from: 'file', path: e.field, segments }, e.problem, { key: e.problem.startsWith('unknown key') });
  }

  const kubernetes = resolveKubernetes(r, flags, input.env ?? process.env, checkFiles);

  return {
    configFile: yaml?.file,
    instance,
    interfaces: ifaces,
    xdpMode,
    gateway: { address: gw.text, family: gw.family },
    encap,
    mtu,
    maglev: { tableSize, seed },
    maps,
    icmp,
    flowTable,
    limits,
    recorder,
    api: { listen, socketMode: mode, socketGroup, tls, insecure },
    metrics: { listen: metricsListen, cacheMs: metricsCacheMs },
    stateDir,
    stateFile: join(stateDir, instance, STATE_FILE_NAME),
    bpffsDir,
    detachOnExit,
    discardDatapathState: flags.discardDatapathState === true,
    health,
    bgp,
    services,
    kubernetes,
    sources: r.sources,
    warnings: r.warnings,
  };
}
