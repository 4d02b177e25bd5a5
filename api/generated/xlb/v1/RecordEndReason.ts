// Original file: proto/xlb/v1/xlb.proto

export const RecordEndReason = {
  RECORD_END_REASON_UNSPECIFIED: 'RECORD_END_REASON_UNSPECIFIED',
  RECORD_END_REASON_MAX_PACKETS: 'RECORD_END_REASON_MAX_PACKETS',
  RECORD_END_REASON_MAX_BYTES: 'RECORD_END_REASON_MAX_BYTES',
  RECORD_END_REASON_MAX_DURATION: 'RECORD_END_REASON_MAX_DURATION',
  /**
   * The client sent stop.
   */
  RECORD_END_REASON_STOPPED: 'RECORD_END_REASON_STOPPED',
  /**
   * The daemon is shutting down.
   */
  RECORD_END_REASON_SHUTDOWN: 'RECORD_END_REASON_SHUTDOWN',
} as const;

export type RecordEndReason =
  | 'RECORD_END_REASON_UNSPECIFIED'
  | 0
  | 'RECORD_END_REASON_MAX_PACKETS'
  | 1
  | 'RECORD_END_REASON_MAX_BYTES'
  | 2
  | 'RECORD_END_REASON_MAX_DURATION'
  | 3
  /**
   * The client sent stop.
   */
  | 'RECORD_END_REASON_STOPPED'
  | 4
  /**
   * The daemon is shutting down.
   */
  | 'RECORD_END_REASON_SHUTDOWN'
  | 5

export type RecordEndReason__Output = typeof RecordEndReason[keyof typeof RecordEndReason]
