// Which XDP programs this instance attached, kept next to the state file. On start an attached
// program counts as this instance's own (and may be replaced atomically) only if its id is in the
// record or is the pinned program; anything else on the interface belongs to someone else and is
// never touched. The record is written before every attach (old and new id), and narrowed to the
// new id after it, so a crash between the steps still leaves the attached program recognisable.
import { readFile, unlink } from 'node:fs/promises';
import { writeFileAtomic } from '../../state/index.js';

export interface AttachRecord {
  /** Program ids this instance has attached to `ifname`, the current one last. */
  [ifname: string]: { ifindex: number; progIds: number[]; mode: 'native' | 'generic' };
}

export async function readAttachRecord(path: string): Promise<AttachRecord> {
  try {
    const doc = JSON.parse(await readFile(path, 'utf8')) as { format?: string; interfaces?: AttachRecord };
    return doc.format === 'xlb-attach-record' && doc.interfaces && typeof doc.interfaces === 'object' ? doc.interfaces : {};
  } catch {
    // Missing or unreadable: nothing is recognised by record (the pinned program still is).
    return {};
  }
}

export async function writeAttachRecord(path: string, record: AttachRecord): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify({ format: 'xlb-attach-record', version: 1, interfaces: record }, null, 2)}\n`);
}

export async function removeAttachRecord(path: string): Promise<void> {
  await unlink(path).catch(() => undefined);
}
