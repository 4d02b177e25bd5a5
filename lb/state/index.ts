// The public door of desired-state persistence.
export { writeFileAtomic, defaultAtomicWriteIo, NotDurableError, type AtomicWriteIo, type AtomicWriteOptions } from './atomic-write.js';
export {
  saveDesiredState,
  loadDesiredState,
  restoreDesiredState,
  serializeState,
  StateFileError,
  STATE_FORMAT,
  STATE_VERSION,
  type LoadResult,
  type RestoreResult,
  type SaveOptions,
} from './store.js';
