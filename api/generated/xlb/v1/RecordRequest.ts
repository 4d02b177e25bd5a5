// Original file: proto/xlb/v1/xlb.proto

import type { RecordStart as _xlb_v1_RecordStart, RecordStart__Output as _xlb_v1_RecordStart__Output } from '../../xlb/v1/RecordStart.js';
import type { RecordStop as _xlb_v1_RecordStop, RecordStop__Output as _xlb_v1_RecordStop__Output } from '../../xlb/v1/RecordStop.js';

export interface RecordRequest {
  'start'?: (_xlb_v1_RecordStart | null);
  'stop'?: (_xlb_v1_RecordStop | null);
  'msg'?: "start"|"stop";
}

export interface RecordRequest__Output {
  'start'?: (_xlb_v1_RecordStart__Output | null);
  'stop'?: (_xlb_v1_RecordStop__Output | null);
  'msg'?: "start"|"stop";
}
