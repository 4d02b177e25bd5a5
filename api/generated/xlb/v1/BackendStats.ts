// Original file: proto/xlb/v1/xlb.proto

import type { BackendState as _xlb_v1_BackendState, BackendState__Output as _xlb_v1_BackendState__Output } from '../../xlb/v1/BackendState.js';
import type { BackendHealth as _xlb_v1_BackendHealth, BackendHealth__Output as _xlb_v1_BackendHealth__Output } from '../../xlb/v1/BackendHealth.js';
import type { Long } from '@grpc/proto-loader';

export interface BackendStats {
  'address'?: (string);
  'datapathId'?: (number);
  'state'?: (_xlb_v1_BackendState);
  /**
   * Packets and bytes (as received, before encapsulation) sent to this backend.
   */
  'packets'?: (number | string | Long);
  'bytes'?: (number | string | Long);
  /**
   * Absent when the service has no health check.
   */
  'health'?: (_xlb_v1_BackendHealth | null);
}

export interface BackendStats__Output {
  'address': (string);
  'datapathId': (number);
  'state': (_xlb_v1_BackendState__Output);
  /**
   * Packets and bytes (as received, before encapsulation) sent to this backend.
   */
  'packets': (string);
  'bytes': (string);
  /**
   * Absent when the service has no health check.
   */
  'health': (_xlb_v1_BackendHealth__Output | null);
}
