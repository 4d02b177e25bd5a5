// Original file: proto/xlb/v1/xlb.proto

import type { Long } from '@grpc/proto-loader';

export interface FlowTableStats {
  /**
   * Lookups that found an established flow whose backend is still valid.
   */
  'hits'?: (number | string | Long);
  /**
   * Lookups that found nothing (or a stale entry) and ran Maglev.
   */
  'misses'?: (number | string | Long);
  /**
   * Entries created.
   */
  'newFlows'?: (number | string | Long);
  /**
   * Configured capacity (flow map max_entries).
   */
  'capacity'?: (number | string | Long);
}

export interface FlowTableStats__Output {
  /**
   * Lookups that found an established flow whose backend is still valid.
   */
  'hits': (string);
  /**
   * Lookups that found nothing (or a stale entry) and ran Maglev.
   */
  'misses': (string);
  /**
   * Entries created.
   */
  'newFlows': (string);
  /**
   * Configured capacity (flow map max_entries).
   */
  'capacity': (string);
}
