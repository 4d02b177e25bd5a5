// Original file: proto/xlb/v1/xlb.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Counts are of records: one per packet and observation point (with points BOTH a balanced
 * packet is recorded twice, as received and as sent).
 */
export interface RecordStats {
  /**
   * Packets that matched a filter of this recording in the datapath. Packets the datapath still
   * delivered after max_packets / max_bytes ended the file are not counted.
   */
  'matched'?: (number | string | Long);
  /**
   * Packets written to the stream.
   */
  'captured'?: (number | string | Long);
  /**
   * Matched packets that did not reach the stream: the kernel's ring buffer was full, or the
   * client read too slowly and the server's buffer for this stream was full.
   * matched = captured + lost once the recording has ended.
   */
  'lost'?: (number | string | Long);
  /**
   * Sum of the captured lengths (caplen) written so far: what max_bytes limits.
   */
  'capturedBytes'?: (number | string | Long);
}

/**
 * Counts are of records: one per packet and observation point (with points BOTH a balanced
 * packet is recorded twice, as received and as sent).
 */
export interface RecordStats__Output {
  /**
   * Packets that matched a filter of this recording in the datapath. Packets the datapath still
   * delivered after max_packets / max_bytes ended the file are not counted.
   */
  'matched': (string);
  /**
   * Packets written to the stream.
   */
  'captured': (string);
  /**
   * Matched packets that did not reach the stream: the kernel's ring buffer was full, or the
   * client read too slowly and the server's buffer for this stream was full.
   * matched = captured + lost once the recording has ended.
   */
  'lost': (string);
  /**
   * Sum of the captured lengths (caplen) written so far: what max_bytes limits.
   */
  'capturedBytes': (string);
}
