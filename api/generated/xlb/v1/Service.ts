// Original file: proto/xlb/v1/xlb.proto

import type { Protocol as _xlb_v1_Protocol, Protocol__Output as _xlb_v1_Protocol__Output } from '../../xlb/v1/Protocol.js';
import type { ServiceFlags as _xlb_v1_ServiceFlags, ServiceFlags__Output as _xlb_v1_ServiceFlags__Output } from '../../xlb/v1/ServiceFlags.js';
import type { Backend as _xlb_v1_Backend, Backend__Output as _xlb_v1_Backend__Output } from '../../xlb/v1/Backend.js';
import type { HealthCheck as _xlb_v1_HealthCheck, HealthCheck__Output as _xlb_v1_HealthCheck__Output } from '../../xlb/v1/HealthCheck.js';
import type { ServiceHealth as _xlb_v1_ServiceHealth, ServiceHealth__Output as _xlb_v1_ServiceHealth__Output } from '../../xlb/v1/ServiceHealth.js';
import type { KubernetesRef as _xlb_v1_KubernetesRef, KubernetesRef__Output as _xlb_v1_KubernetesRef__Output } from '../../xlb/v1/KubernetesRef.js';

export interface Service {
  /**
   * The service id, e.g. "10.0.0.10:80/tcp". Output: always set, canonical. Input: optional; if
   * set it must name the same service as vip/port/protocol, or it may be given alone instead of them.
   */
  'id'?: (string);
  /**
   * Virtual IP, IPv4 or IPv6 (no brackets). Must be a unicast address: not unspecified, loopback,
   * multicast, link-local, broadcast or IPv4-mapped IPv6.
   */
  'vip'?: (string);
  /**
   * Destination port 1..65535, or 0 for "all ports" (written `*` in the id). A packet matches an
   * exact-port service first, then the all-ports service of the same VIP and protocol.
   */
  'port'?: (number);
  'protocol'?: (_xlb_v1_Protocol);
  'flags'?: (_xlb_v1_ServiceFlags | null);
  /**
   * The backends. Order carries no meaning; the server returns them ordered by address.
   */
  'backends'?: (_xlb_v1_Backend)[];
  /**
   * Output only (ignored in requests): who manages this service. "api" (created through this
   * API), "config" (declared in the daemon's config file; API calls that would change it fail
   * with FAILED_PRECONDITION: change the file and reload the daemon) or "kubernetes" (made from a
   * Kubernetes Service of type LoadBalancer, named in `kubernetes`; API calls that would change it
   * fail with FAILED_PRECONDITION naming that Service: change it in the cluster).
   */
  'origin'?: (string);
  /**
   * Output only (ignored in requests): the datapath id of the service (index of its Maglev
   * table), >= 1. Stable across restarts.
   */
  'datapathId'?: (number);
  /**
   * Optional health check. In UpdateService: absent = unchanged, kind "none" = removed. In Apply
   * and CreateService: absent = none.
   */
  'healthCheck'?: (_xlb_v1_HealthCheck | null);
  /**
   * Output only: absent when the service has no health check.
   */
  'health'?: (_xlb_v1_ServiceHealth | null);
  /**
   * Output only (ignored in requests): for origin "kubernetes", the Service it was made from
   * (one Kubernetes Service becomes one xlb service per VIP and port).
   */
  'kubernetes'?: (_xlb_v1_KubernetesRef | null);
  /**
   * Maglev table size M of this service: one of the allowed primes 251, 509, 1021, 2039, 4093,
   * 8191, 16381, 32749, 65537, 131071. A bigger table keeps shares closer to the weights with many
   * backends (each active backend holds within one slot of M·weight/Σweight) and costs kernel
   * memory (16381: 68 KiB, 65537: 264 KiB per service; GetStatus sums it). 0 in a request: the
   * daemon's default (GetStatus maglev_table_size) for CreateService and Apply; unchanged for
   * UpdateService. Output: always set.
   */
  'tableSize'?: (number);
}

export interface Service__Output {
  /**
   * The service id, e.g. "10.0.0.10:80/tcp". Output: always set, canonical. Input: optional; if
   * set it must name the same service as vip/port/protocol, or it may be given alone instead of them.
   */
  'id': (string);
  /**
   * Virtual IP, IPv4 or IPv6 (no brackets). Must be a unicast address: not unspecified, loopback,
   * multicast, link-local, broadcast or IPv4-mapped IPv6.
   */
  'vip': (string);
  /**
   * Destination port 1..65535, or 0 for "all ports" (written `*` in the id). A packet matches an
   * exact-port service first, then the all-ports service of the same VIP and protocol.
   */
  'port': (number);
  'protocol': (_xlb_v1_Protocol__Output);
  'flags': (_xlb_v1_ServiceFlags__Output | null);
  /**
   * The backends. Order carries no meaning; the server returns them ordered by address.
   */
  'backends': (_xlb_v1_Backend__Output)[];
  /**
   * Output only (ignored in requests): who manages this service. "api" (created through this
   * API), "config" (declared in the daemon's config file; API calls that would change it fail
   * with FAILED_PRECONDITION: change the file and reload the daemon) or "kubernetes" (made from a
   * Kubernetes Service of type LoadBalancer, named in `kubernetes`; API calls that would change it
   * fail with FAILED_PRECONDITION naming that Service: change it in the cluster).
   */
  'origin': (string);
  /**
   * Output only (ignored in requests): the datapath id of the service (index of its Maglev
   * table), >= 1. Stable across restarts.
   */
  'datapathId': (number);
  /**
   * Optional health check. In UpdateService: absent = unchanged, kind "none" = removed. In Apply
   * and CreateService: absent = none.
   */
  'healthCheck': (_xlb_v1_HealthCheck__Output | null);
  /**
   * Output only: absent when the service has no health check.
   */
  'health': (_xlb_v1_ServiceHealth__Output | null);
  /**
   * Output only (ignored in requests): for origin "kubernetes", the Service it was made from
   * (one Kubernetes Service becomes one xlb service per VIP and port).
   */
  'kubernetes': (_xlb_v1_KubernetesRef__Output | null);
  /**
   * Maglev table size M of this service: one of the allowed primes 251, 509, 1021, 2039, 4093,
   * 8191, 16381, 32749, 65537, 131071. A bigger table keeps shares closer to the weights with many
   * backends (each active backend holds within one slot of M·weight/Σweight) and costs kernel
   * memory (16381: 68 KiB, 65537: 264 KiB per service; GetStatus sums it). 0 in a request: the
   * daemon's default (GetStatus maglev_table_size) for CreateService and Apply; unchanged for
   * UpdateService. Output: always set.
   */
  'tableSize': (number);
}
