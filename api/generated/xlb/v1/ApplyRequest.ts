// Original file: proto/xlb/v1/xlb.proto

import type { Service as _xlb_v1_Service, Service__Output as _xlb_v1_Service__Output } from '../../xlb/v1/Service.js';

export interface ApplyRequest {
  /**
   * The complete set of API-managed services. Each must be valid on its own; duplicates (same
   * canonical id) are INVALID_ARGUMENT.
   */
  'services'?: (_xlb_v1_Service)[];
  /**
   * Validate and compute the changes, but change nothing.
   */
  'dryRun'?: (boolean);
}

export interface ApplyRequest__Output {
  /**
   * The complete set of API-managed services. Each must be valid on its own; duplicates (same
   * canonical id) are INVALID_ARGUMENT.
   */
  'services': (_xlb_v1_Service__Output)[];
  /**
   * Validate and compute the changes, but change nothing.
   */
  'dryRun': (boolean);
}
