// Original file: proto/xlb/v1/xlb.proto

import type { RecordStarted as _xlb_v1_RecordStarted, RecordStarted__Output as _xlb_v1_RecordStarted__Output } from '../../xlb/v1/RecordStarted.js';
import type { RecordStats as _xlb_v1_RecordStats, RecordStats__Output as _xlb_v1_RecordStats__Output } from '../../xlb/v1/RecordStats.js';
import type { RecordEnd as _xlb_v1_RecordEnd, RecordEnd__Output as _xlb_v1_RecordEnd__Output } from '../../xlb/v1/RecordEnd.js';

export interface RecordResponse {
  'started'?: (_xlb_v1_RecordStarted | null);
  /**
   * The next bytes of the capture file (the first chunk starts with the file header).
   */
  'chunk'?: (Buffer | Uint8Array | string);
  'stats'?: (_xlb_v1_RecordStats | null);
  'end'?: (_xlb_v1_RecordEnd | null);
  'msg'?: "started"|"chunk"|"stats"|"end";
}

export interface RecordResponse__Output {
  'started'?: (_xlb_v1_RecordStarted__Output | null);
  /**
   * The next bytes of the capture file (the first chunk starts with the file header).
   */
  'chunk'?: (Buffer);
  'stats'?: (_xlb_v1_RecordStats__Output | null);
  'end'?: (_xlb_v1_RecordEnd__Output | null);
  'msg'?: "started"|"chunk"|"stats"|"end";
}
