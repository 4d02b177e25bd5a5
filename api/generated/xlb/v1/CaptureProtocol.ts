// Original file: proto/xlb/v1/xlb.proto

export const CaptureProtocol = {
  /**
   * Any protocol.
   */
  CAPTURE_PROTOCOL_ANY: 'CAPTURE_PROTOCOL_ANY',
  CAPTURE_PROTOCOL_TCP: 'CAPTURE_PROTOCOL_TCP',
  CAPTURE_PROTOCOL_UDP: 'CAPTURE_PROTOCOL_UDP',
  /**
   * ICMP for IPv4 rules, ICMPv6 for IPv6 rules (both when the rule has no address family).
   */
  CAPTURE_PROTOCOL_ICMP: 'CAPTURE_PROTOCOL_ICMP',
} as const;

export type CaptureProtocol =
  /**
   * Any protocol.
   */
  | 'CAPTURE_PROTOCOL_ANY'
  | 0
  | 'CAPTURE_PROTOCOL_TCP'
  | 1
  | 'CAPTURE_PROTOCOL_UDP'
  | 2
  /**
   * ICMP for IPv4 rules, ICMPv6 for IPv6 rules (both when the rule has no address family).
   */
  | 'CAPTURE_PROTOCOL_ICMP'
  | 3

export type CaptureProtocol__Output = typeof CaptureProtocol[keyof typeof CaptureProtocol]
