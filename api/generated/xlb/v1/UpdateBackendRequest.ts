// Original file: proto/xlb/v1/xlb.proto

import type { BackendState as _xlb_v1_BackendState, BackendState__Output as _xlb_v1_BackendState__Output } from '../../xlb/v1/BackendState.js';

export interface UpdateBackendRequest {
  'serviceId'?: (string);
  /**
   * Which backend: its address (any textual form; it is canonicalised before matching).
   */
  'address'?: (string);
  'weight'?: (number);
  /**
   * New state; UNSPECIFIED = as described for weight, or unchanged if weight is absent too.
   * ACTIVE on a backend whose weight is 0 needs a weight in the same request.
   */
  'state'?: (_xlb_v1_BackendState);
  'name'?: (string);
  /**
   * New weight 0..65535; absent = unchanged. When state is UNSPECIFIED, setting a weight also sets
   * the state: 0 -> DRAINING, >= 1 -> ACTIVE.
   */
  'optionalWeight'?: "weight";
  /**
   * New name; absent = unchanged, empty string = remove the name.
   */
  'optionalName'?: "name";
}

export interface UpdateBackendRequest__Output {
  'serviceId': (string);
  /**
   * Which backend: its address (any textual form; it is canonicalised before matching).
   */
  'address': (string);
  'weight'?: (number);
  /**
   * New state; UNSPECIFIED = as described for weight, or unchanged if weight is absent too.
   * ACTIVE on a backend whose weight is 0 needs a weight in the same request.
   */
  'state': (_xlb_v1_BackendState__Output);
  'name'?: (string);
  /**
   * New weight 0..65535; absent = unchanged. When state is UNSPECIFIED, setting a weight also sets
   * the state: 0 -> DRAINING, >= 1 -> ACTIVE.
   */
  'optionalWeight'?: "weight";
  /**
   * New name; absent = unchanged, empty string = remove the name.
   */
  'optionalName'?: "name";
}
