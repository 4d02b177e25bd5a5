// Pins need a bpf filesystem. It is not always mounted at boot (Debian 12 is one such system), so
// xlbd mounts it on /sys/fs/bpf when its pin directory lives there and nothing is mounted yet.
import { execFileSync } from 'node:child_process';
import { existsSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';

export const BPFFS_MOUNT = '/sys/fs/bpf';
/** statfs f_type of bpffs (BPF_FS_MAGIC in linux/magic.h). */
const BPF_FS_MAGIC = 0xcafe4a11;

function nearestExisting(path: string): string {
  let p = path;
  while (!existsSync(p)) p = dirname(p);
  return p;
}

export function isOnBpffs(path: string): boolean {
  return statfsSync(nearestExisting(path)).type === BPF_FS_MAGIC;
}

/** Makes sure `pinDir` can hold pins; returns a note when it mounted bpffs. */
export function ensureBpffs(pinDir: string): string | undefined {
  if (isOnBpffs(pinDir)) return undefined;
  if (pinDir === BPFFS_MOUNT || pinDir.startsWith(`${BPFFS_MOUNT}/`)) {
    execFileSync('mount', ['-t', 'bpf', 'bpf', BPFFS_MOUNT], { stdio: ['ignore', 'ignore', 'pipe'] });
    if (isOnBpffs(pinDir)) return `mounted bpffs on ${BPFFS_MOUNT}`;
  }
  throw new Error(`bpffs_dir ${pinDir} is not on a bpf filesystem (mount -t bpf bpf ${BPFFS_MOUNT})`);
}
