// Byte layouts of the health-probe tunnel program's maps (bpf/health/structs.h), declared once with
// libbpf-ts's struct codec. The only TS code that knows them; a test compares each struct with the
// BTF of xlb_health.o.
import { be16, bytes, pad, struct, u64, u8, type Struct } from '../../bpf/libbpf-ts/index.js';

const addr16 = () => bytes(16, 4);

/** health_probes key: the probe socket's local port and protocol, and the inner family. */
export const HealthProbeKey = struct('health_probe_key', { sport: be16, proto: u8, family: u8 });
/** health_probes value: the probe's VIP:port and the backend (outer destination) and outer source. */
export const HealthProbeTarget = struct('health_probe_target', {
  vip: addr16(),
  backend: addr16(),
  outerSrc: addr16(),
  vipPort: be16,
  backendFamily: u8,
  pad: pad(1),
});
export const HealthCounter = struct('health_counter', { packets: u64, bytes: u64 });

/** Every struct declared here: the BTF layout test checks each one. */
export const HEALTH_STRUCTS: readonly Struct<unknown>[] = [HealthProbeKey, HealthProbeTarget, HealthCounter];

/** health_stats indexes, in enum health_stat order. */
export const HEALTH_COUNTER_NAMES = ['ipip', 'ip6ip6', 'ip4in6', 'mismatch', 'failed'] as const;
export type HealthCounterName = (typeof HEALTH_COUNTER_NAMES)[number];

export const HEALTH_PROGRAM_NAME = 'xlb_health';
export const HEALTH_MAP = { probes: 'health_probes', stats: 'health_stats' } as const;
export const HEALTH_CONST = { portMin: 'cfg_port_min', portMax: 'cfg_port_max' } as const;
