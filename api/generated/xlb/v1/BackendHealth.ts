// Original file: proto/xlb/v1/xlb.proto

import type { HealthState as _xlb_v1_HealthState, HealthState__Output as _xlb_v1_HealthState__Output } from '../../xlb/v1/HealthState.js';
import type { Long } from '@grpc/proto-loader';

export interface BackendHealth {
  'state'?: (_xlb_v1_HealthState);
  /**
   * Wall clock of the last state change, ms since the Unix epoch.
   */
  'sinceMs'?: (number | string | Long);
  /**
   * The last failure, e.g. "connect refused", "timeout", "HTTP 503"; empty once it is up.
   */
  'lastError'?: (string);
  /**
   * Wall clock of the last finished probe (0: none yet).
   */
  'lastCheckMs'?: (number | string | Long);
  /**
   * How it is probed, e.g. "http 10.0.0.10:80/healthz through the tunnel to 10.1.0.5".
   */
  'probe'?: (string);
}

export interface BackendHealth__Output {
  'state': (_xlb_v1_HealthState__Output);
  /**
   * Wall clock of the last state change, ms since the Unix epoch.
   */
  'sinceMs': (string);
  /**
   * The last failure, e.g. "connect refused", "timeout", "HTTP 503"; empty once it is up.
   */
  'lastError': (string);
  /**
   * Wall clock of the last finished probe (0: none yet).
   */
  'lastCheckMs': (string);
  /**
   * How it is probed, e.g. "http 10.0.0.10:80/healthz through the tunnel to 10.1.0.5".
   */
  'probe': (string);
}
