// Shared helpers for the libbpf-ts tests: unique names, bpffs pin directories, network namespaces
// with a veth pair. Everything created here is removed by the matching cleanup function, which the
// tests call from afterAll/finally so a failing test leaves nothing behind.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

export function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Short unique suffix: pid + random, so parallel runs and test files never collide. */
export function uniqueSuffix(): string {
  return `${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;
}

export function ensureBpffs(): void {
  try {
    sh('mountpoint', ['-q', '/sys/fs/bpf']);
  } catch {
    sh('mount', ['-t', 'bpf', 'bpf', '/sys/fs/bpf']);
  }
}

/** A fresh directory under /sys/fs/bpf; remove it with removePinDir. */
export function makePinDir(tag: string): string {
  ensureBpffs();
  const dir = `/sys/fs/bpf/libbpf-ts-${tag}-${uniqueSuffix()}`;
  mkdirSync(dir);
  return dir;
}

/** bpffs has no recursive rmdir semantics beyond unlink per entry; rmSync handles both. */
export function removePinDir(dir: string): void {
  try {
    for (const f of readdirSync(dir)) rmSync(`${dir}/${f}`, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  } catch {
    // already gone
  }
}

/** Number of open fds of this process. */
export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

export interface VethPair {
  /** namespace names (under /run/netns) */
  nsA: string;
  nsB: string;
  /** interface names inside nsA / nsB */
  ifA: string;
  ifB: string;
  addrA: string;
  addrB: string;
}

/**
 * Two namespaces joined by a veth pair with a /30 between them. Traffic stays inside these
 * namespaces. Always pair with destroyVethPair (it tolerates partial creation).
 */
export function createVethPair(tag: string): VethPair {
  const s = uniqueSuffix();
  const octet = 1 + (randomBytes(1)[0] % 250);
  const pair: VethPair = {
    nsA: `lbts-${tag}-a-${s}`,
    nsB: `lbts-${tag}-b-${s}`,
    ifA: 'veth-a',
    ifB: 'veth-b',
    addrA: `10.213.${octet}.1`,
    addrB: `10.213.${octet}.2`,
  };
  const tmpA = `lta${s}`.slice(0, 15);
  const tmpB = `ltb${s}`.slice(0, 15);
  try {
    sh('ip', ['netns', 'add', pair.nsA]);
    sh('ip', ['netns', 'add', pair.nsB]);
    sh('ip', ['link', 'add', tmpA, 'type', 'veth', 'peer', 'name', tmpB]);
    sh('ip', ['link', 'set', tmpA, 'netns', pair.nsA, 'name', pair.ifA]);
    sh('ip', ['link', 'set', tmpB, 'netns', pair.nsB, 'name', pair.ifB]);
    sh('ip', ['-n', pair.nsA, 'addr', 'add', `${pair.addrA}/30`, 'dev', pair.ifA]);
    sh('ip', ['-n', pair.nsB, 'addr', 'add', `${pair.addrB}/30`, 'dev', pair.ifB]);
    for (const [ns, dev] of [[pair.nsA, pair.ifA], [pair.nsB, pair.ifB]] as const) {
      sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
  } catch (e) {
    destroyVethPair(pair);
    try {
      sh('ip', ['link', 'del', tmpA]);
    } catch {
      // moved or never created
    }
    throw e;
  }
  return pair;
}

export function destroyVethPair(pair: VethPair): void {
  for (const ns of [pair.nsA, pair.nsB]) {
    try {
      sh('ip', ['netns', 'del', ns]);
    } catch {
      // not created
    }
  }
}

/** Sends `count` UDP datagrams from nsA to addrB (bash's /dev/udp: no extra tools needed). */
export function sendUdp(pair: VethPair, count: number, port = 9): void {
  const script = `for i in $(seq ${count}); do echo ping-$i > /dev/udp/${pair.addrB}/${port}; done`;
  sh('ip', ['netns', 'exec', pair.nsA, 'bash', '-c', script]);
}
