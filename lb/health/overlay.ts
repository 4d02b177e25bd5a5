// The health overlay: which of a service's desired backends the datapath gets. Applied where the
// desired state becomes datapath programming (the reconciler asks for every service it writes), so
// the desired state itself never changes because a backend is down.
//   - no health check: every backend;
//   - otherwise every backend that is not down (unknown counts as up);
//   - when every active backend is down: all of them again (fail open, the default), or only the
//     backends that are not down (fail_open: false: new flows are dropped, counted no_backend).
import type { Backend, Service } from '../model/index.js';
import type { HealthStatus } from './state.js';

export interface OverlayResult {
  backends: readonly Backend[];
  /** Every active backend is down (whatever fail_open says). */
  allDown: boolean;
  /** allDown and fail_open: the down backends are kept. */
  failingOpen: boolean;
}

export function applyHealth(service: Service, statusOf: (address: string) => HealthStatus | undefined): OverlayResult {
  const check = service.healthCheck;
  if (!check) return { backends: service.backends, allDown: false, failingOpen: false };
  const healthy = service.backends.filter((b) => statusOf(b.address) !== 'down');
  const hadActive = service.backends.some((b) => b.state === 'active');
  const allDown = hadActive && !healthy.some((b) => b.state === 'active');
  if (allDown && check.failOpen) return { backends: service.backends, allDown, failingOpen: true };
  return { backends: healthy.length === service.backends.length ? service.backends : healthy, allDown, failingOpen: false };
}
