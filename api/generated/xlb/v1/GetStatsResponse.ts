// Original file: proto/xlb/v1/xlb.proto

import type { ServiceStats as _xlb_v1_ServiceStats, ServiceStats__Output as _xlb_v1_ServiceStats__Output } from '../../xlb/v1/ServiceStats.js';
import type { NamedCounter as _xlb_v1_NamedCounter, NamedCounter__Output as _xlb_v1_NamedCounter__Output } from '../../xlb/v1/NamedCounter.js';
import type { FlowTableStats as _xlb_v1_FlowTableStats, FlowTableStats__Output as _xlb_v1_FlowTableStats__Output } from '../../xlb/v1/FlowTableStats.js';
import type { IcmpStats as _xlb_v1_IcmpStats, IcmpStats__Output as _xlb_v1_IcmpStats__Output } from '../../xlb/v1/IcmpStats.js';
import type { Long } from '@grpc/proto-loader';

export interface GetStatsResponse {
  'services'?: (_xlb_v1_ServiceStats)[];
  'verdicts'?: (_xlb_v1_NamedCounter)[];
  'drops'?: (_xlb_v1_NamedCounter)[];
  'flowTable'?: (_xlb_v1_FlowTableStats | null);
  'icmp'?: (_xlb_v1_IcmpStats | null);
  /**
   * Wall-clock time the counters were read, in milliseconds since the Unix epoch (for rates).
   */
  'timestampMs'?: (number | string | Long);
}

export interface GetStatsResponse__Output {
  'services': (_xlb_v1_ServiceStats__Output)[];
  'verdicts': (_xlb_v1_NamedCounter__Output)[];
  'drops': (_xlb_v1_NamedCounter__Output)[];
  'flowTable': (_xlb_v1_FlowTableStats__Output | null);
  'icmp': (_xlb_v1_IcmpStats__Output | null);
  /**
   * Wall-clock time the counters were read, in milliseconds since the Unix epoch (for rates).
   */
  'timestampMs': (string);
}
