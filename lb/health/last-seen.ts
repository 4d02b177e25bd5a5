// The last seen health of every checked backend, kept next to the desired state so a restarted
// daemon starts where it left off (no flap: a backend that was down stays out of the table until
// it passes `rise` checks, one that was up stays in) — and then checks everything again at once.
// It is a hint, not truth: a missing, unreadable or foreign file just means "unknown".
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../state/index.js';
import type { LastSeenEntry } from './monitor.js';

export const LAST_SEEN_FORMAT = 'xlb-health-last-seen';

export async function loadLastSeen(path: string): Promise<{ entries: LastSeenEntry[]; problem?: string }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [] };
    return { entries: [], problem: `cannot read ${path}: ${(e as Error).message}` };
  }
  try {
    const doc = JSON.parse(text) as { format?: unknown; backends?: unknown };
    if (doc.format !== LAST_SEEN_FORMAT || !Array.isArray(doc.backends)) throw new Error('not a last-seen health file');
    const entries = doc.backends.filter(
      (e: Partial<LastSeenEntry>): e is LastSeenEntry =>
        typeof e?.service === 'string' && typeof e.address === 'string' && (e.status === 'up' || e.status === 'down') && Number.isFinite(e.sinceMs),
    );
    return { entries };
  } catch (e) {
    return { entries: [], problem: `ignoring ${path}: ${(e as Error).message}` };
  }
}

export async function saveLastSeen(path: string, entries: readonly LastSeenEntry[]): Promise<void> {
  const doc = { format: LAST_SEEN_FORMAT, savedAt: new Date().toISOString(), backends: entries };
  await writeFileAtomic(path, Buffer.from(`${JSON.stringify(doc, null, 1)}\n`));
}
