// What the gRPC server needs from the daemon. xlbd's Daemon implements it; the server knows
// nothing about datapaths, files or signals.
import type { StatsReport, StatusReport } from '../../lb/daemon/reports.js';
import type { DesiredState, StateDiff } from '../../lb/model/index.js';
import type { ChangeResult } from '../../lb/reconciler/index.js';

export interface LoadBalancerControl {
  /** The committed desired state (read-only). */
  readonly state: DesiredState;
  /**
   * Runs `op` on a copy of the state; unless dryRun, programs the datapath and persists, and
   * resolves only after the datapath reflects the change. ValidationError (lb/model) for a rejected
   * request, ReconcileError (lb/reconciler) when the kernel or the disk failed (nothing changed).
   */
  change(op: (draft: DesiredState) => StateDiff, o?: { dryRun?: boolean }): Promise<ChangeResult>;
  /** Counters; `serviceId` restricts the per-service part (ValidationError NOT_FOUND if unknown). */
  stats(serviceId?: string): StatsReport;
  status(): StatusReport;
}
