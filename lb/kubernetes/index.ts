// The door of the Kubernetes room: xlbd as the LoadBalancer implementation of a cluster.
export { KubernetesSource, type KubernetesSourceOptions, type KubernetesStatus, type LayerPort, type SourceLogger, type SyncReport } from './source.js';
export { ClientKubeApi, KubeError, loadKubeConfig, WATCHED, type KubeApi, type Watched, type WatchEvent } from './client.js';
export { translate, isOurs, type Problem, type ServicePlan, type Translation, type TranslateInput } from './translate.js';
export { Pools } from './pools.js';
export { ANNOTATIONS } from './annotations.js';
export { Reflector } from './reflector.js';
export { LeaderElector } from './leader.js';
export { EVENT_COMPONENT, REPORTING_CONTROLLER } from './events.js';
export { SERVICE_NAME_LABEL } from './wire.js';
