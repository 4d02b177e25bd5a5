// The public door of the reconciler: desired state (lb/model) → datapath (lb/datapath) + state file.
export { Reconciler, ReconcileError, type ReconcilerOptions, type ReconcilerLogger, type ChangeResult, type ChangeStore } from './reconciler.js';
export { syncDatapath, syncDatapathBulk, datapathServiceOf, datapathBackendsOf, BULK_TABLES, type DatapathPort, type BackendFilter, type SyncReport, type SyncOptions, type BulkSyncOptions } from './sync.js';
export { TableBuilders } from './table-builders.js';
export { SerialQueue } from './queue.js';
