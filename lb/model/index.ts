// The public door of the control plane's model: identities, addresses, validation, desired state.
export { ValidationError, GRPC_STATUS, type ErrorCode, invalid, joinField, describeValue } from './errors.js';
export {
  type AddressFamily,
  type IpAddress,
  type IpPrefix,
  parseIp,
  parseUnicastIp,
  parsePrefix,
  formatIp,
  compareIp,
  unusableAddressReason,
  toDatapathBytes,
  prefixContains,
} from './address.js';
export { ReservedAddresses, type ReservedAddress } from './reserved.js';
export { parseServiceId, formatServiceId, canonicalServiceId, parseProtocol } from './service-id.js';
export * from './types.js';
export {
  isPlainObject,
  validateService,
  validateBackend,
  validateServiceKey,
  validateFlags,
  validateName,
  validateWeight,
  validateTableSize,
  defaultTableSize,
  validateKubernetesRef,
  checkMaglevShares,
  DEFAULT_WEIGHT,
  MAX_WEIGHT,
  MAX_NAME_LENGTH,
  type ValidatedService,
  type ValidatedBackend,
} from './validate.js';
export { IdAllocator, type IdAllocatorSnapshot, type RetiredId } from './ids.js';
export type { IdKind } from './transaction.js';
export { compareServices, serviceSortKey } from './order.js';
export {
  DesiredState,
  DEFAULT_ID_REUSE_DELAY_MS,
  diffIsEmpty,
  diffService,
  type DesiredStateOptions,
  type StateDiff,
  type ServiceChange,
  type BackendChange,
  type UpdateBackendPatch,
  type Transaction,
  type CommittedChange,
  type ChangeRecord,
  snapshotService,
  type StateSnapshot,
  type SnapshotService,
  type SnapshotBackend,
} from './desired-state.js';
export {
  type CheckKind,
  type CheckMode,
  type CheckOverride,
  type HealthCheckInput,
  type HealthCheckSpec,
  type StatusRange,
  CHECK_KINDS,
  CHECK_MODES,
  HEALTH_CHECK_DEFAULTS,
  HEALTH_CHECK_LIMITS,
  HEALTH_CHECK_KEYS,
  validateHealthCheck,
  validateCheckOverride,
  parseDuration,
  formatDuration,
  formatStatusRange,
  sameHealthCheck,
  healthCheckToDocument,
  healthCheckInputFromDocument,
} from './health-check.js';
export { servicesFromDocument, serviceInputFromDocument, backendInputFromDocument, checkKeys } from './document.js';
