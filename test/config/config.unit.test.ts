// xlbd configuration: defaults, the YAML file, flags on top (flags > file > defaults), and errors
// that name the YAML path with file:line:column, or the flag.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CommanderError,
  ConfigError,
  DEFAULTS,
  loadConfig,
  parseXlbdArgs,
  resolveConfig,
  type XlbdFlags,
} from '../../lb/config/index.js';
import { LIMITS } from '../../lb/config/defaults.js';
import { DesiredState } from '../../lb/model/index.js';
import { repoRoot } from '../lab/paths.js';

const tmp = mkdtempSync(join(tmpdir(), `xlb-config-test-${process.pid}-`));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const MIN = 'interfaces: [eth0]\ngateway: 192.0.2.1\n';

function resolve(text: string, flags: XlbdFlags = {}, checkFiles = true) {
  return resolveConfig({ yaml: { text, file: 'xlb.yaml' }, flags, checkFiles });
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('defaults', () => {
  it('fills everything but interfaces and gateway', () => {
    const c = resolve(MIN);
    expect(c).toMatchObject({
      configFile: 'xlb.yaml',
      instance: 'default',
      interfaces: ['eth0'],
      xdpMode: 'native',
      gateway: { address: '192.0.2.1', family: 4 },
      encap: {},
      mtu: 1500,
      maglev: { tableSize: 16381, seed: 0 },
      maps: { services: 8192, backends: 65536, flows: 262144 },
      icmp: { tooBigRate: 200, tooBigBurst: 50 },
      flowTable: { synTakeoverIdleSeconds: 60 },
      limits: { maxServices: 8191, maxBackends: 65535, maxBackendsPerService: 256, maglevTableSize: 16381 },
      recorder: { enabled: 'auto', ringBytes: 4 << 20, hostTraffic: false, maxRecordingsPerPeer: 16, maxRulesPerPeer: 64 },
      api: { listen: { kind: 'unix', path: '/run/xlb/xlb.sock', target: 'unix:///run/xlb/xlb.sock' }, socketMode: 0o660, insecure: false },
      metrics: { listen: { kind: 'tcp', host: '127.0.0.1', port: 9641, loopback: true, target: '127.0.0.1:9641' } },
      stateDir: '/var/lib/xlb',
      stateFile: '/var/lib/xlb/default/desired-state.json',
      bpffsDir: '/sys/fs/bpf/xlb/default',
      detachOnExit: false,
      services: [],
    });
    expect(c.api.tls).toBeUndefined();
    expect(c.sources).toMatchObject({ interfaces: 'file', gateway: 'file', mtu: 'default', api: 'default' });
  });

  it('derives per-instance paths from the instance name', () => {
    const c = resolve(`${MIN}instance: lab1\n`);
    expect(c.api.listen.target).toBe('unix:///run/xlb/lab1.sock');
    expect(c.bpffsDir).toBe('/sys/fs/bpf/xlb/lab1');
    expect(c.stateFile).toBe('/var/lib/xlb/lab1/desired-state.json');
  });

  it('an empty file is allowed (flags carry the required settings)', () => {
    const c = resolve('', { interfaces: ['veth0'], gateway: 'fe80::1' });
    expect(c.gateway).toEqual({ address: 'fe80::1', family: 6 });
  });
});

describe('precedence: flags > file > defaults', () => {
  const file = [
    'instance: fromfile',
    'interfaces: [eth0, eth1]',
    'xdp_mode: generic',
    'gateway: 192.0.2.1',
    'api: { listen: "unix:///run/xlb/file.sock" }',
    'metrics: { listen: "127.0.0.1:9700" }',
    'state_dir: /srv/xlb',
    'detach_on_exit: false',
    'mtu: 9000',
  ].join('\n');

  it('file over defaults', () => {
    const c = resolve(file);
    expect(c).toMatchObject({
      instance: 'fromfile',
      interfaces: ['eth0', 'eth1'],
      xdpMode: 'generic',
      mtu: 9000,
      stateDir: '/srv/xlb',
      stateFile: '/srv/xlb/fromfile/desired-state.json',
      detachOnExit: false,
    });
    expect(c.api.listen.target).toBe('unix:///run/xlb/file.sock');
    expect(c.metrics.listen.port).toBe(9700);
  });

  it('flags over file, each one', () => {
    const flags = parseXlbdArgs([
      '--instance', 'fromflag',
      '--interface', 'veth1',
      '-i', 'veth2,veth3',
      '--xdp-mode', 'native',
      '--gateway', '2001:db8::1',
      '--api', 'unix:///tmp/x.sock',
      '--metrics', '[::1]:9800',
      '--state-dir', '/tmp/state/',
      '--detach-on-exit',
    ]);
    const c = resolve(file, flags);
    expect(c).toMatchObject({
      instance: 'fromflag',
      interfaces: ['veth1', 'veth2', 'veth3'],
      xdpMode: 'native',
      gateway: { address: '2001:db8::1', family: 6 },
      stateDir: '/tmp/state',
      stateFile: '/tmp/state/fromflag/desired-state.json',
      bpffsDir: '/sys/fs/bpf/xlb/fromflag', // derived from the flag's instance
      detachOnExit: true,
      mtu: 9000, // no flag: the file still wins over the default
    });
    expect(c.api.listen.target).toBe('unix:///tmp/x.sock');
    expect(c.metrics.listen.target).toBe('[::1]:9800');
    expect(c.sources).toMatchObject({ instance: 'flag', interfaces: 'flag', api: 'flag', metrics: 'flag', mtu: 'file' });
  });

  it('parseXlbdArgs rejects unknown flags and bad choices', () => {
    expect(() => parseXlbdArgs(['--frobnicate'])).toThrow(CommanderError);
    expect(() => parseXlbdArgs(['--xdp-mode', 'turbo'])).toThrow(/Allowed choices are native, generic/);
    expect(parseXlbdArgs([])).toEqual({});
  });
});

describe('services in the config', () => {
  it('are validated with the configured limits and kept as the config layer', () => {
    const c = resolve(`${MIN}services:\n  - { vip: 10.0.0.10, port: 80, protocol: tcp, backends: [10.1.0.1, { address: 10.1.0.2, weight: 3 }] }\n`);
    expect(c.services).toHaveLength(1);
    const s = new DesiredState({ limits: c.limits });
    s.apply(c.services, { origin: 'config' });
    expect(s.get('10.0.0.10:80/tcp')).toMatchObject({ origin: 'config', backends: [{ weight: 1 }, { weight: 3 }] });
  });

  it('the example config in systemd/ is valid and means what its comments say', () => {
    const text = readFileSync(join(repoRoot, 'systemd/xlb.yaml.example'), 'utf8');
    const c = resolveConfig({ yaml: { text, file: 'xlb.yaml.example' } });
    expect(c.encap.v4).toEqual({ address: '192.0.2.10', family: 4, prefixLength: 32 });
    expect(c.recorder).toEqual({ enabled: 'auto', ringBytes: 4 << 20, hostTraffic: false, maxRecordingsPerPeer: 16, maxRulesPerPeer: 64 });
    expect(c.icmp).toEqual({ tooBigRate: 200, tooBigBurst: 50 });
    expect(c.flowTable).toEqual({ synTakeoverIdleSeconds: 60 });
    const s = new DesiredState({ limits: c.limits });
    s.apply(c.services, { origin: 'config' });
    // Listed by VIP, then protocol, then port.
    expect(s.list().map((x) => x.id)).toEqual(['198.51.100.10:80/tcp', '198.51.100.10:*/udp', '[2001:db8::10]:443/tcp']);
    expect(s.get('[2001:db8::10]:443/tcp')).toMatchObject({
      flags: { sourceHash: true },
      backends: [{ address: '2001:db8:1::11', state: 'active' }, { address: '2001:db8:1::12', state: 'draining' }],
    });
    expect(s.get('198.51.100.10:*/udp').backends.map((b) => b.family)).toEqual([4, 6]);
  });
});

describe('ICMP replies and the flow table', () => {
  it('icmp.too_big_rate / too_big_burst and flow_table.syn_takeover_idle from the file', () => {
    const c = resolve(`${MIN}icmp: { too_big_rate: 1000, too_big_burst: 10 }\nflow_table: { syn_takeover_idle: 2.5 }\n`);
    expect(c.icmp).toEqual({ tooBigRate: 1000, tooBigBurst: 10 });
    expect(c.flowTable).toEqual({ synTakeoverIdleSeconds: 2.5 });
    expect(resolve(`${MIN}flow_table: { syn_takeover_idle: 0 }\n`).flowTable.synTakeoverIdleSeconds).toBe(0);
  });

  it("the config's defaults and bounds are the datapath's", async () => {
    const dp = await import('../../lb/datapath/index.js');
    expect(DEFAULTS.icmpTooBigRate).toBe(dp.DEFAULT_ICMP_TOO_BIG_RATE);
    expect(DEFAULTS.icmpTooBigBurst).toBe(dp.DEFAULT_ICMP_TOO_BIG_BURST);
    expect(LIMITS.icmpTooBigMax).toBe(dp.MAX_ICMP_TOO_BIG);
    expect(DEFAULTS.synTakeoverIdleSeconds * 1000).toBe(dp.DEFAULT_SYN_TAKEOVER_IDLE_MS);
    expect(LIMITS.synTakeoverIdleSecondsMax * 1000).toBe(dp.MAX_SYN_TAKEOVER_IDLE_MS);
  });
});

describe('recorder', () => {
  it('enabled auto | true | false and ring_bytes from the file', () => {
    expect(resolve(`${MIN}recorder: { enabled: false, ring_bytes: 65536 }\n`).recorder).toMatchObject({ enabled: false, ringBytes: 65536 });
    expect(resolve(`${MIN}recorder: { enabled: true }\n`).recorder).toMatchObject({ enabled: true, ringBytes: 4 << 20 });
    expect(resolve(`${MIN}recorder:\n  enabled: auto\n  ring_bytes: 4096\n`).recorder).toMatchObject({ enabled: 'auto', ringBytes: 4096 });
    expect(resolve(`${MIN}recorder: { ring_bytes: 1073741824 }\n`).recorder.ringBytes).toBe(1 << 30);
    expect(resolve(`${MIN}recorder: {}\n`).sources.recorder).toBe('default');
    expect(resolve(`${MIN}recorder: { enabled: false }\n`).sources.recorder).toBe('file');
  });

  it('host_traffic and the per-client shares', () => {
    expect(resolve(`${MIN}recorder: { host_traffic: true, max_recordings_per_peer: 64, max_rules_per_peer: 1 }\n`).recorder).toMatchObject({
      hostTraffic: true,
      maxRecordingsPerPeer: 64,
      maxRulesPerPeer: 1,
    });
    expect(resolve(MIN).recorder).toMatchObject({ hostTraffic: false, maxRecordingsPerPeer: 16, maxRulesPerPeer: 64 });
  });

  it("the config's ring bounds and default are the datapath's", async () => {
    // Imported here, not by lb/config: the datapath module loads the native addon, the config
    // (which the CLI also uses) must not.
    const dp = await import('../../lb/datapath/index.js');
    expect(LIMITS.recorderRingBytesMin).toBe(dp.MIN_RECORDER_RING_BYTES);
    expect(LIMITS.recorderRingBytesMax).toBe(dp.MAX_RECORDER_RING_BYTES);
    expect(DEFAULTS.recorderRingBytes).toBe(dp.DEFAULT_RECORDER_RING_BYTES);
  });
});

describe('TLS and listeners', () => {
  const cert = join(tmp, 'server.crt');
  const key = join(tmp, 'server.key');
  const ca = join(tmp, 'ca.crt');
  for (const f of [cert, key, ca]) writeFileSync(f, 'placeholder\n');

  it('TCP with mTLS', () => {
    const c = resolve(`${MIN}api:\n  listen: 0.0.0.0:50051\n  tls: { cert: ${cert}, key: ${key}, client_ca: ${ca} }\n`);
    expect(c.api.listen).toMatchObject({ kind: 'tcp', host: '0.0.0.0', port: 50051, loopback: false });
    expect(c.api.tls).toEqual({ cert, key, clientCa: ca });
  });

  it('plaintext TCP on loopback with the explicit flag', () => {
    for (const listen of ['127.0.0.1:50051', '[::1]:50051', 'localhost:50051']) {
      const c = resolve(`${MIN}api: { listen: "${listen}", insecure: true }\n`);
      expect(c.api).toMatchObject({ insecure: true, listen: { loopback: true } });
      expect(c.warnings.join()).toContain('without TLS');
    }
  });

  it('metrics on an address other hosts can reach: a warning', () => {
    expect(resolve(`${MIN}maglev: { seed: 7 }\n`).warnings).toEqual([]);
    for (const listen of ['0.0.0.0:9641', '[::]:9641', '192.0.2.7:9641']) {
      const c = resolve(`${MIN}maglev: { seed: 7 }\nmetrics: { listen: "${listen}" }\n`);
      expect(c.warnings.join('\n')).toMatch(/metrics\.listen .* is not a loopback address: anyone who can reach it reads the metrics \(services, backends, traffic\)/);
    }
  });

  it('the default Maglev seed 0: a warning that says how to choose one', () => {
    expect(resolve(MIN).warnings.join('\n')).toMatch(/maglev\.seed is 0 \(the default\).*predictable.*the same random seed on every load balancer of an ECMP group/);
    expect(resolve(`${MIN}maglev: { seed: 0 }\n`).warnings.join('\n')).toMatch(/maglev\.seed is 0/);
    expect(resolve(`${MIN}maglev: { seed: 3735928559 }\n`).warnings).toEqual([]);
  });

  it('api.tls.allowed_clients: the certificate subjects (CN) that may use a TLS listener', () => {
    const c = resolve(`${MIN}api: { listen: "[::]:50051", tls: { cert: /etc/passwd, key: /etc/passwd, client_ca: /etc/passwd, allowed_clients: [xlb-admin, deploy-bot] } }\n`);
    expect(c.api.tls).toMatchObject({ allowedClients: ['xlb-admin', 'deploy-bot'] });
    expect(resolve(`${MIN}api: { listen: "[::]:50051", tls: { cert: /etc/passwd, key: /etc/passwd, client_ca: /etc/passwd } }\n`).api.tls?.allowedClients).toBeUndefined();
  });

  it('TLS settings with a unix socket are ignored with a warning', () => {
    const c = resolve(`${MIN}api:\n  tls: { cert: ${cert}, key: ${key}, client_ca: ${ca} }\n`);
    expect(c.api.tls).toBeUndefined();
    expect(c.warnings.join()).toContain('ignored');
  });
});

// Each bad config: the YAML text (appended to MIN unless it sets those keys itself), the expected
// path, the location prefix, and part of the message.
const BAD: [string, string, string, string, RegExp][] = [
  ['unknown top-level key', `${MIN}gatway: 192.0.2.2\n`, 'gatway', 'xlb.yaml:3:1: ', /unknown setting; expected one of/],
  ['unknown nested key', `${MIN}maglev:\n  tablesize: 251\n`, 'maglev.tablesize', 'xlb.yaml:4:3: ', /unknown setting/],
  ['missing interfaces', 'gateway: 192.0.2.1\n', 'interfaces (default)', '', /is required: at least one interface/],
  ['interfaces not a list', 'interfaces: eth0\ngateway: 192.0.2.1\n', 'interfaces', 'xlb.yaml:1:13: ', /expected a non-empty list/],
  ['interface name too long', 'interfaces: [eth0, abcdefghijklmnop]\ngateway: 192.0.2.1\n', 'interfaces[1]', 'xlb.yaml:1:20: ', /not a valid interface name/],
  ['duplicate interface', 'interfaces: [eth0, eth0]\ngateway: 192.0.2.1\n', 'interfaces[1]', 'xlb.yaml:1:20: ', /listed twice/],
  ['missing gateway', 'interfaces: [eth0]\n', 'gateway (default)', '', /is required: the next-hop router's IP/],
  ['malformed gateway', 'interfaces: [eth0]\ngateway: 192.0.2\n', 'gateway', 'xlb.yaml:2:10: ', /not a valid IPv4 or IPv6 address/],
  ['multicast gateway', 'interfaces: [eth0]\ngateway: 224.0.0.1\n', 'gateway', 'xlb.yaml:2:10: ', /multicast/],
  ['bad xdp mode', `${MIN}xdp_mode: offload\n`, 'xdp_mode', 'xlb.yaml:3:11: ', /must be native or generic/],
  ['mtu too small', `${MIN}mtu: 576\n`, 'mtu', 'xlb.yaml:3:6: ', /must be an integer 1320..9216/],
  ['mtu not a number', `${MIN}mtu: "1500"\n`, 'mtu', 'xlb.yaml:3:6: ', /must be an integer/],
  ['table size not prime/allowed', `${MIN}maglev:\n  table_size: 65536\n`, 'maglev.table_size', 'xlb.yaml:4:15: ', /not an allowed Maglev table size/],
  ['seed too large', `${MIN}maglev:\n  seed: 4294967296\n`, 'maglev.seed', 'xlb.yaml:4:9: ', /uint32/],
  ['map size 1', `${MIN}maps: { services: 1 }\n`, 'maps.services', 'xlb.yaml:3:19: ', /2..65536/],
  ['flows too small', `${MIN}maps: { flows: 100 }\n`, 'maps.flows', 'xlb.yaml:3:16: ', /1024/],
  ['ICMP rate 0', `${MIN}icmp: { too_big_rate: 0 }\n`, 'icmp.too_big_rate', 'xlb.yaml:3:23: ', /1..1000000 \(replies per second and CPU\)/],
  ['ICMP burst not a number', `${MIN}icmp: { too_big_burst: many }\n`, 'icmp.too_big_burst', 'xlb.yaml:3:24: ', /must be an integer 1..1000000/],
  ['SYN takeover idle negative', `${MIN}flow_table: { syn_takeover_idle: -1 }\n`, 'flow_table.syn_takeover_idle', 'xlb.yaml:3:34: ', /0..86400/],
  ['SYN takeover idle below a millisecond', `${MIN}flow_table: { syn_takeover_idle: 0.0001 }\n`, 'flow_table.syn_takeover_idle', 'xlb.yaml:3:34: ', /whole milliseconds/],
  ['per-service limit above the table size', `${MIN}maglev: { table_size: 251 }\nlimits: { max_backends_per_service: 300 }\n`, 'limits.max_backends_per_service', 'xlb.yaml:4:37: ', /at most .* maglev.table_size = 251/],
  ['encap source of the wrong family', `${MIN}encap: { source_v4: "2001:db8::1" }\n`, 'encap.source_v4', 'xlb.yaml:3:21: ', /is IPv6; source_v4 needs an IPv4/],
  ['encap prefix with host bits', `${MIN}encap: { source_v4: 192.0.2.5/24 }\n`, 'encap.source_v4', 'xlb.yaml:3:21: ', /host bits set; the network is 192.0.2.0\/24/],
  ['encap prefix too wide', `${MIN}encap: { source_v6: "2000::/8" }\n`, 'encap.source_v6', 'xlb.yaml:3:21: ', /too wide/],
  ['encap loopback', `${MIN}encap: { source_v4: 127.0.0.1 }\n`, 'encap.source_v4', 'xlb.yaml:3:21: ', /loopback/],
  ['api TCP without TLS', `${MIN}api: { listen: "0.0.0.0:50051" }\n`, 'api.listen', 'xlb.yaml:3:16: ', /configure api.tls/],
  ['insecure on a non-loopback address', `${MIN}api: { listen: "192.0.2.7:50051", insecure: true }\n`, 'api.insecure', 'xlb.yaml:3:45: ', /plaintext is allowed only on loopback/],
  ['insecure and TLS together', `${MIN}api: { listen: "127.0.0.1:1", insecure: true, tls: { cert: /a } }\n`, 'api.insecure', 'xlb.yaml:3:41: ', /cannot be combined with api.tls/],
  ['allowed_clients not a list', `${MIN}api: { listen: "[::]:50051", tls: { cert: /etc/passwd, key: /etc/passwd, client_ca: /etc/passwd, allowed_clients: ops } }\n`, 'api.tls.allowed_clients', 'xlb.yaml:3:115: ', /expected a non-empty list of certificate subject common names/],
  ['allowed_clients with an empty name', `${MIN}api: { listen: "[::]:50051", tls: { cert: /etc/passwd, key: /etc/passwd, client_ca: /etc/passwd, allowed_clients: [ops, ""] } }\n`, 'api.tls.allowed_clients[1]', 'xlb.yaml:3:121: ', /"" is not a common name \(1\.\.64 characters\)/],
  ['TLS missing client_ca', `${MIN}api: { listen: "[::]:50051", tls: { cert: /etc/passwd, key: /etc/passwd } }\n`, 'api.tls.client_ca', 'xlb.yaml:3:35: ', /is required/],
  ['TLS file missing', `${MIN}api: { listen: "[::]:50051", tls: { cert: /nonexistent/x.crt, key: /etc/passwd, client_ca: /etc/passwd } }\n`, 'api.tls.cert', 'xlb.yaml:3:43: ', /cannot be read \(ENOENT\)/],
  ['relative unix socket', `${MIN}api: { listen: "unix:run/xlb.sock" }\n`, 'api.listen', 'xlb.yaml:3:16: ', /must be absolute/],
  ['listen host name', `${MIN}metrics: { listen: "example.com:9641" }\n`, 'metrics.listen', 'xlb.yaml:3:20: ', /host names other than localhost/],
  ['metrics port 0', `${MIN}metrics: { listen: "127.0.0.1:0" }\n`, 'metrics.listen', 'xlb.yaml:3:20: ', /port 0 must be 1..65535/],
  ['metrics port 65536', `${MIN}metrics: { listen: "127.0.0.1:65536" }\n`, 'metrics.listen', 'xlb.yaml:3:20: ', /port 65536 must be 1..65535/],
  ['unquoted octal socket mode', `${MIN}api: { socket_mode: 0660 }\n`, 'api.socket_mode', 'xlb.yaml:3:21: ', /quoted octal string/],
  ['socket mode open to everyone', `${MIN}api: { socket_mode: "0666" }\n`, 'api.socket_mode', 'xlb.yaml:3:21: ', /"0666" gives other users access to the API; use "0660" with api.socket_group/],
  ['socket mode world-executable', `${MIN}api: { socket_mode: "0661" }\n`, 'api.socket_mode', 'xlb.yaml:3:21: ', /gives other users access/],
  ['socket mode special bits', `${MIN}api: { socket_mode: "4660" }\n`, 'api.socket_mode', 'xlb.yaml:3:21: ', /quoted octal string/],
  ['VIP equal to the gateway', `${MIN}services:\n  - { vip: 192.0.2.1, port: 80, protocol: tcp }\n`, 'services[0].vip', 'xlb.yaml:4:12: ', /192\.0\.2\.1 is the gateway \(gateway\); a VIP there would take the load balancer's own traffic/],
  ['VIP equal to the encap source', `${MIN}encap: { source_v4: 192.0.2.10 }\nservices:\n  - { vip: 192.0.2.10, port: 22, protocol: tcp }\n`, 'services[0].vip', 'xlb.yaml:5:12: ', /192\.0\.2\.10 is the encapsulation source \(encap\.source_v4\)/],
  ['VIP inside the encap source pool', `${MIN}encap: { source_v4: 192.0.2.64/26 }\nservices:\n  - { vip: 192.0.2.70, port: 22, protocol: tcp }\n`, 'services[0].vip', 'xlb.yaml:5:12: ', /192\.0\.2\.70 is in the encapsulation source pool 192\.0\.2\.64\/26/],
  ['VIP in 240.0.0.0/4', `${MIN}services:\n  - { vip: 240.0.0.10, port: 80, protocol: tcp }\n`, 'services[0].vip', 'xlb.yaml:4:12: ', /reserved \(240\.0\.0\.0\/4\)/],
  ['encap source in 240.0.0.0/4', `${MIN}encap: { source_v4: 250.0.0.1 }\n`, 'encap.source_v4', 'xlb.yaml:3:21: ', /reserved/],
  ['relative state dir', `${MIN}state_dir: var/lib/xlb\n`, 'state_dir', 'xlb.yaml:3:12: ', /must be an absolute path/],
  ['bad instance name', `${MIN}instance: Lab/1\n`, 'instance', 'xlb.yaml:3:11: ', /not a valid instance name/],
  ['recorder.enabled not auto/true/false', `${MIN}recorder: { enabled: "yes" }\n`, 'recorder.enabled', 'xlb.yaml:3:22: ', /"yes" must be auto, true or false/],
  ['recorder.ring_bytes not a power of two', `${MIN}recorder: { ring_bytes: 5000 }\n`, 'recorder.ring_bytes', 'xlb.yaml:3:25: ', /5000 must be a power of two 4096..1073741824/],
  ['recorder.ring_bytes below a page', `${MIN}recorder:\n  ring_bytes: 2048\n`, 'recorder.ring_bytes', 'xlb.yaml:4:15: ', /must be a power of two 4096/],
  ['recorder.ring_bytes as a string', `${MIN}recorder: { ring_bytes: "4M" }\n`, 'recorder.ring_bytes', 'xlb.yaml:3:25: ', /"4M" must be a power of two/],
  ['unknown recorder key', `${MIN}recorder: { enable: false }\n`, 'recorder.enable', 'xlb.yaml:3:13: ', /unknown setting; expected one of: enabled, ring_bytes, host_traffic, max_recordings_per_peer, max_rules_per_peer/],
  ['recorder.host_traffic not a boolean', `${MIN}recorder: { host_traffic: "yes" }\n`, 'recorder.host_traffic', 'xlb.yaml:3:27: ', /"yes" must be true or false/],
  ['recorder.max_recordings_per_peer above the slots', `${MIN}recorder: { max_recordings_per_peer: 65 }\n`, 'recorder.max_recordings_per_peer', 'xlb.yaml:3:38: ', /65 must be an integer 1\.\.64/],
  ['recorder.max_rules_per_peer 0', `${MIN}recorder: { max_rules_per_peer: 0 }\n`, 'recorder.max_rules_per_peer', 'xlb.yaml:3:33: ', /0 must be an integer 1\.\.128/],
  ['detach_on_exit not boolean', `${MIN}detach_on_exit: "yes"\n`, 'detach_on_exit', 'xlb.yaml:3:17: ', /must be true or false/],
  ['service with an unknown key', `${MIN}services:\n  - { vip: 10.0.0.10, port: 80, protocol: tcp, wieght: 1 }\n`, 'services[0].wieght', 'xlb.yaml:4:48: ', /unknown key/],
  ['service backend weight out of range', `${MIN}services:\n  - vip: 10.0.0.10\n    port: 80\n    protocol: tcp\n    backends:\n      - { address: 10.1.0.1, weight: 70000 }\n`, 'services[0].backends[0].weight', 'xlb.yaml:8:38: ', /70000 is out of range/],
  ['duplicate service', `${MIN}services:\n  - { id: "10.0.0.10:80/tcp" }\n  - { vip: 10.0.0.10, port: 80, protocol: TCP }\n`, 'services[1]', 'xlb.yaml:5:5: ', /listed twice \(also services\[0\]\)/],
  ['IPv4 backend on an IPv6 service', `${MIN}services:\n  - { id: "[2001:db8::10]:443/tcp", backends: [10.1.0.1] }\n`, 'services[0].backends[0].address', 'xlb.yaml:4:48: ', /IPv6 service needs IPv6 backends/],
  ['service port missing', `${MIN}services:\n  - { vip: 10.0.0.10, protocol: tcp }\n`, 'services[0].port', 'xlb.yaml:4:5: ', /is required/],
  ['too many services for maps.services', `${MIN}maps: { services: 2 }\nservices:\n  - { id: "10.0.0.10:80/tcp" }\n  - { id: "10.0.0.10:81/tcp" }\n`, 'services', 'xlb.yaml:5:3: ', /would exceed the limit of 1/],
  ['YAML syntax error', `${MIN}maglev: [\n`, '', 'xlb.yaml:', /invalid YAML/],
  ['duplicate YAML key', `${MIN}mtu: 1500\nmtu: 9000\n`, '', 'xlb.yaml:4:1: ', /invalid YAML: Map keys must be unique/],
  ['top level not a mapping', '- eth0\n', '', 'xlb.yaml:1:1: ', /must be a YAML mapping/],
];

describe('invalid configurations', () => {
  it('has at least 30 distinct cases', () => {
    expect(new Set(BAD.map((b) => b[0])).size).toBe(BAD.length);
    expect(BAD.length).toBeGreaterThanOrEqual(30);
  });

  it.each(BAD)('%s', (_name, text, path, location, message) => {
    const e = configError(() => resolve(text));
    expect(e.path).toBe(path);
    expect(e.message.startsWith(location), e.message).toBe(true);
    if (path) expect(e.message).toContain(`${location.endsWith(': ') ? location : ''}${path}: `);
    expect(e.message).toMatch(message);
  });

  it('errors in flags name the flag', () => {
    const cases: [XlbdFlags, string, RegExp][] = [
      [{ gateway: '300.1.1.1' }, '--gateway', /not a valid/],
      [{ xdpMode: 'turbo' }, '--xdp-mode', /native or generic/],
      [{ interfaces: ['bad/name'] }, '--interface', /not a valid interface name/],
      [{ api: '0.0.0.0:50051' }, '--api', /configure api.tls/],
      [{ metrics: 'localhost' }, '--metrics', /not HOST:PORT/],
      [{ stateDir: 'relative' }, '--state-dir', /absolute/],
      [{ instance: '-x' }, '--instance', /not a valid instance name/],
    ];
    for (const [flags, path, message] of cases) {
      const e = configError(() => resolve(MIN, flags));
      expect(e.path).toBe(path);
      expect(e.message).toMatch(new RegExp(`^${path}: `));
      expect(e.message).toMatch(message);
    }
  });
});

describe('loadConfig', () => {
  it('reads --config, and reports an explicit file that is missing', async () => {
    const f = join(tmp, 'xlb.yaml');
    writeFileSync(f, MIN);
    expect((await loadConfig({ config: f })).configFile).toBe(f);
    await expect(loadConfig({ config: join(tmp, 'nope.yaml') })).rejects.toThrow(/^--config: cannot read .*nope\.yaml \(ENOENT\)/);
  });

  it('a missing default file means defaults + flags', async () => {
    const c = await loadConfig({ interfaces: ['eth9'], gateway: '192.0.2.1' }, { defaultPath: join(tmp, 'absent.yaml') });
    expect(c.configFile).toBeUndefined();
    expect(c.interfaces).toEqual(['eth9']);
  });

  it('errors carry the real file name and line', async () => {
    const f = join(tmp, 'bad.yaml');
    writeFileSync(f, `${MIN}\n\nmtu: 99999\n`);
    await expect(loadConfig({ config: f })).rejects.toThrow(new RegExp(`^${f.replace(/[.]/g, '\\.')}:5:6: mtu: 99999 must be`));
  });
});

describe('kubernetes section', () => {
  const kubeconfig = join(tmp, 'kubeconfig');
  writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\n');
  const K = `${MIN}kubernetes:\n  kubeconfig: ${kubeconfig}\n  address_pools:\n    - { name: web, addresses: [198.51.100.0/28, "2001:db8:100::/120"] }\n`;
  const env = { NODE_NAME: 'node-7' };
  const k = (text: string, flags: XlbdFlags = {}) => resolveConfig({ yaml: { text, file: 'xlb.yaml' }, flags, env }).kubernetes;

  it('is off without the section or a flag, and fills its defaults when on', () => {
    expect(resolve(MIN).kubernetes).toBeUndefined();
    expect(k(K)).toEqual({
      access: { kind: 'kubeconfig', path: kubeconfig, context: undefined },
      loadBalancerClass: 'xlb.dev/xlb',
      defaultClass: false,
      addressPools: [
        {
          name: 'web',
          prefixes: [
            { address: '198.51.100.0', family: 4, prefixLength: 28, text: '198.51.100.0/28' },
            { address: '2001:db8:100::', family: 6, prefixLength: 120, text: '2001:db8:100::/120' },
          ],
        },
      ],
      namespaces: [],
      nodeName: 'node-7',
      leaderElection: { namespace: 'xlb-system', leaseName: 'xlbd', leaseDurationSeconds: 15, renewDeadlineMs: 10_000, retryPeriodMs: 2000 },
      watchTimeoutSeconds: 300,
    });
  });

  it('flags turn it on and override the file', () => {
    const c = k(MIN, { inCluster: true, addressPool: ['10.100.0.0/24'], loadBalancerClass: 'example.com/lb', watchNamespaces: ['a', 'b'], nodeName: 'lb-1' });
    expect(c).toMatchObject({
      access: { kind: 'in-cluster' },
      loadBalancerClass: 'example.com/lb',
      addressPools: [{ name: 'default', prefixes: [{ text: '10.100.0.0/24' }] }],
      namespaces: ['a', 'b'],
      nodeName: 'lb-1',
    });
    expect(k(`${K}  leader_election: { lease_duration_seconds: 3, renew_deadline_seconds: 2, retry_period_seconds: 0.25 }\n`)?.leaderElection).toEqual({
      namespace: 'xlb-system', leaseName: 'xlbd', leaseDurationSeconds: 3, renewDeadlineMs: 2000, retryPeriodMs: 250,
    });
  });

  it('bad settings name their path', () => {
    const cases: Array<[string, XlbdFlags, string, RegExp]> = [
      [`${MIN}kubernetes: { address_pools: [{ name: a, addresses: [10.100.0.0/24] }] }\n`, {}, 'kubernetes.kubeconfig', /is required/],
      [`${K}  in_cluster: true\n`, {}, 'kubernetes.kubeconfig', /cannot be combined with in_cluster/],
      [`${K}  load_balancer_class: xlb\n`, {}, 'kubernetes.load_balancer_class', /domain-prefixed name/],
      [`${K}  namespaces: [Shop]\n`, {}, 'kubernetes.namespaces[0]', /not a valid namespace/],
      [`${K}  leader_election: { lease_duration_seconds: 5, renew_deadline_seconds: 5 }\n`, {}, 'kubernetes.leader_election.renew_deadline_seconds', /shorter than lease_duration_seconds/],
      [`${K}  leader_election: { leese_name: x }\n`, {}, 'kubernetes.leader_election.leese_name', /unknown setting/],
      [`${MIN}kubernetes:\n  kubeconfig: ${kubeconfig}\n  address_pools: []\n`, {}, 'kubernetes.address_pools', /at least one pool/],
      [`${MIN}kubernetes:\n  kubeconfig: ${kubeconfig}\n  address_pools: [{ name: a, addresses: [10.100.0.1/24] }]\n`, {}, 'kubernetes.address_pools[0].addresses[0]', /host bits/],
      [`${MIN}kubernetes:\n  kubeconfig: ${kubeconfig}\n  address_pools: [{ name: a, addresses: [127.0.0.0/28] }]\n`, {}, 'kubernetes.address_pools[0].addresses[0]', /loopback/],
      [
        `${MIN}kubernetes:\n  kubeconfig: ${kubeconfig}\n  address_pools: [{ name: a, addresses: [10.100.0.0/24] }, { name: b, addresses: [10.100.0.128/25] }]\n`,
        {}, 'kubernetes.address_pools[1].addresses[0]', /overlaps 10\.100\.0\.0\/24/,
      ],
      [`${MIN}kubernetes:\n  kubeconfig: ${kubeconfig}\n  address_pools: [{ name: a, adresses: [10.100.0.0/24] }]\n`, {}, 'kubernetes.address_pools[0].adresses', /unknown setting/],
      [MIN, { inCluster: true, addressPool: ['16.0.0.0/4'] }, '--address-pool', /too wide/],
    ];
    for (const [text, flags, path, message] of cases) {
      const e = configError(() => k(text, flags));
      expect(e.path, text).toBe(path);
      expect(e.message, text).toMatch(message);
    }
  });

  it('xlbd takes the flags', () => {
    expect(parseXlbdArgs(['--kubeconfig', '/k', '--address-pool', '10.100.0.0/28', '--address-pool', 'fd00:100::/120', '--watch-namespace', 'shop', '--in-cluster'])).toEqual({
      kubeconfig: '/k',
      addressPool: ['10.100.0.0/28', 'fd00:100::/120'],
      watchNamespaces: ['shop'],
      inCluster: true,
    });
  });
});
