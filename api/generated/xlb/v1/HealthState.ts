// Original file: proto/xlb/v1/xlb.proto

export const HealthState = {
  /**
   * The service has no health check.
   */
  HEALTH_STATE_UNSPECIFIED: 'HEALTH_STATE_UNSPECIFIED',
  /**
   * Not yet decided (new backend); receives traffic like an up backend.
   */
  HEALTH_STATE_UNKNOWN: 'HEALTH_STATE_UNKNOWN',
  HEALTH_STATE_UP: 'HEALTH_STATE_UP',
  /**
   * Out of the Maglev table (unless the service fails open).
   */
  HEALTH_STATE_DOWN: 'HEALTH_STATE_DOWN',
} as const;

export type HealthState =
  /**
   * The service has no health check.
   */
  | 'HEALTH_STATE_UNSPECIFIED'
  | 0
  /**
   * Not yet decided (new backend); receives traffic like an up backend.
   */
  | 'HEALTH_STATE_UNKNOWN'
  | 1
  | 'HEALTH_STATE_UP'
  | 2
  /**
   * Out of the Maglev table (unless the service fails open).
   */
  | 'HEALTH_STATE_DOWN'
  | 3

export type HealthState__Output = typeof HealthState[keyof typeof HealthState]
