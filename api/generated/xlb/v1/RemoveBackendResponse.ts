// Original file: proto/xlb/v1/xlb.proto

import type { Service as _xlb_v1_Service, Service__Output as _xlb_v1_Service__Output } from '../../xlb/v1/Service.js';

export interface RemoveBackendResponse {
  'service'?: (_xlb_v1_Service | null);
}

export interface RemoveBackendResponse__Output {
  'service': (_xlb_v1_Service__Output | null);
}
