// The public door of xlbd's configuration.
export { ConfigError } from './errors.js';
export { resolveConfig, reservedFromConfig, type ResolveInput } from './resolve.js';
export { loadConfig, type LoadConfigOptions } from './load.js';
export { xlbdCommand, parseXlbdArgs, flagsFromOptions, CommanderError } from './flags.js';
export { parseListen, parseTcpListen } from './listen.js';
export { YamlSource, parsePath } from './yaml-source.js';
export {
  DEFAULTS,
  KUBERNETES_DEFAULTS,
  DEFAULT_CONFIG_PATH,
  DEFAULT_INSTANCE,
  DEFAULT_STATE_DIR,
  STATE_FILE_NAME,
  defaultApiListen,
  defaultBpffsDir,
} from './defaults.js';
export { parseCommunity, formatCommunity, BGP_DEFAULTS, type BgpConfig, type BgpNeighbor } from './bgp.js';
export { HEALTH_DEFAULTS, type HealthSettings } from './health.js';
export type { XlbdConfig, XlbdFlags, XdpMode, EncapSource, ListenAddress, ApiTls, KubernetesConfig, AddressPool, PoolPrefix } from './types.js';
