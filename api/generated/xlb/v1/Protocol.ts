// Original file: proto/xlb/v1/xlb.proto

/**
 * Transport protocol of a service. Other protocols cannot be balanced.
 */
export const Protocol = {
  /**
   * Not a valid value in requests: INVALID_ARGUMENT.
   */
  PROTOCOL_UNSPECIFIED: 'PROTOCOL_UNSPECIFIED',
  PROTOCOL_TCP: 'PROTOCOL_TCP',
  PROTOCOL_UDP: 'PROTOCOL_UDP',
} as const;

/**
 * Transport protocol of a service. Other protocols cannot be balanced.
 */
export type Protocol =
  /**
   * Not a valid value in requests: INVALID_ARGUMENT.
   */
  | 'PROTOCOL_UNSPECIFIED'
  | 0
  | 'PROTOCOL_TCP'
  | 1
  | 'PROTOCOL_UDP'
  | 2

/**
 * Transport protocol of a service. Other protocols cannot be balanced.
 */
export type Protocol__Output = typeof Protocol[keyof typeof Protocol]
