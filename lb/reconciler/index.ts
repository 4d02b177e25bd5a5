// The public door of the reconciler: desired state (lb/model) → datapath (lb/datapath) + state file.
export { Reconciler, ReconcileError, type ReconcilerOptions, type ReconcilerLogger, type ChangeResult, type ChangeStore } from './reconciler.js';
export { syncDatapath, datapathServiceOf, datapathBackendsOf, type DatapathPort, type SyncReport, type SyncOptions } from './sync.js';
export { SerialQueue } from './queue.js';
