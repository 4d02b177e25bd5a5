// The recorder's boot-time → wall-clock offset, measured with its BPF clock probe
// (bpf/probes/xlb_rec_clock.c, loaded into the kernel: root), against /proc/uptime.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BootClock } from '../../recorder/clock.js';

describe('boot time → wall clock (BPF clock probe)', () => {
  it('the offset puts boot time 0 where /proc/uptime says the machine booted', () => {
    const clock = new BootClock();
    try {
      const { offsetNs, uncertaintyNs } = clock.offset;
      expect(uncertaintyNs).toBeLessThan(50_000);
      const uptimeS = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
      const bootedAtS = Date.now() / 1000 - uptimeS;
      // /proc/uptime has 10 ms resolution.
      expect(Math.abs(Number(offsetNs) / 1e9 - bootedAtS)).toBeLessThan(0.05);
      // Two measurements agree far better than that.
      const again = clock.refresh();
      expect(Math.abs(Number(again.offsetNs - offsetNs))).toBeLessThan(50_000);
      expect(clock.toWallNs(0n)).toBe(again.offsetNs);
    } finally {
      clock.close();
    }
  });

});
