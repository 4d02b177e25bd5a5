// The public door of desired-state persistence: a snapshot file plus an append-only journal.
export { writeFileAtomic, defaultAtomicWriteIo, NotDurableError, type AtomicWriteIo, type AtomicWriteOptions } from './atomic-write.js';
export { defaultJournalIo, journalFiles, type JournalIo } from './journal.js';
export { READABLE_VERSIONS } from './snapshot-file.js';
export {
  saveDesiredState,
  loadDesiredState,
  restoreDesiredState,
  serializeState,
  StateFileError,
  StateStore,
  STATE_FORMAT,
  STATE_VERSION,
  type LoadResult,
  type RestoreResult,
  type SaveOptions,
  type StateStoreOptions,
} from './store.js';
