// Which configuration changes a reload cannot apply to the running daemon: load-time constants and
// map sizes of the datapath, the attached interface, and the listeners. They are reported; the
// running values stay until the next restart.
import type { XlbdConfig } from '../config/index.js';

export function restartOnlyChanges(running: XlbdConfig, next: XlbdConfig): string[] {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const checks: Array<[string, unknown, unknown]> = [
    ['instance', running.instance, next.instance],
    ['interfaces', running.interfaces, next.interfaces],
    ['xdp_mode', running.xdpMode, next.xdpMode],
    ['mtu', running.mtu, next.mtu],
    ['maglev', running.maglev, next.maglev],
    ['maps', running.maps, next.maps],
    ['limits', running.limits, next.limits],
    ['recorder', running.recorder, next.recorder],
    ['api', running.api, next.api],
    ['metrics', running.metrics, next.metrics],
    ['state_dir', running.stateDir, next.stateDir],
    ['bpffs_dir', running.bpffsDir, next.bpffsDir],
    ['health', running.health, next.health],
    ['bgp', running.bgp, next.bgp],
    ['kubernetes', running.kubernetes, next.kubernetes],
  ];
  return checks.filter(([, a, b]) => !same(a, b)).map(([name]) => name);
}
