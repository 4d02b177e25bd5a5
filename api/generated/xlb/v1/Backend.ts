// Original file: proto/xlb/v1/xlb.proto

import type { BackendState as _xlb_v1_BackendState, BackendState__Output as _xlb_v1_BackendState__Output } from '../../xlb/v1/BackendState.js';
import type { BackendHealth as _xlb_v1_BackendHealth, BackendHealth__Output as _xlb_v1_BackendHealth__Output } from '../../xlb/v1/BackendHealth.js';

export interface Backend {
  /**
   * Backend IP address (the outer destination of the encapsulated packet). An IPv4 service
   * accepts IPv4 backends (IPIP) and IPv6 backends (4in6); an IPv6 service accepts IPv6 backends
   * only (IP6IP6). Must be a unicast address: not unspecified, loopback, multicast, link-local,
   * broadcast or IPv4-mapped IPv6. Unique within a service. Returned in canonical form.
   */
  'address'?: (string);
  'weight'?: (number);
  'state'?: (_xlb_v1_BackendState);
  /**
   * Optional label for people and metrics: 1..63 characters [A-Za-z0-9._-], starting with a
   * letter or digit. Empty = no name.
   */
  'name'?: (string);
  /**
   * Output only (ignored in requests): the datapath id of this (service, backend) pair, >= 1.
   * Stable for the life of the backend in this service (across daemon restarts and updates); not
   * reused soon after removal, so a flow pinned to a removed backend never lands on a new one.
   */
  'datapathId'?: (number);
  /**
   * Health check overrides for this backend (only with a service health_check). check_address:
   * probe this address directly instead (the tunnel can only reach the VIP on the backend itself);
   * check_port: probe this port instead of the check's / service's port. Empty / 0 = no override.
   */
  'checkAddress'?: (string);
  'checkPort'?: (number);
  /**
   * Output only: the backend's health (absent when the service has no health check).
   */
  'health'?: (_xlb_v1_BackendHealth | null);
  /**
   * Relative share of new flows, 0..65535. Absent in a request: 1. 0 means draining: a backend
   * with weight 0 is DRAINING, and an ACTIVE backend needs a weight >= 1. A DRAINING backend may
   * keep a non-zero weight, which it uses again when set back to ACTIVE.
   * (A one-field oneof gives the field presence, like proto3 `optional`, which older protoc
   * releases, e.g. Debian 12's grpc_tools, reject.)
   */
  'optionalWeight'?: "weight";
}

export interface Backend__Output {
  /**
   * Backend IP address (the outer destination of the encapsulated packet). An IPv4 service
   * accepts IPv4 backends (IPIP) and IPv6 backends (4in6); an IPv6 service accepts IPv6 backends
   * only (IP6IP6). Must be a unicast address: not unspecified, loopback, multicast, link-local,
   * broadcast or IPv4-mapped IPv6. Unique within a service. Returned in canonical form.
   */
  'address': (string);
  'weight'?: (number);
  'state': (_xlb_v1_BackendState__Output);
  /**
   * Optional label for people and metrics: 1..63 characters [A-Za-z0-9._-], starting with a
   * letter or digit. Empty = no name.
   */
  'name': (string);
  /**
   * Output only (ignored in requests): the datapath id of this (service, backend) pair, >= 1.
   * Stable for the life of the backend in this service (across daemon restarts and updates); not
   * reused soon after removal, so a flow pinned to a removed backend never lands on a new one.
   */
  'datapathId': (number);
  /**
   * Health check overrides for this backend (only with a service health_check). check_address:
   * probe this address directly instead (the tunnel can only reach the VIP on the backend itself);
   * check_port: probe this port instead of the check's / service's port. Empty / 0 = no override.
   */
  'checkAddress': (string);
  'checkPort': (number);
  /**
   * Output only: the backend's health (absent when the service has no health check).
   */
  'health': (_xlb_v1_BackendHealth__Output | null);
  /**
   * Relative share of new flows, 0..65535. Absent in a request: 1. 0 means draining: a backend
   * with weight 0 is DRAINING, and an ACTIVE backend needs a weight >= 1. A DRAINING backend may
   * keep a non-zero weight, which it uses again when set back to ACTIVE.
   * (A one-field oneof gives the field presence, like proto3 `optional`, which older protoc
   * releases, e.g. Debian 12's grpc_tools, reject.)
   */
  'optionalWeight'?: "weight";
}
