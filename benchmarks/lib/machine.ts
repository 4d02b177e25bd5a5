// What the figures were measured on. Every number in a report is read next to this: a 2-core VM
// with a busy neighbour and a bare-metal server give different absolute values, while the ratios
// against a floor measured in the same run travel better.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { repoRoot } from '../../test/lab/index.js';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  /** From /sys/hypervisor or lscpu when the machine is a VM; otherwise undefined. */
  hypervisor: string | undefined;
  clocksource: string | undefined;
  /** /proc/sys/net/core/bpf_jit_enable: 1 = programs are JIT-compiled. */
  bpfJit: string | undefined;
  node: string;
  /** Git commit of the checkout that was measured (with '-dirty' if it had local changes). */
  commit: string | undefined;
}

function readTrimmed(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function run(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], cwd: repoRoot }).trim();
  } catch {
    return undefined;
  }
}

function hypervisorVendor(): string | undefined {
  const line = run('lscpu', [])?.split('\n').find((l) => l.startsWith('Hypervisor vendor:'));
  return line?.split(':')[1]?.trim();
}

function gitCommit(): string | undefined {
  const head = run('git', ['rev-parse', '--short=12', 'HEAD']);
  if (head === undefined) return undefined;
  const dirty = run('git', ['status', '--porcelain', '--untracked-files=no']);
  return dirty ? `${head}-dirty` : head;
}

export function describeMachine(): MachineInfo {
  const cpuList = cpus();
  return {
    cpuModel: cpuList[0]?.model ?? 'unknown',
    cores: cpuList.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    hypervisor: hypervisorVendor(),
    clocksource: readTrimmed('/sys/devices/system/clocksource/clocksource0/current_clocksource'),
    bpfJit: readTrimmed('/proc/sys/net/core/bpf_jit_enable'),
    node: process.version,
    commit: gitCommit(),
  };
}

/** 1-, 5- and 15-minute load averages. */
export function loadAverage(): [number, number, number] {
  const [a, b, c] = loadavg();
  return [a!, b!, c!];
}

export function machineLine(m: MachineInfo): string {
  const vm = m.hypervisor ? ` (${m.hypervisor} VM)` : '';
  return `${m.cores} × ${m.cpuModel}${vm}, ${m.memoryGiB} GiB, Linux ${m.kernel}, clocksource ${m.clocksource ?? '?'}, BPF JIT ${m.bpfJit === '1' ? 'on' : (m.bpfJit ?? '?')}, Node ${m.node}`;
}
