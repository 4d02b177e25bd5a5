// CPU time and resident memory of a process, read from /proc (Linux): what the recorder group
// reports for xlbd and `xlb record` while they capture.
import { readFileSync } from 'node:fs';

/** USER_HZ: the unit of utime / stime in /proc/PID/stat; 100 on every Linux architecture Node runs on. */
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system, all threads) the process has used so far; NaN once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces: count the fields after its closing parenthesis.
    const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(after[11]) + Number(after[12])) / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/** Resident set size in MiB (VmRSS); NaN once the process is gone. */
export function rssMiB(pid: number): number {
  try {
    const kib = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kib === undefined ? NaN : Number(kib) / 1024;
  } catch {
    return NaN;
  }
}

/** Samples a process's RSS every intervalMs until stopped; stop() returns the highest value seen. */
export function watchRss(pid: number, intervalMs = 50): { stop(): number } {
  let max = rssMiB(pid);
  const timer = setInterval(() => {
    const v = rssMiB(pid);
    if (!(v <= max)) max = Number.isNaN(max) ? v : Math.max(max, v);
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      const v = rssMiB(pid);
      return Number.isNaN(v) ? max : Math.max(max, v);
    },
  };
}
