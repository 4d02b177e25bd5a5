// Original file: proto/xlb/v1/xlb.proto

export const CapturePoints = {
  /**
   * Same as BOTH.
   */
  CAPTURE_POINTS_UNSPECIFIED: 'CAPTURE_POINTS_UNSPECIFIED',
  /**
   * The packet as received, before the load-balancing decision.
   */
  CAPTURE_POINTS_INGRESS: 'CAPTURE_POINTS_INGRESS',
  /**
   * The packet as sent (after encapsulation).
   */
  CAPTURE_POINTS_EGRESS: 'CAPTURE_POINTS_EGRESS',
  CAPTURE_POINTS_BOTH: 'CAPTURE_POINTS_BOTH',
} as const;

export type CapturePoints =
  /**
   * Same as BOTH.
   */
  | 'CAPTURE_POINTS_UNSPECIFIED'
  | 0
  /**
   * The packet as received, before the load-balancing decision.
   */
  | 'CAPTURE_POINTS_INGRESS'
  | 1
  /**
   * The packet as sent (after encapsulation).
   */
  | 'CAPTURE_POINTS_EGRESS'
  | 2
  | 'CAPTURE_POINTS_BOTH'
  | 3

export type CapturePoints__Output = typeof CapturePoints[keyof typeof CapturePoints]
