// Original file: proto/xlb/v1/xlb.proto

import type { Service as _xlb_v1_Service, Service__Output as _xlb_v1_Service__Output } from '../../xlb/v1/Service.js';

export interface UpdateServiceRequest {
  /**
   * Identifies the service (id, or vip/port/protocol) and carries the new flags (absent = all
   * flags false).
   */
  'service'?: (_xlb_v1_Service | null);
  /**
   * false: backends are left as they are, and service.backends must be empty.
   * true: service.backends becomes the complete backend set; backends present before and after
   * keep their datapath ids (established flows are not disturbed), missing ones are removed.
   */
  'replaceBackends'?: (boolean);
}

export interface UpdateServiceRequest__Output {
  /**
   * Identifies the service (id, or vip/port/protocol) and carries the new flags (absent = all
   * flags false).
   */
  'service': (_xlb_v1_Service__Output | null);
  /**
   * false: backends are left as they are, and service.backends must be empty.
   * true: service.backends becomes the complete backend set; backends present before and after
   * keep their datapath ids (established flows are not disturbed), missing ones are removed.
   */
  'replaceBackends': (boolean);
}
