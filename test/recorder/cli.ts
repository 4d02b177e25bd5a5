// Running `xlb record` (api/cli/main.ts, transpiled on load) as a real child process on the host,
// and the recorder's kernel state read straight from the pinned maps (not through the daemon).
import { join } from 'node:path';
import { BpfMap } from '../../bpf/libbpf-ts/index.js';
import { repoRoot } from '../lab/paths.js';
import { RecCtl } from '../../lb/datapath/index.js';
import { LAB_SCRIPTS, LabProcess } from '../lab/lab.js';

export const XLB_CLI = join(repoRoot, 'api', 'cli', 'main.ts');

export function xlbArgv(server: string, args: string[]): string[] {
  return [process.execPath, '--import', LAB_SCRIPTS.tsRegister, XLB_CLI, '--server', server, ...args];
}

/** Starts `xlb --server SERVER ARGS…` in its own process group. */
export function spawnXlb(server: string, args: string[], description = `xlb ${args.join(' ')}`): LabProcess {
  return new LabProcess(description, xlbArgv(server, args));
}

/** Runs it to the end; rejects if it takes longer than timeoutMs. */
export async function runXlb(server: string, args: string[], timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = spawnXlb(server, args);
  const timer = setTimeout(() => p.killSync(), timeoutMs);
  try {
    const st = await p.exited;
    return { code: st.code, stdout: p.stdout, stderr: p.stderr };
  } finally {
    clearTimeout(timer);
  }
}

/** Rules in the datapath's index and the masks it searches, from the pinned maps of a datapath
 *  pinned in `dir`. activeRules counts distinct rules (recordings with the same rule share its
 *  index entry); recordingRules counts each recording's rules (the bits of the entries' bitmaps). */
export function pinnedRecorderState(dir: string): { activeRules: number; masks: number; recordingRules: number } {
  const index = BpfMap.openPinned(join(dir, 'rec_index'));
  const ctl = BpfMap.openPinned(join(dir, 'rec_ctl'));
  try {
    const keys = [...index.keys()];
    let recordingRules = 0;
    for (const k of keys) for (let bits = index.lookup(k)?.readBigUInt64LE(0) ?? 0n; bits; bits &= bits - 1n) recordingRules++;
    return { activeRules: keys.length, masks: RecCtl.decode(ctl.lookup(Buffer.alloc(4))!).nmasks, recordingRules };
  } finally {
    index.close();
    ctl.close();
  }
}

export async function until(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
