// Original file: proto/xlb/v1/xlb.proto

import type { BackendState as _xlb_v1_BackendState, BackendState__Output as _xlb_v1_BackendState__Output } from '../../xlb/v1/BackendState.js';
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
}
