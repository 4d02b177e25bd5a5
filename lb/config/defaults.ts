// Defaults, in one place so docs/api.md, the example config and the code cannot drift apart.

export const DEFAULT_CONFIG_PATH = '/etc/xlb/xlb.yaml';
export const DEFAULT_INSTANCE = 'default';
export const DEFAULT_STATE_DIR = '/var/lib/xlb';
export const BPFFS_ROOT = '/sys/fs/bpf/xlb';
export const RUN_DIR = '/run/xlb';
export const STATE_FILE_NAME = 'desired-state.json';

export const DEFAULTS = Object.freeze({
  xdpMode: 'native' as const,
  mtu: 1500,
  // 16381 slots (68 KiB of kernel memory per service): shares within 1 % of the weights up to 163 active
  // backends; a service with more picks a bigger size (table_size).
  maglevTableSize: 16381,
  maglevSeed: 0,
  // services/backends are id spaces (ids 1..n-1); flows is the flow table (preallocated: 64 bytes
  // per entry, rounded up to a power of two of 4-entry buckets, so 262144 = 16 MiB).
  mapServices: 8192,
  mapBackends: 65536,
  mapFlows: 262144,
  // The datapath's own defaults (lb/datapath options.ts; a test keeps them equal).
  icmpTooBigRate: 200,
  icmpTooBigBurst: 50,
  synTakeoverIdleSeconds: 60,
  maxBackendsPerService: 256,
  recorderEnabled: 'auto' as const,
  recorderRingBytes: 4 << 20,
  recorderHostTraffic: false,
  // One client's share of the datapath's 64 recording slots and 128 rules.
  recorderMaxRecordingsPerPeer: 16,
  recorderMaxRulesPerPeer: 64,
  socketMode: 0o660,
  metricsListen: '127.0.0.1:9641',
  // Scrapes within a second of one another share one read of the counters.
  metricsCacheMs: 1000,
  detachOnExit: false,
});

/** unix:///run/xlb/xlb.sock for the default instance, unix:///run/xlb/<instance>.sock otherwise. */
export function defaultApiListen(instance: string): string {
  return `unix://${RUN_DIR}/${instance === DEFAULT_INSTANCE ? 'xlb' : instance}.sock`;
}

export function defaultBpffsDir(instance: string): string {
  return `${BPFFS_ROOT}/${instance}`;
}

/** The Kubernetes side (lb/kubernetes): the class xlb answers to unless configured otherwise, a
 *  domain-style name as the API requires for non-default classes. */
export const KUBERNETES_DEFAULTS = Object.freeze({
  loadBalancerClass: 'xlb.dev/xlb',
  leaseNamespace: 'xlb-system',
  leaseName: 'xlbd',
  // client-go's leader election defaults: a leader that stops renewing is replaced within 15 s.
  leaseDurationSeconds: 15,
  renewDeadlineSeconds: 10,
  retryPeriodSeconds: 2,
  watchTimeoutSeconds: 300,
});

export const LIMITS = Object.freeze({
  // 1280 (the IPv6 minimum) + 40: the datapath must be able to report a PTB MTU of at least 1280.
  mtuMin: 1320,
  mtuMax: 9216,
  mapServicesMin: 2,
  mapServicesMax: 65536,
  mapBackendsMin: 2,
  mapBackendsMax: 1 << 20,
  mapFlowsMin: 1024,
  mapFlowsMax: 1 << 26,
  encapPrefixMin: { 4: 8, 6: 16 } as Record<4 | 6, number>,
  // The bounds of a recording's ring buffer (lb/datapath/recorder-layout.ts; a test keeps them
  // equal): a page, the kernel's minimum, up to 1 GiB; always a power of two.
  recorderRingBytesMin: 4096,
  recorderRingBytesMax: 1 << 30,
  recorderMaxRecordings: 64,
  recorderMaxRules: 128,
  metricsCacheMsMax: 60_000,
  // The datapath's bounds (lb/datapath options.ts).
  icmpTooBigMin: 1,
  icmpTooBigMax: 1_000_000,
  synTakeoverIdleSecondsMax: 86400,
});
