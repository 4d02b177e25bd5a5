// Original file: proto/xlb/v1/xlb.proto

import type { CaptureFilter as _xlb_v1_CaptureFilter, CaptureFilter__Output as _xlb_v1_CaptureFilter__Output } from '../../xlb/v1/CaptureFilter.js';
import type { CapturePoints as _xlb_v1_CapturePoints, CapturePoints__Output as _xlb_v1_CapturePoints__Output } from '../../xlb/v1/CapturePoints.js';
import type { CaptureFormat as _xlb_v1_CaptureFormat, CaptureFormat__Output as _xlb_v1_CaptureFormat__Output } from '../../xlb/v1/CaptureFormat.js';
import type { Long } from '@grpc/proto-loader';

export interface RecordStart {
  /**
   * 1..64 filters. (The datapath holds a bounded number of rules across all recordings; a start
   * that would exceed it fails with FAILED_PRECONDITION.)
   */
  'filters'?: (_xlb_v1_CaptureFilter)[];
  /**
   * Bytes captured per packet; 0 = the server's default (the whole packet up to its maximum).
   */
  'snaplen'?: (number);
  'points'?: (_xlb_v1_CapturePoints);
  /**
   * Stop conditions, 0 = no limit. The first one reached ends the recording; with none set the
   * recording runs until the client sends stop or goes away.
   */
  'maxPackets'?: (number | string | Long);
  /**
   * Sum of captured lengths (caplen) of the recorded packets. The file never holds more: the
   * packet that would exceed it ends the recording unwritten.
   */
  'maxBytes'?: (number | string | Long);
  'maxDurationMs'?: (number | string | Long);
  'format'?: (_xlb_v1_CaptureFormat);
}

export interface RecordStart__Output {
  /**
   * 1..64 filters. (The datapath holds a bounded number of rules across all recordings; a start
   * that would exceed it fails with FAILED_PRECONDITION.)
   */
  'filters': (_xlb_v1_CaptureFilter__Output)[];
  /**
   * Bytes captured per packet; 0 = the server's default (the whole packet up to its maximum).
   */
  'snaplen': (number);
  'points': (_xlb_v1_CapturePoints__Output);
  /**
   * Stop conditions, 0 = no limit. The first one reached ends the recording; with none set the
   * recording runs until the client sends stop or goes away.
   */
  'maxPackets': (string);
  /**
   * Sum of captured lengths (caplen) of the recorded packets. The file never holds more: the
   * packet that would exceed it ends the recording unwritten.
   */
  'maxBytes': (string);
  'maxDurationMs': (string);
  'format': (_xlb_v1_CaptureFormat__Output);
}
