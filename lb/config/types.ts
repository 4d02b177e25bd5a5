// The resolved configuration of one xlbd instance: defaults, overridden by the YAML file,
// overridden by command-line flags, validated as a whole.
import type { Limits, ServiceInput } from '../model/index.js';
import type { BgpConfig } from './bgp.js';
import type { HealthSettings } from './health.js';

export type XdpMode = 'native' | 'generic';

/** Outer source address of encapsulated packets, for one family. */
export interface EncapSource {
  /** Canonical address; with a prefix shorter than the host length, the base of the pool. */
  address: string;
  family: 4 | 6;
  /** 32 / 128 = one fixed address; shorter = per-flow source base | (flow hash & host mask). */
  prefixLength: number;
}

export type ListenAddress =
  | { kind: 'unix'; path: string; /** For grpc-js bind/connect. */ target: string }
  | {
      kind: 'tcp';
      /** Canonical IP literal or "localhost". */
      host: string;
      port: number;
      /** 127.0.0.0/8, ::1 or localhost. */
      loopback: boolean;
      /** host:port, IPv6 in brackets. */
      target: string;
    };

export interface ApiTls {
  cert: string;
  key: string;
  /** CA that client certificates must chain to (client certificates are required). */
  clientCa: string;
  /** If set: only client certificates whose subject CN is listed may call (PERMISSION_DENIED). */
  allowedClients?: string[];
}

export interface XlbdConfig {
  /** The file that was read, or undefined when none (defaults + flags only). */
  configFile: string | undefined;
  instance: string;
  interfaces: string[];
  xdpMode: XdpMode;
  /** Next-hop router; its MAC is resolved by the daemon. */
  gateway: { address: string; family: 4 | 6 };
  /** Absent family: the daemon uses an address of that family from the interface. */
  encap: { v4?: EncapSource; v6?: EncapSource };
  mtu: number;
  maglev: { tableSize: number; seed: number };
  /** max_entries of the datapath maps. */
  maps: { services: number; backends: number; flows: number };
  /** ICMP frag-needed / Packet Too Big replies the datapath may send, per second and CPU, and the burst. */
  icmp: { tooBigRate: number; tooBigBurst: number };
  /** A TCP SYN for a 5-tuple the flow table holds takes a new backend only when the entry's
   *  backend is gone or the entry has been idle this long (seconds; 0 = always). */
  flowTable: { synTakeoverIdleSeconds: number };
  /**
   * The packet recorder. enabled: 'auto' = on when the kernel has its helpers (bpf_xdp_load_bytes,
   * Linux 5.18), off otherwise; false = off (the XDP program then needs only 5.15's helpers);
   * true = on, or the daemon refuses to start on an older kernel. ringBytes: each recording's ring
   * buffer. hostTraffic: recordings also see packets that are not for a VIP (the host's own).
   * maxRecordingsPerPeer / maxRulesPerPeer: one API client's share of the slots.
   */
  recorder: { enabled: 'auto' | boolean; ringBytes: number; hostTraffic: boolean; maxRecordingsPerPeer: number; maxRulesPerPeer: number };
  /** Derived from maps and limits.*: what DesiredState enforces. */
  limits: Limits;
  api: {
    listen: ListenAddress;
    /** Unix socket file mode (default 0o660). */
    socketMode: number;
    /** Group owning the unix socket (name or numeric gid); undefined = the daemon's group. */
    socketGroup: string | undefined;
    /** Set for TCP listeners unless insecure. */
    tls: ApiTls | undefined;
    /** Plaintext TCP, accepted only on loopback. */
    insecure: boolean;
  };
  /** cacheMs: a scrape's text serves the scrapes of the next cacheMs ms (0 = concurrent ones only). */
  metrics: { listen: Extract<ListenAddress, { kind: 'tcp' }>; cacheMs: number };
  stateDir: string;
  /** <stateDir>/<instance>/desired-state.json */
  stateFile: string;
  /** bpffs directory for this instance's pins. */
  bpffsDir: string;
  detachOnExit: boolean;
  /** --discard-datapath-state: empty a pinned datapath that has services when there is no state file. */
  discardDatapathState: boolean;
  /** The health checker as a whole (the checks are per service). */
  health: HealthSettings;
  /** VIP announcement through gobgpd; undefined = no BGP. */
  bgp: BgpConfig | undefined;
  /** The config layer's services (validated against the limits; applied with origin 'config'). */
  services: ServiceInput[];
  /** Kubernetes mode (lb/kubernetes), or undefined when the file has no `kubernetes:` section and
   *  no --kubeconfig / --in-cluster flag. */
  kubernetes: KubernetesConfig | undefined;
  /** Where each top-level setting came from. */
  sources: Record<string, 'default' | 'file' | 'flag'>;
  /** Harmless oddities the daemon should log (e.g. TLS settings ignored for a unix socket). */
  warnings: string[];
}

/** One IP prefix of an address pool (canonical). */
export interface PoolPrefix {
  /** Canonical network address. */
  address: string;
  family: 4 | 6;
  prefixLength: number;
  /** "198.51.100.0/28" */
  text: string;
}

export interface AddressPool {
  name: string;
  prefixes: PoolPrefix[];
}

export interface KubernetesConfig {
  /** How to reach the API server: a kubeconfig file (optionally one of its contexts), or the
   *  pod's service account (in_cluster). */
  access: { kind: 'kubeconfig'; path: string; context: string | undefined } | { kind: 'in-cluster' };
  /** spec.loadBalancerClass of the Services xlb implements. */
  loadBalancerClass: string;
  /** Also take Services without a loadBalancerClass: xlb is the cluster's default LoadBalancer. */
  defaultClass: boolean;
  /** Where VIPs come from, in order of preference. */
  addressPools: AddressPool[];
  /** Namespaces to watch; empty = all. */
  namespaces: string[];
  /** This node's name (Lease holder identity, Event source). */
  nodeName: string;
  leaderElection: {
    namespace: string;
    leaseName: string;
    leaseDurationSeconds: number;
    renewDeadlineMs: number;
    retryPeriodMs: number;
  };
  /** Server-side timeout of each watch request; the client re-watches from the last version. */
  watchTimeoutSeconds: number;
}

/** Command-line overrides; undefined = not given. */
export interface XlbdFlags {
  config?: string;
  interfaces?: string[];
  gateway?: string;
  api?: string;
  metrics?: string;
  stateDir?: string;
  xdpMode?: string;
  detachOnExit?: boolean;
  instance?: string;
  discardDatapathState?: boolean;
  kubeconfig?: string;
  inCluster?: boolean;
  loadBalancerClass?: string;
  /** One pool named "default" made of these prefixes (replaces kubernetes.address_pools). */
  addressPool?: string[];
  watchNamespaces?: string[];
  nodeName?: string;
}
