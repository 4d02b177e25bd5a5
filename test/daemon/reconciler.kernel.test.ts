// The reconciler against a real loaded datapath (maps in the kernel, not attached): only what
// differs is written; a kernel failure in the middle of a multi-service change, or a failed journal
// write, rolls the datapath back byte for byte and leaves the state and what is on disk as they
// were; a backend id moving between services inside one change never collides; a bulk sync (tables
// built on worker threads, written in batches) ends in exactly lb/maglev's tables.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LbDatapath } from '../../lb/datapath/index.js';
import { DesiredState, type Limits } from '../../lb/model/index.js';
import { Reconciler, ReconcileError, TableBuilders, type DatapathPort } from '../../lb/reconciler/index.js';
import { buildMaglevTable } from '../../lb/maglev/index.js';
import { defaultAtomicWriteIo, defaultJournalIo, loadDesiredState, StateStore, type JournalIo } from '../../lb/state/index.js';
import { bpfObjectPath } from '../../bpf/objects.js';
import { dumpPinnedMaps, type MapDump } from './maps.js';
import { repoRoot } from '../lab/index.js';

/** A rebuilt Maglev table is a new inner map (new kernel id) with the same content: compare the
 *  content (maglev_inner/<service id>) and which services have a table, not the inner map ids. */
/** What packets can observe: inner map ids aside, and spare tables (every slot "no backend", at
 *  ids of services not created yet, prepared in the background) read exactly like no table. */
function rolledBackView(d: MapDump): MapDump {
  const spare = (k: string) => (d[`maglev_inner/${k}`] ?? []).every((e) => /^[0-9a-f]{8}=(ffffffff)+(00000000)*$/.test(e));
  const out: MapDump = {};
  for (const [name, v] of Object.entries(d)) if (!(name.startsWith('maglev_inner/') && spare(name.slice(13)))) out[name] = v;
  out.maglev_outer = (d.maglev_outer ?? [])
    .filter((e) => !spare(String(Buffer.from(e.split('=')[0]!, 'hex').readUInt32LE(0))))
    .map((e) => `${e.split('=')[0]}=<inner map>`);
  return out;
}

const LIMITS: Limits = { maxServices: 15, maxBackends: 31, maxBackendsPerService: 8, maglevTableSize: 251 };
const pinRoot = `/sys/fs/bpf/xlbd-reconciler-${process.pid}-${randomBytes(3).toString('hex')}`;
let tmp: string;
let dp: LbDatapath;
let pinDir: string;
let n = 0;

/** A DatapathPort that throws on the nth call of one method (a kernel failure mid-change). */
function failing(real: DatapathPort, method: Exclude<keyof DatapathPort, 'options' | 'prepareSpareTables'>, nth: number): DatapathPort & { calls: number } {
  const port = {
    calls: 0,
    options: real.options,
    services: () => real.services(),
    service: (id: number) => real.service(id),
    backends: (id: number) => real.backends(id),
    upsertService: (s: Parameters<DatapathPort['upsertService']>[0]) => real.upsertService(s),
    deleteService: (id: number) => real.deleteService(id),
    deleteServices: (ids: readonly number[]) => real.deleteServices(ids),
    setBackends: (id: number, b: Parameters<DatapathPort['setBackends']>[1], o?: Parameters<DatapathPort['setBackends']>[2]) => real.setBackends(id, b, o),
    setBackendsMany: (sets: Parameters<DatapathPort['setBackendsMany']>[0], o?: Parameters<DatapathPort['setBackendsMany']>[1]) => real.setBackendsMany(sets, o),
  };
  const original = port[method] as (...a: unknown[]) => unknown;
  (port as Record<string, unknown>)[method] = (...args: unknown[]) => {
    port.calls++;
    if (port.calls === nth) throw new Error(`injected kernel failure in ${method} (E2BIG)`);
    return original(...args);
  };
  return port;
}

function svc(vip: string, backends: string[], weight = 1) {
  return { vip, port: 80, protocol: 'tcp', backends: backends.map((address) => ({ address, weight })) };
}

beforeAll(() => {
  if (!existsSync('/sys/fs/bpf/maps.debug') && !existsSync('/sys/fs/bpf')) throw new Error('no /sys/fs/bpf');
  try {
    execFileSync('mountpoint', ['-q', '/sys/fs/bpf']);
  } catch {
    execFileSync('mount', ['-t', 'bpf', 'bpf', '/sys/fs/bpf']);
  }
  tmp = mkdtempSync(join(tmpdir(), 'xlbd-reconciler-'));
});

beforeEach(() => {
  // maps sized as xlbd sizes them: ids 1..max, so max + 1 entries.
  dp = LbDatapath.load({ seed: 1, tableSize: 251, maxServices: LIMITS.maxServices + 1, maxBackends: LIMITS.maxBackends + 1, flowTableSize: 1024, objectPath: bpfObjectPath('xlb_lb') });
  pinDir = join(pinRoot, String(n++));
  dp.pin(pinDir);
});

afterEach(() => {
  dp.close();
  LbDatapath.unpin(pinDir);
});

afterAll(() => {
  rmSync(pinRoot, { recursive: true, force: true });
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** A started store on `file` (a fresh snapshot of `state`), optionally with failing journal io. */
async function storeFor(file: string, state: DesiredState, journalIo?: JournalIo): Promise<StateStore> {
  const store = new StateStore(file, await loadDesiredState(file, { limits: LIMITS }), journalIo ? { journalIo } : {});
  await store.start(state, { compact: true });
  return store;
}

/** What is on disk (snapshot + journal), as a snapshot object. */
async function onDisk(file: string) {
  return (await loadDesiredState(file, { limits: LIMITS })).state.toSnapshot();
}

async function seeded(port: DatapathPort, stateFile: string, journalIo?: JournalIo) {
  const state = new DesiredState({ limits: LIMITS });
  const store = await storeFor(stateFile, state, journalIo);
  const r = new Reconciler({ datapath: port, state, store });
  await r.change((d) => d.apply([svc('10.0.0.1', ['10.1.0.1', '10.1.0.2']), svc('10.0.0.2', ['10.1.0.3']), svc('10.0.0.3', ['10.1.0.4', '10.1.0.5'])]));
  return { r, store, state };
}

/** Touches all three services: update two, delete one, create one. */
const bigChange = (d: DesiredState) =>
  d.apply([svc('10.0.0.1', ['10.1.0.1', '10.1.0.6'], 2), svc('10.0.0.2', ['10.1.0.3', '10.1.0.7']), svc('10.0.0.4', ['10.1.0.8'])]);

describe('reconciler on a real datapath', () => {
  it('programs only what differs', async () => {
    const file = join(tmp, 'only.json');
    const port = failing(dp, 'setBackends', Infinity);
    const { r } = await seeded(port, file);
    expect(dp.services().map((s) => s.vip).sort()).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3']);
    port.calls = 0;
    // One backend of one service: exactly one backend set (one Maglev table) is written.
    await r.change((d) => d.updateBackend('10.0.0.2:80/tcp', '10.1.0.3', { weight: 5 }));
    expect(port.calls).toBe(1);
    // A name-only change writes nothing to the datapath, but is persisted.
    const before = dumpPinnedMaps(pinDir);
    const res = await r.change((d) => d.updateBackend('10.0.0.2:80/tcp', '10.1.0.3', { name: 'renamed' }));
    expect(res.diff.changes).toHaveLength(1);
    expect(port.calls).toBe(1);
    expect(dumpPinnedMaps(pinDir)).toEqual(before);
    expect(JSON.stringify(await onDisk(file))).toContain('"renamed"');
  });

  for (const nth of [1, 2, 3]) {
    it(`a kernel failure at backend set #${nth} of a 4-service change rolls everything back`, async () => {
      const file = join(tmp, `fail-${nth}.json`);
      const port = failing(dp, 'setBackends', Infinity);
      const { r, store, state } = await seeded(port, file);
      const stateBefore = JSON.stringify(r.state.toSnapshot());
      const fileBefore = await onDisk(file);
      const mapsBefore = dumpPinnedMaps(pinDir);
      port.calls = 0;
      const faulty = failing(dp, 'setBackends', nth);
      const r2 = new Reconciler({ datapath: faulty, state, store });
      const err = await r2.change(bigChange).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ReconcileError);
      expect((err as ReconcileError).rolledBack).toBe(true);
      expect((err as Error).message).toMatch(/the change was not applied: injected kernel failure/);
      expect(JSON.stringify(r2.state.toSnapshot())).toBe(stateBefore);
      expect(r2.diverged).toBeUndefined();
      expect(await onDisk(file)).toEqual(fileBefore);
      expect(rolledBackView(dumpPinnedMaps(pinDir))).toEqual(rolledBackView(mapsBefore));
      // Not wedged: the same change goes through once the kernel behaves.
      const ok = await new Reconciler({ datapath: dp, state, store }).change(bigChange);
      expect(ok.diff.created).toEqual(['10.0.0.4:80/tcp']);
      expect(dp.services().map((s) => s.vip).sort()).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.4']);
    });
  }

  it('a failed journal write rolls the datapath back, and no change is taken until a snapshot is written', async () => {
    const file = join(tmp, 'save.json');
    let failSync = false;
    const io: JournalIo = {
      write: (fd, data, pos) => defaultJournalIo.write(fd, data, pos),
      datasync: async (fd) => {
        if (failSync) throw Object.assign(new Error('ENOSPC: no space left on device, fdatasync'), { code: 'ENOSPC' });
        await defaultJournalIo.datasync(fd);
      },
    };
    const { r } = await seeded(dp, file, io);
    const mapsBefore = dumpPinnedMaps(pinDir);
    const stateBefore = JSON.stringify(r.state.toSnapshot());
    const diskBefore = await onDisk(file);
    failSync = true;
    const err = await r.change(bigChange).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReconcileError);
    expect((err as Error).message).toMatch(/ENOSPC/);
    expect(JSON.stringify(r.state.toSnapshot())).toBe(stateBefore);
    expect(rolledBackView(dumpPinnedMaps(pinDir))).toEqual(rolledBackView(mapsBefore));
    // The record that failed its sync may be on disk; the recovery snapshot covers it, so a load
    // (a restart) never replays the rolled-back change.
    expect(await onDisk(file)).toEqual(diskBefore);
    // Once the disk behaves, changes go through and land on disk.
    failSync = false;
    await r.change(bigChange);
    expect((await onDisk(file)).services.map((s) => s.id)).toEqual(['10.0.0.1:80/tcp', '10.0.0.2:80/tcp', '10.0.0.4:80/tcp']);
  });

  it('concurrent changes share journal flushes; a failed flush rolls back every change not yet durable', async () => {
    const file = join(tmp, 'group.json');
    let syncs = 0;
    let failNext = false;
    let release!: () => void;
    let gate: Promise<void> | undefined;
    const io: JournalIo = {
      write: (fd, data, pos) => defaultJournalIo.write(fd, data, pos),
      datasync: async (fd) => {
        syncs++;
        if (gate) await gate;
        if (failNext) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
        await defaultJournalIo.datasync(fd);
      },
    };
    const { r } = await seeded(dp, file, io);
    syncs = 0;
    // 20 weight changes issued at once: the first flush holds one, the next flush all the others.
    gate = new Promise((res) => (release = res));
    const calls = Array.from({ length: 20 }, (_, i) => r.change((d) => d.updateBackend('10.0.0.1:80/tcp', '10.1.0.1', { weight: i + 2 })));
    await new Promise((res) => setTimeout(res, 50));
    release();
    gate = undefined;
    await Promise.all(calls);
    expect(syncs).toBe(2);
    expect((await onDisk(file)).services[0]!.backends[0]!.weight).toBe(21);

    // Now the flush fails with 5 changes in it: all five are rolled back, in the state and the datapath.
    const mapsBefore = dumpPinnedMaps(pinDir);
    const stateBefore = JSON.stringify(r.state.toSnapshot());
    gate = new Promise((res) => (release = res));
    failNext = true;
    const first = r.change((d) => d.updateBackend('10.0.0.2:80/tcp', '10.1.0.3', { weight: 7 }));
    const more = [
      r.change((d) => d.addBackend('10.0.0.2:80/tcp', { address: '10.1.0.9' })),
      r.change((d) => d.delete('10.0.0.3:80/tcp')),
      r.change((d) => d.create(svc('10.0.0.9', ['10.1.0.10']))),
      r.change((d) => d.updateBackend('10.0.0.1:80/tcp', '10.1.0.2', { weight: 0 })),
    ];
    await new Promise((res) => setTimeout(res, 50));
    release();
    gate = undefined;
    const outcomes = await Promise.allSettled([first, ...more]);
    expect(outcomes.map((o) => o.status)).toEqual(Array(5).fill('rejected'));
    for (const o of outcomes) expect(((o as PromiseRejectedResult).reason as Error).message).toMatch(/not applied: .*EIO/);
    expect(JSON.stringify(r.state.toSnapshot())).toBe(stateBefore);
    expect(rolledBackView(dumpPinnedMaps(pinDir))).toEqual(rolledBackView(mapsBefore));
    expect(JSON.stringify(await onDisk(file))).toBe(stateBefore);
    failNext = false;
    await r.change((d) => d.delete('10.0.0.3:80/tcp'));
    expect((await onDisk(file)).services).toHaveLength(2);
  });

  it('a snapshot whose directory fsync fails after the rename: changes stand (journal and datapath agree), the snapshot is kept with a warning', async () => {
    const file = join(tmp, 'dirsync.json');
    const warnings: string[] = [];
    let failDirSync = false;
    const state = new DesiredState({ limits: LIMITS });
    const store = new StateStore(file, await loadDesiredState(file, { limits: LIMITS }), {
      snapshotIo: { fsyncDir: async (d) => (failDirSync ? Promise.reject(new Error('EIO: i/o error')) : defaultAtomicWriteIo.fsyncDir(d)) },
      warn: (m) => warnings.push(m),
    });
    await store.start(state, { compact: true });
    const r = new Reconciler({ datapath: dp, state, store, log: { info: () => {}, warn: (m) => warnings.push(m), error: (m) => warnings.push(m) } });
    await r.change((d) => d.apply([svc('10.0.0.1', ['10.1.0.1'])]));
    failDirSync = true;
    const result = await r.change(bigChange);
    expect(result.diff.created).toContain('10.0.0.4:80/tcp');
    await r.compact(); // the snapshot replaces the file, its directory sync fails: not a failure
    expect(warnings.join('\n')).toMatch(/state snapshot written, but .*syncing its directory failed \(EIO: i\/o error\).*power loss.*journal files it covers are kept/);
    // What is on disk, the state and the datapath agree; later changes go on.
    expect((await onDisk(file)).services.map((x) => x.id)).toContain('10.0.0.4:80/tcp');
    expect(dp.services().map((x) => x.vip)).toContain('10.0.0.4');
    await r.change((d) => d.delete('10.0.0.4:80/tcp'));
    expect((await onDisk(file)).services.map((x) => x.id)).not.toContain('10.0.0.4:80/tcp');
    await r.idle();
    await store.close();
  });

  it('a validation error touches nothing at all', async () => {
    const port = failing(dp, 'setBackends', Infinity);
    const { r } = await seeded(port, join(tmp, 'invalid.json'));
    port.calls = 0;
    const mapsBefore = dumpPinnedMaps(pinDir);
    await expect(r.change((d) => d.addBackend('10.0.0.1:80/tcp', { address: '10.1.0.1' }))).rejects.toThrow(/already has backend/);
    expect(port.calls).toBe(0);
    expect(dumpPinnedMaps(pinDir)).toEqual(mapsBefore);
  });

  it('a backend id freed by one service and reused by another in the same change', async () => {
    // 3 backend ids in all: freeing one and allocating one in one change must reuse it.
    const limits: Limits = { ...LIMITS, maxBackends: 3 };
    const r = new Reconciler({ datapath: dp, state: new DesiredState({ limits }) });
    await r.change((d) => d.apply([svc('10.0.0.20', ['10.1.0.1', '10.1.0.2', '10.1.0.3'])]));
    const idOf = (s: DesiredState, id: string, a: string) => s.get(id).backends.find((b) => b.address === a)!.datapathId;
    const freed = idOf(r.state, '10.0.0.20:80/tcp', '10.1.0.3');
    // 10.0.0.10 sorts first: without the shrink-first phase its new backend would hit an id the
    // datapath still lists under 10.0.0.20.
    const { state } = await r.change((d) => d.apply([svc('10.0.0.20', ['10.1.0.1', '10.1.0.2']), svc('10.0.0.10', ['10.1.0.9'])]));
    expect(idOf(state, '10.0.0.10:80/tcp', '10.1.0.9')).toBe(freed);
    const byVip = new Map(dp.services().map((s) => [s.vip, s.id]));
    expect(dp.backends(byVip.get('10.0.0.10')!).map((b) => b.id)).toEqual([freed]);
    expect(dp.backends(byVip.get('10.0.0.20')!).map((b) => b.address).sort()).toEqual(['10.1.0.1', '10.1.0.2']);
  });
});

describe('bulk syncs (start-up, large changes)', () => {
  it('tables built on worker threads and written in batches equal lb/maglev tables; a second sync writes nothing', async () => {
    const limits: Limits = { maxServices: 400, maxBackends: 4000, maxBackendsPerService: 16, maglevTableSize: 251 };
    const big = LbDatapath.load({ seed: 3, tableSize: 251, maxServices: 401, maxBackends: 4001, flowTableSize: 1024, objectPath: bpfObjectPath('xlb_lb') });
    // The built daemon's TableBuilders: its worker script is compiled JavaScript (dist/, npm run
    // build), which the TypeScript sources vitest runs do not have next to them.
    const built = (await import(join(repoRoot, 'dist/lb/reconciler/table-builders.js'))) as { TableBuilders: typeof TableBuilders };
    const builders = new built.TableBuilders(2);
    expect(builders.available).toBe(true);
    try {
      const state = new DesiredState({ limits });
      // 300 services (several chunks of BULK_CHUNK), a few with every backend draining (no table).
      state.apply(
        Array.from({ length: 300 }, (_, i) => ({
          id: `10.9.${i >> 8}.${i & 255}:80/tcp`,
          tableSize: i % 3 === 0 ? 509 : 251,
          backends: Array.from({ length: 1 + (i % 7) }, (_, j) => ({ address: `10.8.${j}.${(i % 250) + 1}`, weight: 1 + j, state: i % 50 === 0 ? 'draining' : 'active' })),
        })),
      );
      const progress: string[] = [];
      const r = new Reconciler({ datapath: big, state, builders, progressEvery: 100, onProgress: (e) => progress.push(`${e.what} ${e.done}/${e.total}`) });
      const report = await r.syncAll();
      expect(report.upserted).toHaveLength(300);
      expect(progress).toEqual(['datapath sync 100/300', 'datapath sync 200/300', 'datapath sync 300/300']);
      for (const s of state.list()) {
        const active = s.backends.filter((b) => b.state === 'active');
        const want = active.length ? buildMaglevTable({ backends: s.backends.map((b) => ({ key: b.address, id: b.datapathId, weight: b.state === 'active' ? b.weight : 0 })), size: s.tableSize, seed: 3 }).table : undefined;
        expect(big.maglevTable(s.datapathId), s.id).toEqual(want);
      }
      const again = await r.syncAll();
      expect(again).toMatchObject({ upserted: [], deleted: [], backendSets: [] });
    } finally {
      await builders.close();
      big.close();
    }
  });
});
