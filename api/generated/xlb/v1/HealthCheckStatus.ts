// Original file: proto/xlb/v1/xlb.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Health checking as a whole.
 */
export interface HealthCheckStatus {
  /**
   * Backends probed (over every service with a check), and how many are in each state.
   */
  'checkedBackends'?: (number);
  'up'?: (number);
  'down'?: (number);
  'unknown'?: (number);
  /**
   * Probes running now, and probes that had to wait for a free slot since start (a growing figure
   * means the intervals are not being kept: raise health.max_concurrency or the intervals).
   */
  'inFlight'?: (number);
  'lateProbes'?: (number | string | Long);
  /**
   * The tc egress program of tunnel-mode probes is attached (it is attached on first use).
   */
  'tunnelAttached'?: (boolean);
  /**
   * Why tunnel-mode probes cannot run (empty when they can).
   */
  'tunnelError'?: (string);
  /**
   * Services whose every backend is down, and those of them that fail open.
   */
  'allDownServices'?: (string)[];
  'failingOpenServices'?: (string)[];
  /**
   * Probes finished since start, by result.
   */
  'probesOk'?: (number | string | Long);
  'probesFailed'?: (number | string | Long);
}

/**
 * Health checking as a whole.
 */
export interface HealthCheckStatus__Output {
  /**
   * Backends probed (over every service with a check), and how many are in each state.
   */
  'checkedBackends': (number);
  'up': (number);
  'down': (number);
  'unknown': (number);
  /**
   * Probes running now, and probes that had to wait for a free slot since start (a growing figure
   * means the intervals are not being kept: raise health.max_concurrency or the intervals).
   */
  'inFlight': (number);
  'lateProbes': (string);
  /**
   * The tc egress program of tunnel-mode probes is attached (it is attached on first use).
   */
  'tunnelAttached': (boolean);
  /**
   * Why tunnel-mode probes cannot run (empty when they can).
   */
  'tunnelError': (string);
  /**
   * Services whose every backend is down, and those of them that fail open.
   */
  'allDownServices': (string)[];
  'failingOpenServices': (string)[];
  /**
   * Probes finished since start, by result.
   */
  'probesOk': (string);
  'probesFailed': (string);
}
