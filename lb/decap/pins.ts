// bpffs housekeeping for the decap attachment: where an instance pins its program and maps, and
// making sure that place really is a bpffs (pins elsewhere fail with an unhelpful EPERM).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmdirSync, statSync, statfsSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export const BPFFS_ROOT = '/sys/fs/bpf';
export const DECAP_PIN_ROOT = `${BPFFS_ROOT}/xlb/decap`;
const BPF_FS_MAGIC = 0xcafe4a11;

/** config: the program's .rodata (its load-time constants), pinned so status can show them. */
export const PIN_NAMES = { prog: 'prog', addrs: 'decap_addrs', sources: 'decap_sources', stats: 'decap_stats', config: 'config' } as const;

export function pinPaths(pinDir: string) {
  return {
    prog: join(pinDir, PIN_NAMES.prog),
    addrs: join(pinDir, PIN_NAMES.addrs),
    sources: join(pinDir, PIN_NAMES.sources),
    stats: join(pinDir, PIN_NAMES.stats),
    config: join(pinDir, PIN_NAMES.config),
  };
}

function isBpffs(path: string): boolean {
  try {
    return statfsSync(path).type === BPF_FS_MAGIC;
  } catch {
    return false;
  }
}

/** bpffs is not mounted at boot on Debian; the decap pins need it. */
export function ensureBpffsMounted(): void {
  if (isBpffs(BPFFS_ROOT)) return;
  execFileSync('mount', ['-t', 'bpf', 'bpf', BPFFS_ROOT], { stdio: 'pipe' });
}

/** Creates pinDir (and parents) and checks it lives on a bpffs. */
export function preparePinDir(pinDir: string): void {
  ensureBpffsMounted();
  let probe = pinDir;
  while (!existsSync(probe)) probe = dirname(probe);
  if (!isBpffs(probe)) throw new Error(`decap: pinDir ${pinDir} is not on a bpffs (mount one or use a path under ${BPFFS_ROOT})`);
  mkdirSync(pinDir, { recursive: true });
}

/**
 * Instance name for the default pin dir: every lab node's NIC may be called eth0 and all of them
 * share the host's bpffs, so the network namespace is part of the name.
 */
export function defaultPinDir(ifname: string, netnsPath?: string): string {
  let ns = 'host';
  if (netnsPath) {
    ns = dirname(netnsPath) === '/run/netns' ? basename(netnsPath) : `netns-${statSync(netnsPath).ino}`;
  }
  return join(DECAP_PIN_ROOT, `${ns}_${ifname}`);
}

export function unpinIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Removes the instance dir if nothing else was pinned in it. */
export function removePinDirIfEmpty(pinDir: string): void {
  try {
    if (readdirSync(pinDir).length === 0) rmdirSync(pinDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
