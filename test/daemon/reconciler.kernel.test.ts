// The reconciler against a real loaded datapath (maps in the kernel, not attached): only what
// differs is written; a kernel failure in the middle of a multi-service change, or a failed state
// file write, rolls the datapath back byte for byte and leaves the committed state and the file as
// they were; a backend id moving between services inside one change never collides.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LbDatapath } from '../../lb/datapath/index.js';
import { DesiredState, type Limits } from '../../lb/model/index.js';
import { Reconciler, ReconcileError, type DatapathPort } from '../../lb/reconciler/index.js';
import { bpfObjectPath } from '../../bpf/objects.js';
import { dumpPinnedMaps, type MapDump } from './maps.js';

/** A rebuilt Maglev table is a new inner map (new kernel id) with the same content: compare the
 *  content (maglev_inner/<service id>) and which services have a table, not the inner map ids. */
function rolledBackView(d: MapDump): MapDump {
  return { ...d, maglev_outer: (d.maglev_outer ?? []).map((e) => `${e.split('=')[0]}=<inner map>`) };
}

const LIMITS: Limits = { maxServices: 15, maxBackends: 31, maxBackendsPerService: 8, maglevTableSize: 251 };
const pinRoot = `/sys/fs/bpf/xlbd-reconciler-${process.pid}-${randomBytes(3).toString('hex')}`;
let tmp: string;
let dp: LbDatapath;
let pinDir: string;
let n = 0;

/** A DatapathPort that throws on the nth call of one method (a kernel failure mid-change). */
function failing(real: DatapathPort, method: keyof DatapathPort, nth: number): DatapathPort & { calls: number } {
  const port = {
    calls: 0,
    services: () => real.services(),
    backends: (id: number) => real.backends(id),
    upsertService: (s: Parameters<DatapathPort['upsertService']>[0]) => real.upsertService(s),
    deleteService: (id: number) => real.deleteService(id),
    setBackends: (id: number, b: Parameters<DatapathPort['setBackends']>[1]) => real.setBackends(id, b),
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

async function seeded(port: DatapathPort, stateFile: string, save?: (p: string, s: DesiredState) => Promise<void>) {
  const r = new Reconciler({ datapath: port, state: new DesiredState({ limits: LIMITS }), stateFile, ...(save ? { save } : {}) });
  await r.change((d) => d.apply([svc('10.0.0.1', ['10.1.0.1', '10.1.0.2']), svc('10.0.0.2', ['10.1.0.3']), svc('10.0.0.3', ['10.1.0.4', '10.1.0.5'])]));
  return r;
}

/** Touches all three services: update two, delete one, create one. */
const bigChange = (d: DesiredState) =>
  d.apply([svc('10.0.0.1', ['10.1.0.1', '10.1.0.6'], 2), svc('10.0.0.2', ['10.1.0.3', '10.1.0.7']), svc('10.0.0.4', ['10.1.0.8'])]);

describe('reconciler on a real datapath', () => {
  it('programs only what differs', async () => {
    const file = join(tmp, 'only.json');
    const port = failing(dp, 'setBackends', Infinity);
    const r = await seeded(port, file);
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
    expect(readFileSync(file, 'utf8')).toContain('"renamed"');
  });

  for (const nth of [1, 2, 3]) {
    it(`a kernel failure at backend set #${nth} of a 4-service change rolls everything back`, async () => {
      const file = join(tmp, `fail-${nth}.json`);
      const port = failing(dp, 'setBackends', Infinity);
      const r = await seeded(port, file);
      const stateBefore = r.state;
      const fileBefore = readFileSync(file, 'utf8');
      const mapsBefore = dumpPinnedMaps(pinDir);
      port.calls = 0;
      const faulty = failing(dp, 'setBackends', nth);
      const r2 = new Reconciler({ datapath: faulty, state: stateBefore, stateFile: file });
      const err = await r2.change(bigChange).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ReconcileError);
      expect((err as ReconcileError).rolledBack).toBe(true);
      expect((err as Error).message).toMatch(/the change was not applied: injected kernel failure/);
      expect(r2.state).toBe(stateBefore);
      expect(r2.diverged).toBeUndefined();
      expect(readFileSync(file, 'utf8')).toBe(fileBefore);
      expect(rolledBackView(dumpPinnedMaps(pinDir))).toEqual(rolledBackView(mapsBefore));
      // Not wedged: the same change goes through once the kernel behaves.
      const ok = await new Reconciler({ datapath: dp, state: stateBefore, stateFile: file }).change(bigChange);
      expect(ok.diff.created).toEqual(['10.0.0.4:80/tcp']);
      expect(dp.services().map((s) => s.vip).sort()).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.4']);
    });
  }

  it('a failed state file write rolls the datapath back', async () => {
    const file = join(tmp, 'save.json');
    let failSave = false;
    const r = await seeded(dp, file, async (p, s) => {
      if (failSave) throw new Error('ENOSPC: no space left on device');
      const { saveDesiredState } = await import('../../lb/state/index.js');
      await saveDesiredState(p, s);
    });
    const mapsBefore = dumpPinnedMaps(pinDir);
    const stateBefore = r.state;
    failSave = true;
    const err = await r.change(bigChange).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReconcileError);
    expect((err as Error).message).toMatch(/ENOSPC/);
    expect(r.state).toBe(stateBefore);
    expect(rolledBackView(dumpPinnedMaps(pinDir))).toEqual(rolledBackView(mapsBefore));
  });

  it('a directory fsync that fails after the rename: the change stands (file and datapath agree), with a warning', async () => {
    const file = join(tmp, 'dirsync.json');
    const warnings: string[] = [];
    const { saveDesiredState } = await import('../../lb/state/index.js');
    let failDirSync = false;
    const r = new Reconciler({
      datapath: dp,
      state: new DesiredState({ limits: LIMITS }),
      stateFile: file,
      log: { info: () => {}, warn: (m) => warnings.push(m), error: (m) => warnings.push(m) },
      save: (p, st) => saveDesiredState(p, st, failDirSync ? { io: { fsyncDir: async () => { throw new Error('EIO: i/o error'); } } } : {}),
    });
    await r.change((d) => d.apply([svc('10.0.0.1', ['10.1.0.1'])]));
    failDirSync = true;
    const result = await r.change(bigChange);
    expect(result.diff.created).toContain('10.0.0.4:80/tcp');
    expect(r.state).toBe(result.state);
    // The file already holds the new state: the datapath must hold it too (a rollback would split them).
    expect(JSON.parse(readFileSync(file, 'utf8')).state.services.map((x: { id: string }) => x.id)).toContain('10.0.0.4:80/tcp');
    expect(dp.services().map((x) => x.vip)).toContain('10.0.0.4');
    expect(warnings.join('\n')).toMatch(/the change is applied and saved, but .*syncing its directory failed \(EIO: i\/o error\).*power loss/);
  });

  it('a validation error touches nothing at all', async () => {
    const port = failing(dp, 'setBackends', Infinity);
    const r = await seeded(port, join(tmp, 'invalid.json'));
    port.calls = 0;
    const mapsBefore = dumpPinnedMaps(pinDir);
    await expect(r.change((d) => d.addBackend('10.0.0.1:80/tcp', { address: '10.1.0.1' }))).rejects.toThrow(/already has backend/);
    expect(port.calls).toBe(0);
    expect(dumpPinnedMaps(pinDir)).toEqual(mapsBefore);
  });

  it('a backend id freed by one service and reused by another in the same change', async () => {
    // 3 backend ids in all: freeing one and allocating one in one change must reuse it.
    const limits: Limits = { ...LIMITS, maxBackends: 3 };
    const r = new Reconciler({ datapath: dp, state: new DesiredState({ limits }), stateFile: undefined });
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
