// The journal on a real file system: a change is one appended line (the snapshot is not touched),
// load = snapshot + journal, a torn last record is dropped while damage elsewhere stops the load,
// a missing record is noticed, compaction keeps everything loadable at every step, and a version 1
// state file (one full rewrite per change, before the journal) still loads and is migrated.
import { appendFileSync, cpSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DesiredState, type Limits } from '../../lb/model/index.js';
import { defaultJournalIo, journalFiles, loadDesiredState, StateFileError, StateStore, type AtomicWriteIo, type JournalIo } from '../../lb/state/index.js';
import { caseDirs } from './case-dir.js';

const LIMITS: Limits = { maxServices: 2000, maxBackends: 4000, maxBackendsPerService: 32, maglevTableSize: 65537 };
const at = caseDirs('xlb-journal-test', true);

const options = { limits: LIMITS, reuseDelayMs: 60_000 };
const svc = (i: number, backends = 2) => ({
  id: `10.0.${i >> 8}.${i & 255}:80/tcp`,
  backends: Array.from({ length: backends }, (_, j) => ({ address: `10.1.${j}.${(i % 250) + 1}` })),
});

async function started(state = new DesiredState(options), o: ConstructorParameters<typeof StateStore>[2] = {}): Promise<{ store: StateStore; state: DesiredState }> {
  const loaded = await loadDesiredState(at.file, options);
  const store = new StateStore(at.file, loaded, o);
  await store.start(state, { compact: true });
  return { store, state };
}

/** Runs `op` as one change and appends it. */
async function change(store: StateStore, state: DesiredState, op: (s: DesiredState) => unknown): Promise<void> {
  const tx = state.begin();
  op(state);
  await store.append(tx.commit());
}

async function diskSnapshot() {
  return (await loadDesiredState(at.file, options)).state.toSnapshot();
}

describe('journal', () => {
  it('a change appends one line and leaves the snapshot alone; load = snapshot + journal', async () => {
    const { store, state } = await started();
    const snapshot = readFileSync(at.file, 'utf8');
    const mtime = statSync(at.file).mtimeMs;
    await change(store, state, (s) => s.create(svc(1)));
    await change(store, state, (s) => s.addBackend(svc(1).id, { address: '10.1.9.9' }));
    await change(store, state, (s) => s.create(svc(2)));
    await change(store, state, (s) => s.delete(svc(2).id));
    expect(readFileSync(at.file, 'utf8')).toBe(snapshot);
    expect(statSync(at.file).mtimeMs).toBe(mtime);
    const [journal] = journalFiles(at.file);
    expect(readFileSync(journal!.path, 'utf8').trim().split('\n')).toHaveLength(4);
    const loaded = await loadDesiredState(at.file, options);
    expect(loaded.replayed).toBe(4);
    expect(loaded.seq).toBe(4);
    expect(loaded.state.toSnapshot()).toEqual(state.toSnapshot());
    await store.close();
  });

  it('an Apply of 1000 services is one record', async () => {
    const { store, state } = await started();
    await change(store, state, (s) => s.apply(Array.from({ length: 1000 }, (_, i) => svc(i))));
    const [journal] = journalFiles(at.file);
    expect(readFileSync(journal!.path, 'utf8').trim().split('\n')).toHaveLength(1);
    expect((await diskSnapshot()).services).toHaveLength(1000);
    await store.close();
  });

  it('a torn last record (a crash during the write) is dropped; the records before it load', async () => {
    const { store, state } = await started();
    await change(store, state, (s) => s.create(svc(1)));
    const expected = state.toSnapshot();
    await change(store, state, (s) => s.create(svc(2)));
    await store.close();
    const [journal] = journalFiles(at.file);
    const lines = readFileSync(journal!.path, 'utf8').split('\n');
    // The last record cut in the middle, as a crash during write() leaves it.
    writeFileSync(journal!.path, `${lines[0]}\n${lines[1]!.slice(0, 40)}`);
    const loaded = await loadDesiredState(at.file, options);
    expect(loaded.tornJournal).toBe(true);
    expect(loaded.state.toSnapshot()).toEqual(expected);
    // Complete but with a bad checksum (a partly flushed page): dropped too.
    writeFileSync(journal!.path, `${lines[0]}\n${lines[1]!.replace('10.0.0.2', '10.0.0.3')}\n`);
    expect((await loadDesiredState(at.file, options)).state.toSnapshot()).toEqual(expected);
  });

  it('a damaged record followed by good ones, or a missing record, stops the load with the file named', async () => {
    const { store, state } = await started();
    for (let i = 1; i <= 3; i++) await change(store, state, (s) => s.create(svc(i)));
    await store.close();
    const [journal] = journalFiles(at.file);
    const good = readFileSync(journal!.path, 'utf8');
    const lines = good.trim().split('\n');
    writeFileSync(journal!.path, `${lines[0]}\n${lines[1]!.replace('"seq":2', '"seq":9')}\n${lines[2]}\n`);
    const damaged = await loadDesiredState(at.file, options).catch((e: unknown) => e);
    expect(damaged).toBeInstanceOf(StateFileError);
    expect((damaged as Error).message).toMatch(/journal damaged: .*journal\.\d+ line 2: checksum mismatch/);
    expect((damaged as StateFileError).copyPath).toMatch(/\.corrupt-/);
    writeFileSync(journal!.path, `${lines[0]}\n${lines[2]}\n`);
    const gap = await loadDesiredState(at.file, options).catch((e: unknown) => e);
    expect((gap as Error).message).toMatch(/journal record 3 follows record 1: records 2…2 are missing/);
  });

  it('compaction: triggered by size, never blocks appends, loadable at every step, old files removed', async () => {
    let stall!: () => void;
    let renameReached!: () => void;
    const reached = new Promise<void>((r) => (renameReached = r));
    let hold = false;
    const snapshotIo: Partial<AtomicWriteIo> = {
      rename: async (from, to) => {
        if (hold) {
          renameReached();
          await new Promise<void>((r) => (stall = r));
        }
        const { rename } = await import('node:fs/promises');
        await rename(from, to);
      },
    };
    const { store, state } = await started(undefined, { compactMinBytes: 2000, compactRatio: 1, snapshotIo });
    for (let i = 0; i < 40 && !store.wantsCompaction; i++) await change(store, state, (s) => s.create(svc(i)));
    expect(store.wantsCompaction).toBe(true);
    hold = true;
    const compaction = store.compact(state);
    await reached;
    // The snapshot is written but not renamed into place ("the process stops here") while changes go on.
    await change(store, state, (s) => s.create(svc(100)));
    expect(journalFiles(at.file)).toHaveLength(2);
    // What a restart would find now (in a copy: loading removes the temp file of the stalled write).
    const copy = `${at.dir}-crashed`;
    cpSync(at.dir, copy, { recursive: true });
    const crashed = await loadDesiredState(join(copy, 'desired-state.json'), options);
    expect(crashed.removedTempFiles).toHaveLength(1);
    expect(crashed.state.toSnapshot()).toEqual(state.toSnapshot());
    stall();
    await compaction;
    expect(journalFiles(at.file)).toHaveLength(1);
    const loaded = await loadDesiredState(at.file, options);
    expect(loaded.replayed).toBe(1);
    expect(loaded.state.toSnapshot()).toEqual(state.toSnapshot());
    expect(readdirSync(at.dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    await store.close();
  });

  it('a version 1 state file (before the journal) loads, and start() migrates it to version 2', async () => {
    const reference = new DesiredState(options);
    reference.apply([svc(1), svc(2, 3)]);
    reference.removeBackend(svc(2).id, '10.1.2.3');
    const v1 = { format: 'xlb-desired-state', version: 1, saved_at: new Date().toISOString(), state: reference.toSnapshot() };
    writeFileSync(at.file, `${JSON.stringify(v1, null, 2)}\n`);
    const loaded = await loadDesiredState(at.file, options);
    expect(loaded.version).toBe(1);
    expect(loaded.state.toSnapshot()).toEqual(reference.toSnapshot());
    const store = new StateStore(at.file, loaded);
    await store.start(loaded.state, { compact: true });
    expect(JSON.parse(readFileSync(at.file, 'utf8'))).toMatchObject({ version: 2, journal_seq: 0 });
    await change(store, loaded.state, (s) => s.create(svc(3)));
    expect((await diskSnapshot()).services).toHaveLength(3);
    await store.close();
  });

  it('appending to the last journal file of a crashed run never happens: start() opens a new generation', async () => {
    const { store, state } = await started();
    await change(store, state, (s) => s.create(svc(1)));
    await store.close();
    const [journal] = journalFiles(at.file);
    appendFileSync(journal!.path, '0badc0de {"seq":2'); // torn
    const loaded = await loadDesiredState(at.file, options);
    const next = new StateStore(at.file, loaded);
    await next.start(loaded.state, { compact: false }); // the journal files force a snapshot anyway
    await change(next, loaded.state, (s) => s.create(svc(2)));
    const again = await loadDesiredState(at.file, options);
    expect(again.tornJournal).toBe(false);
    expect(again.state.toSnapshot()).toEqual(loaded.state.toSnapshot());
    await next.close();
  });

  it("a new journal file's directory entry is synced before its first record is acknowledged (once per file); a failed directory sync fails the append", async () => {
    const dirSyncs: string[] = [];
    let failDir = false;
    const journalIo: JournalIo = {
      ...defaultJournalIo,
      syncDir: async (d) => {
        dirSyncs.push(d);
        if (failDir) throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
        await defaultJournalIo.syncDir(d);
      },
    };
    const { store, state } = await started(undefined, { journalIo });
    await change(store, state, (s) => s.create(svc(1)));
    await change(store, state, (s) => s.create(svc(2)));
    expect(dirSyncs).toEqual([at.dir]); // one journal at.file, one directory sync
    await store.close();

    const loaded = await loadDesiredState(at.file, options);
    const next = new StateStore(at.file, loaded, { journalIo });
    await next.start(loaded.state, { compact: false });
    failDir = true;
    const tx = loaded.state.begin();
    loaded.state.create(svc(3));
    await expect(next.append(tx.commit())).rejects.toThrow(/EIO/);
    await next.close().catch(() => undefined);
  });

  it('a snapshot whose directory sync fails (NotDurableError) is kept with a warning; the journal files it covers stay until a durable one', async () => {
    const warnings: string[] = [];
    let failDir = false;
    const snapshotIo: Partial<AtomicWriteIo> = {
      fsyncDir: async (d) => {
        if (failDir) throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
        await (await import('../../lb/state/index.js')).defaultAtomicWriteIo.fsyncDir(d);
      },
    };
    const { store, state } = await started(undefined, { snapshotIo, warn: (m) => warnings.push(m) });
    await change(store, state, (s) => s.create(svc(1)));
    const before = journalFiles(at.file).map((f) => f.path);
    failDir = true;
    await store.compact(state); // resolves: the snapshot is in place
    expect(warnings).toEqual([expect.stringMatching(/state snapshot written, but .*syncing its directory failed.*the journal files it covers are kept/)]);
    for (const f of before) expect(readdirSync(at.dir)).toContain(f.split('/').pop());
    await change(store, state, (s) => s.create(svc(2)));
    expect(await diskSnapshot()).toEqual(state.toSnapshot());
    failDir = false;
    await store.compact(state); // durable: now the old files go
    expect(journalFiles(at.file)).toHaveLength(1);
    expect(await diskSnapshot()).toEqual(state.toSnapshot());
    await store.close();
  });
});
