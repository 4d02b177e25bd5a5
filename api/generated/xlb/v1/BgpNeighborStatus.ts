// Original file: proto/xlb/v1/xlb.proto

import type { Long } from '@grpc/proto-loader';

export interface BgpNeighborStatus {
  'address'?: (string);
  'peerAs'?: (number);
  /**
   * The BGP session state as gobgpd reports it: "idle", "connect", "active", "opensent",
   * "openconfirm", "established" ("unknown" while gobgpd is unreachable).
   */
  'state'?: (string);
  /**
   * Seconds since the session was established (0 unless established).
   */
  'uptimeSeconds'?: (number | string | Long);
}

export interface BgpNeighborStatus__Output {
  'address': (string);
  'peerAs': (number);
  /**
   * The BGP session state as gobgpd reports it: "idle", "connect", "active", "opensent",
   * "openconfirm", "established" ("unknown" while gobgpd is unreachable).
   */
  'state': (string);
  /**
   * Seconds since the session was established (0 unless established).
   */
  'uptimeSeconds': (string);
}
