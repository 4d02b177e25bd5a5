// Original file: proto/xlb/v1/xlb.proto

import type { Backend as _xlb_v1_Backend, Backend__Output as _xlb_v1_Backend__Output } from '../../xlb/v1/Backend.js';

export interface AddBackendRequest {
  'serviceId'?: (string);
  /**
   * backend_id must be 0 (it is assigned by the server).
   */
  'backend'?: (_xlb_v1_Backend | null);
}

export interface AddBackendRequest__Output {
  'serviceId': (string);
  /**
   * backend_id must be 0 (it is assigned by the server).
   */
  'backend': (_xlb_v1_Backend__Output | null);
}
