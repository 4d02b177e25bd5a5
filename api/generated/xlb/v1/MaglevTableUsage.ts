// Original file: proto/xlb/v1/xlb.proto

import type { Long } from '@grpc/proto-loader';

export interface MaglevTableUsage {
  'tableSize'?: (number);
  /**
   * Services with a table of this size.
   */
  'tables'?: (number);
  /**
   * Their kernel memory in bytes.
   */
  'memoryBytes'?: (number | string | Long);
}

export interface MaglevTableUsage__Output {
  'tableSize': (number);
  /**
   * Services with a table of this size.
   */
  'tables': (number);
  /**
   * Their kernel memory in bytes.
   */
  'memoryBytes': (string);
}
