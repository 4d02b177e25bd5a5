// Original file: proto/xlb/v1/xlb.proto

export const BackendState = {
  /**
   * In requests: derive the state from the weight (0 = DRAINING, otherwise ACTIVE).
   */
  BACKEND_STATE_UNSPECIFIED: 'BACKEND_STATE_UNSPECIFIED',
  /**
   * Receives new flows in proportion to its weight.
   */
  BACKEND_STATE_ACTIVE: 'BACKEND_STATE_ACTIVE',
  /**
   * Receives no new flows; established flows keep going to it until they end or it is removed.
   */
  BACKEND_STATE_DRAINING: 'BACKEND_STATE_DRAINING',
} as const;

export type BackendState =
  /**
   * In requests: derive the state from the weight (0 = DRAINING, otherwise ACTIVE).
   */
  | 'BACKEND_STATE_UNSPECIFIED'
  | 0
  /**
   * Receives new flows in proportion to its weight.
   */
  | 'BACKEND_STATE_ACTIVE'
  | 1
  /**
   * Receives no new flows; established flows keep going to it until they end or it is removed.
   */
  | 'BACKEND_STATE_DRAINING'
  | 2

export type BackendState__Output = typeof BackendState[keyof typeof BackendState]
