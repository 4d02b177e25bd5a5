// Original file: proto/xlb/v1/xlb.proto

import type { Backend as _xlb_v1_Backend, Backend__Output as _xlb_v1_Backend__Output } from '../../xlb/v1/Backend.js';

export interface AddBackendRequest {
  'serviceId'?: (string);
  /**
   * backend.datapath_id is ignored (the server assigns it).
   */
  'backend'?: (_xlb_v1_Backend | null);
}

export interface AddBackendRequest__Output {
  'serviceId': (string);
  /**
   * backend.datapath_id is ignored (the server assigns it).
   */
  'backend': (_xlb_v1_Backend__Output | null);
}
