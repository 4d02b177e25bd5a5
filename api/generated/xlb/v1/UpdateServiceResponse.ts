// Original file: proto/xlb/v1/xlb.proto

import type { Service as _xlb_v1_Service, Service__Output as _xlb_v1_Service__Output } from '../../xlb/v1/Service.js';

export interface UpdateServiceResponse {
  'service'?: (_xlb_v1_Service | null);
  /**
   * False if the request matched the current state exactly (nothing was reprogrammed).
   */
  'changed'?: (boolean);
}

export interface UpdateServiceResponse__Output {
  'service': (_xlb_v1_Service__Output | null);
  /**
   * False if the request matched the current state exactly (nothing was reprogrammed).
   */
  'changed': (boolean);
}
