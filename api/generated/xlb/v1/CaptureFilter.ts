// Original file: proto/xlb/v1/xlb.proto

import type { CaptureProtocol as _xlb_v1_CaptureProtocol, CaptureProtocol__Output as _xlb_v1_CaptureProtocol__Output } from '../../xlb/v1/CaptureProtocol.js';

/**
 * One capture rule, matched on the inner (client) packet at both observation points. A packet
 * matches a recording if it matches any of its filters.
 */
export interface CaptureFilter {
  /**
   * Source prefix, e.g. "10.0.0.0/8", "2001:db8::/32", "192.0.2.7" (= /32). Empty = any address
   * of any family. Host bits must be zero.
   */
  'srcCidr'?: (string);
  /**
   * Destination prefix, same syntax. src and dst, when both set, must be the same family.
   */
  'dstCidr'?: (string);
  /**
   * 1..65535, or 0 = any port (ICMP has no ports: must be 0).
   */
  'srcPort'?: (number);
  'dstPort'?: (number);
  'proto'?: (_xlb_v1_CaptureProtocol);
}

/**
 * One capture rule, matched on the inner (client) packet at both observation points. A packet
 * matches a recording if it matches any of its filters.
 */
export interface CaptureFilter__Output {
  /**
   * Source prefix, e.g. "10.0.0.0/8", "2001:db8::/32", "192.0.2.7" (= /32). Empty = any address
   * of any family. Host bits must be zero.
   */
  'srcCidr': (string);
  /**
   * Destination prefix, same syntax. src and dst, when both set, must be the same family.
   */
  'dstCidr': (string);
  /**
   * 1..65535, or 0 = any port (ICMP has no ports: must be 0).
   */
  'srcPort': (number);
  'dstPort': (number);
  'proto': (_xlb_v1_CaptureProtocol__Output);
}
