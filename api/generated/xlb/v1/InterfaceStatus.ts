// Original file: proto/xlb/v1/xlb.proto

import type { XdpMode as _xlb_v1_XdpMode, XdpMode__Output as _xlb_v1_XdpMode__Output } from '../../xlb/v1/XdpMode.js';

export interface InterfaceStatus {
  'name'?: (string);
  'ifindex'?: (number);
  /**
   * MAC address, lower case, colon separated.
   */
  'mac'?: (string);
  'attached'?: (boolean);
  'mode'?: (_xlb_v1_XdpMode);
  /**
   * Kernel id of the XDP program attached to this interface (0 if none).
   */
  'programId'?: (number);
}

export interface InterfaceStatus__Output {
  'name': (string);
  'ifindex': (number);
  /**
   * MAC address, lower case, colon separated.
   */
  'mac': (string);
  'attached': (boolean);
  'mode': (_xlb_v1_XdpMode__Output);
  /**
   * Kernel id of the XDP program attached to this interface (0 if none).
   */
  'programId': (number);
}
