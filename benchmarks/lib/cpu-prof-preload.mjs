// Preload (`node --import`) for profiling a process from outside once it is up: the first SIGUSR2
// starts V8's sampling profiler, the second writes $XLB_PROF_DIR/<pid>-<n>.cpuprofile. Needed for
// xlbd: `--cpu-prof` profiles from the start, and its sampling signals interrupt the BPF verifier
// (the program load fails with EAGAIN).
import inspector from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.XLB_PROF_DIR ?? '.';
const session = new inspector.Session();
session.connect();
let running = false;
let n = 0;
process.on('SIGUSR2', () => {
  if (!running) {
    running = true;
    session.post('Profiler.enable', () =>
      session.post('Profiler.setSamplingInterval', { interval: Number(process.env.XLB_PROF_INTERVAL_US ?? 500) }, () => session.post('Profiler.start')),
    );
    return;
  }
  running = false;
  session.post('Profiler.stop', (err, r) => {
    if (!err) writeFileSync(join(dir, `${process.pid}-${n++}.cpuprofile`), JSON.stringify(r.profile));
  });
});
