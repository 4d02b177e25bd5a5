// Original file: proto/xlb/v1/xlb.proto

import type { BackendStats as _xlb_v1_BackendStats, BackendStats__Output as _xlb_v1_BackendStats__Output } from '../../xlb/v1/BackendStats.js';
import type { ServiceHealth as _xlb_v1_ServiceHealth, ServiceHealth__Output as _xlb_v1_ServiceHealth__Output } from '../../xlb/v1/ServiceHealth.js';
import type { Long } from '@grpc/proto-loader';

export interface ServiceStats {
  'serviceId'?: (string);
  /**
   * Packets and bytes to the VIP that matched this service, whatever their verdict.
   */
  'packets'?: (number | string | Long);
  'bytes'?: (number | string | Long);
  'backends'?: (_xlb_v1_BackendStats)[];
  /**
   * Absent when the service has no health check.
   */
  'health'?: (_xlb_v1_ServiceHealth | null);
}

export interface ServiceStats__Output {
  'serviceId': (string);
  /**
   * Packets and bytes to the VIP that matched this service, whatever their verdict.
   */
  'packets': (string);
  'bytes': (string);
  'backends': (_xlb_v1_BackendStats__Output)[];
  /**
   * Absent when the service has no health check.
   */
  'health': (_xlb_v1_ServiceHealth__Output | null);
}
