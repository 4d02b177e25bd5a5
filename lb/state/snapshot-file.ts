// The snapshot file: the whole desired state as of journal record `journal_seq`, replaced
// atomically (atomic-write.ts). Version 2 adds journal_seq; version 1 files (written before the
// journal existed, one full rewrite per change) load as journal_seq 0.
//
// Written one service per line, so that a state of 10 000 services is still readable with less
// and grep, and can be serialised in slices that leave the event loop free in between.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { snapshotService, type IdAllocatorSnapshot, type Service } from '../model/index.js';

export const STATE_FORMAT = 'xlb-desired-state';
export const STATE_VERSION = 2;
/** Versions this xlbd reads. */
export const READABLE_VERSIONS: readonly number[] = [1, 2];

/** Everything a snapshot holds, captured at one instant (services are immutable objects). */
export interface SnapshotCapture {
  services: readonly Service[];
  serviceIds: IdAllocatorSnapshot;
  backendIds: IdAllocatorSnapshot;
  seq: number;
}

const SLICE = 500;

/** The snapshot document as text, built in slices of services with a turn of the event loop in between. */
export async function snapshotText(c: SnapshotCapture, now: number, o: { yieldEvery?: number } = {}): Promise<Buffer> {
  const parts: Buffer[] = [];
  const head = `{"format":${JSON.stringify(STATE_FORMAT)},"version":${STATE_VERSION},"saved_at":${JSON.stringify(new Date(now).toISOString())},"journal_seq":${c.seq},"state":{\n`;
  parts.push(Buffer.from(`${head}"service_ids":${JSON.stringify(c.serviceIds)},\n"backend_ids":${JSON.stringify(c.backendIds)},\n"services":[`, 'utf8'));
  const slice = o.yieldEvery ?? SLICE;
  for (let i = 0; i < c.services.length; i += slice) {
    if (i > 0) await nextTurn();
    const end = Math.min(c.services.length, i + slice);
    let text = '';
    for (let j = i; j < end; j++) text += `${j === 0 ? '' : ','}\n${JSON.stringify(snapshotService(c.services[j]!))}`;
    parts.push(Buffer.from(text, 'utf8'));
  }
  parts.push(Buffer.from('\n]}}\n', 'utf8'));
  return Buffer.concat(parts);
}
