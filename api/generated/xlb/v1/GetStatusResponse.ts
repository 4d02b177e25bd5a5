// Original file: proto/xlb/v1/xlb.proto

import type { InterfaceStatus as _xlb_v1_InterfaceStatus, InterfaceStatus__Output as _xlb_v1_InterfaceStatus__Output } from '../../xlb/v1/InterfaceStatus.js';
import type { GatewayStatus as _xlb_v1_GatewayStatus, GatewayStatus__Output as _xlb_v1_GatewayStatus__Output } from '../../xlb/v1/GatewayStatus.js';
import type { HealthCheckStatus as _xlb_v1_HealthCheckStatus, HealthCheckStatus__Output as _xlb_v1_HealthCheckStatus__Output } from '../../xlb/v1/HealthCheckStatus.js';
import type { BgpStatus as _xlb_v1_BgpStatus, BgpStatus__Output as _xlb_v1_BgpStatus__Output } from '../../xlb/v1/BgpStatus.js';
import type { KubernetesStatus as _xlb_v1_KubernetesStatus, KubernetesStatus__Output as _xlb_v1_KubernetesStatus__Output } from '../../xlb/v1/KubernetesStatus.js';
import type { MaglevTableUsage as _xlb_v1_MaglevTableUsage, MaglevTableUsage__Output as _xlb_v1_MaglevTableUsage__Output } from '../../xlb/v1/MaglevTableUsage.js';
import type { Long } from '@grpc/proto-loader';

export interface GetStatusResponse {
  /**
   * Daemon version (package version).
   */
  'version'?: (string);
  /**
   * Instance name (pins live under /sys/fs/bpf/xlb/<instance>).
   */
  'instance'?: (string);
  'uptimeSeconds'?: (number | string | Long);
  'interfaces'?: (_xlb_v1_InterfaceStatus)[];
  'gateway'?: (_xlb_v1_GatewayStatus | null);
  /**
   * Default Maglev table size M (slots) of services created without one, and the hash seed.
   */
  'maglevTableSize'?: (number);
  'maglevSeed'?: (number);
  'services'?: (number);
  'backends'?: (number);
  /**
   * Egress MTU used for the too-big check.
   */
  'mtu'?: (number);
  /**
   * True when the daemon adopted an already running datapath at start instead of loading one.
   */
  'adoptedDatapath'?: (boolean);
  /**
   * True when Recorder.Record can run: the datapath was loaded with the packet recorder.
   */
  'recorderAvailable'?: (boolean);
  /**
   * Why the recorder is off (the setting recorder.enabled: false, or what the kernel lacks);
   * empty when it is available.
   */
  'recorderNote'?: (string);
  /**
   * Size in bytes of the datapath's recording ring buffer (recorder.ring_bytes).
   */
  'recorderRingBytes'?: (number);
  'health'?: (_xlb_v1_HealthCheckStatus | null);
  'bgp'?: (_xlb_v1_BgpStatus | null);
  /**
   * Kubernetes mode (absent when the daemon was started without it).
   */
  'kubernetes'?: (_xlb_v1_KubernetesStatus | null);
  /**
   * Kernel memory of the services' Maglev tables, in bytes (services without an active backend
   * have no table), and the tables by size.
   */
  'maglevTableMemoryBytes'?: (number | string | Long);
  'maglevTables'?: (_xlb_v1_MaglevTableUsage)[];
}

export interface GetStatusResponse__Output {
  /**
   * Daemon version (package version).
   */
  'version': (string);
  /**
   * Instance name (pins live under /sys/fs/bpf/xlb/<instance>).
   */
  'instance': (string);
  'uptimeSeconds': (string);
  'interfaces': (_xlb_v1_InterfaceStatus__Output)[];
  'gateway': (_xlb_v1_GatewayStatus__Output | null);
  /**
   * Default Maglev table size M (slots) of services created without one, and the hash seed.
   */
  'maglevTableSize': (number);
  'maglevSeed': (number);
  'services': (number);
  'backends': (number);
  /**
   * Egress MTU used for the too-big check.
   */
  'mtu': (number);
  /**
   * True when the daemon adopted an already running datapath at start instead of loading one.
   */
  'adoptedDatapath': (boolean);
  /**
   * True when Recorder.Record can run: the datapath was loaded with the packet recorder.
   */
  'recorderAvailable': (boolean);
  /**
   * Why the recorder is off (the setting recorder.enabled: false, or what the kernel lacks);
   * empty when it is available.
   */
  'recorderNote': (string);
  /**
   * Size in bytes of the datapath's recording ring buffer (recorder.ring_bytes).
   */
  'recorderRingBytes': (number);
  'health': (_xlb_v1_HealthCheckStatus__Output | null);
  'bgp': (_xlb_v1_BgpStatus__Output | null);
  /**
   * Kubernetes mode (absent when the daemon was started without it).
   */
  'kubernetes': (_xlb_v1_KubernetesStatus__Output | null);
  /**
   * Kernel memory of the services' Maglev tables, in bytes (services without an active backend
   * have no table), and the tables by size.
   */
  'maglevTableMemoryBytes': (string);
  'maglevTables': (_xlb_v1_MaglevTableUsage__Output)[];
}
