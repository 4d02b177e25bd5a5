// Original file: proto/xlb/v1/xlb.proto

import type { Long } from '@grpc/proto-loader';

export interface RecordStats {
  /**
   * Packets that matched a filter of this recording in the datapath.
   */
  'matched'?: (number | string | Long);
  /**
   * Packets written to the stream.
   */
  'captured'?: (number | string | Long);
  /**
   * Matched packets the kernel could not deliver (ring buffer full); matched = captured + lost
   * once the recording has ended.
   */
  'lost'?: (number | string | Long);
}

export interface RecordStats__Output {
  /**
   * Packets that matched a filter of this recording in the datapath.
   */
  'matched': (string);
  /**
   * Packets written to the stream.
   */
  'captured': (string);
  /**
   * Matched packets the kernel could not deliver (ring buffer full); matched = captured + lost
   * once the recording has ended.
   */
  'lost': (string);
}
