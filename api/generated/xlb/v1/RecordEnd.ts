// Original file: proto/xlb/v1/xlb.proto

import type { RecordEndReason as _xlb_v1_RecordEndReason, RecordEndReason__Output as _xlb_v1_RecordEndReason__Output } from '../../xlb/v1/RecordEndReason.js';
import type { RecordStats as _xlb_v1_RecordStats, RecordStats__Output as _xlb_v1_RecordStats__Output } from '../../xlb/v1/RecordStats.js';

export interface RecordEnd {
  'reason'?: (_xlb_v1_RecordEndReason);
  /**
   * Final figures.
   */
  'stats'?: (_xlb_v1_RecordStats | null);
}

export interface RecordEnd__Output {
  'reason': (_xlb_v1_RecordEndReason__Output);
  /**
   * Final figures.
   */
  'stats': (_xlb_v1_RecordStats__Output | null);
}
