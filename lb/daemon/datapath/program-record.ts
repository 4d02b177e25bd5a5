// Which built object the pinned program was loaded from, kept next to the state file. A restart
// that finds the pinned program's id and tag in the record, and the same object file (by content
// hash) to load, knows the program is the one it would load: it adopts without loading and
// verifying the object again just to compare tags (hundreds of ms of verifier time per start).
// Anything else (no record, another id, another object) falls back to the load-and-compare check.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile, unlink } from 'node:fs/promises';
import { bpfObjectPath } from '../../../bpf/objects.js';
import { writeFileAtomic } from '../../state/index.js';

export interface ProgramRecord {
  progId: number;
  tag: string;
  /** sha256 of the object file the program was loaded from (with the pinned load-time settings). */
  objectSha256: string;
}

/** sha256 of the object xlbd would load (the default build, or `objectPath`). */
export function objectSha256(objectPath: string | undefined): string {
  return createHash('sha256').update(readFileSync(objectPath ?? bpfObjectPath('xlb_lb'))).digest('hex');
}

export async function readProgramRecord(path: string): Promise<ProgramRecord | undefined> {
  try {
    const doc = JSON.parse(await readFile(path, 'utf8')) as { format?: string } & Partial<ProgramRecord>;
    if (doc.format !== 'xlb-program-record' || !Number.isInteger(doc.progId) || typeof doc.tag !== 'string' || typeof doc.objectSha256 !== 'string') return undefined;
    return { progId: doc.progId!, tag: doc.tag, objectSha256: doc.objectSha256 };
  } catch {
    // Missing or unreadable: the next start compares by loading, as without a record.
    return undefined;
  }
}

export async function writeProgramRecord(path: string, r: ProgramRecord): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify({ format: 'xlb-program-record', version: 1, ...r }, null, 2)}\n`);
}

export async function removeProgramRecord(path: string): Promise<void> {
  await unlink(path).catch(() => undefined);
}
