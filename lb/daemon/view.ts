// What the rest of xlb may read from a running daemon (metrics, tests): a narrow, read-only view.
import type { EventEmitter } from 'node:events';
import type { XlbdConfig } from '../config/index.js';
import type { DatapathCounters } from '../datapath/index.js';
import type { NextHopFacts } from '../gateway/index.js';
import type { DesiredState } from '../model/index.js';
import type { TransitionEvent } from '../health/index.js';
import type { StatsReport, StatusReport } from '../../api/server/index.js';
import type { MetricsServiceSource } from '../metrics/index.js';

export interface DaemonEvents {
  /** A service's backend set (its Maglev table) was written to the datapath. */
  backendSet: [{ service: string; datapathId: number; seconds: number; backends: number }];
  /** A gRPC call finished (every service, health and reflection included). */
  apiRequest: [{ method: string; code: string; seconds: number }];
  /** SIGHUP / reload() finished. */
  reloaded: [{ ok: boolean; message: string }];
  /** Interface or gateway facts changed (e.g. the gateway's MAC). */
  gateway: [NextHopFacts];
  /** The crash guard caught an error nobody else did (logged; the daemon keeps running). */
  internalError: [{ origin: string }];
  /** A backend's health changed state. */
  health: [TransitionEvent];
}

export interface DaemonView extends Pick<EventEmitter<DaemonEvents>, 'on' | 'off' | 'once'> {
  readonly instance: string;
  readonly version: string;
  /** The configuration in effect (after the last successful reload). */
  readonly config: XlbdConfig;
  /** The committed desired state. */
  readonly state: DesiredState;
  /** Raw datapath counters, summed over CPUs (per service/backend datapath id). */
  counters(): DatapathCounters;
  /** Counters joined with the desired state (service ids, backend addresses, reason names). */
  stats(serviceId?: string): StatsReport;
  status(): StatusReport;
  /** stats() without the per-service part (what metrics read besides serviceSource()). */
  datapathStats(): StatsReport;
  /** The services and their counters by datapath id, for metrics to read slice by slice. */
  serviceSource(): MetricsServiceSource;
}
