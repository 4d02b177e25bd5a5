// Persistence of the desired state on a real file system: round trips, crash safety of the atomic
// replace (each step made to fail in turn; root ignores directory permissions, so failures are
// injected through the write's io parameter rather than by a read-only directory), corrupt files,
// and the config layer applied on restore.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DesiredState, servicesFromDocument, type Limits } from '../../lb/model/index.js';
import {
  loadDesiredState,
  restoreDesiredState,
  saveDesiredState,
  StateFileError,
  STATE_FORMAT,
  writeFileAtomic,
  type AtomicWriteIo,
} from '../../lb/state/index.js';
import { caseDirs } from './case-dir.js';

const LIMITS: Limits = { maxServices: 64, maxBackends: 512, maxBackendsPerService: 32, maglevTableSize: 65537 };
const at = caseDirs('xlb-state-test', false);

let t = 1_700_000_000_000;
const now = () => t;
const options = () => ({ limits: LIMITS, now, reuseDelayMs: 60_000 });

function sample(): DesiredState {
  const s = new DesiredState(options());
  s.create({ id: '10.0.0.10:80/tcp', backends: [{ address: '10.1.0.1', weight: 3, name: 'web-1' }, { address: '2001:db8:1::1', weight: 0 }] });
  s.create({ id: '[2001:db8::10]:*/udp', flags: { sourceHash: true }, backends: [{ address: '2001:db8:1::2' }] });
  s.removeBackend('10.0.0.10:80/tcp', '2001:db8:1::1'); // leaves a retired id to persist
  return s;
}

function leftovers(): string[] {
  return readdirSync(at.dir).filter((f) => f !== 'desired-state.json');
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('save and load', () => {
  it('round-trips the state, ids and retired ids included, in a 0600 file', async () => {
    const s = sample();
    await saveDesiredState(at.file, s, { now });
    expect(statSync(at.file).mode & 0o777).toBe(0o600);
    const doc = JSON.parse(readFileSync(at.file, 'utf8'));
    expect(doc).toMatchObject({ format: STATE_FORMAT, version: 2, saved_at: new Date(t).toISOString(), journal_seq: 0 });
    expect(doc.state.backend_ids.retired).toHaveLength(1);

    const { state, found } = await loadDesiredState(at.file, options());
    expect(found).toBe(true);
    expect(state.list()).toEqual(s.list());
    expect(state.toSnapshot()).toEqual(s.toSnapshot());
    expect(leftovers()).toEqual([]);
  });

  it('ids are stable across save/load, and a freed id stays retired after a restart', async () => {
    const s = sample();
    const retired = s.toSnapshot().backend_ids.retired[0]!.id;
    await saveDesiredState(at.file, s);
    const { state } = await loadDesiredState(at.file, options());
    for (const svc of s.list()) expect(state.get(svc.id).backends.map((b) => b.datapathId)).toEqual(svc.backends.map((b) => b.datapathId));
    state.addBackend('10.0.0.10:80/tcp', { address: '10.1.0.9' });
    s.addBackend('10.0.0.10:80/tcp', { address: '10.1.0.9' });
    const id = state.get('10.0.0.10:80/tcp').backends.find((b) => b.address === '10.1.0.9')!.datapathId;
    expect(id).not.toBe(retired);
    expect(id).toBe(s.get('10.0.0.10:80/tcp').backends.find((b) => b.address === '10.1.0.9')!.datapathId);
  });

  it('a missing file is a first start: empty state, found = false', async () => {
    const r = await loadDesiredState(at.file, options());
    expect(r.found).toBe(false);
    expect(r.state.serviceCount).toBe(0);
  });
});

describe('atomic replace', () => {
  async function withOld(): Promise<string> {
    await saveDesiredState(at.file, sample());
    return readFileSync(at.file, 'utf8');
  }
  function bigger(): DesiredState {
    const s = sample();
    s.create({ id: '10.0.0.11:443/tcp', backends: [{ address: '10.1.0.5' }] });
    return s;
  }

  it('a failing fsync leaves the old file intact and no temp file behind', async () => {
    const old = await withOld();
    const io: Partial<AtomicWriteIo> = {
      fsyncFile: async () => {
        throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
      },
    };
    const e = await rejection(saveDesiredState(at.file, bigger(), { io }));
    expect(e.message).toContain('EIO');
    expect(readFileSync(at.file, 'utf8')).toBe(old);
    expect(leftovers()).toEqual([]);
    expect((await loadDesiredState(at.file, options())).state.serviceCount).toBe(2);
  });

  it('a write that dies halfway (disk full) leaves the old file intact', async () => {
    const old = await withOld();
    const io: Partial<AtomicWriteIo> = {
      writeData: async (handle, data) => {
        await handle.write(data, 0, data.length >> 1);
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      },
    };
    expect((await rejection(saveDesiredState(at.file, bigger(), { io }))).message).toContain('ENOSPC');
    expect(readFileSync(at.file, 'utf8')).toBe(old);
    expect(leftovers()).toEqual([]);
  });

  it('a failing rename leaves the old file intact', async () => {
    const old = await withOld();
    const io: Partial<AtomicWriteIo> = {
      rename: async () => {
        throw Object.assign(new Error('EXDEV: cross-device link not permitted'), { code: 'EXDEV' });
      },
    };
    await rejection(saveDesiredState(at.file, bigger(), { io }));
    expect(readFileSync(at.file, 'utf8')).toBe(old);
    expect(leftovers()).toEqual([]);
  });

  it('a crash between write and rename: old file intact, and the next load removes the temp file', async () => {
    const old = await withOld();
    let reachedRename!: () => void;
    const atRename = new Promise<void>((r) => (reachedRename = r));
    const io: Partial<AtomicWriteIo> = {
      // The "process" stops here forever: the rename never happens.
      rename: () => {
        reachedRename();
        return new Promise<void>(() => {});
      },
    };
    void saveDesiredState(at.file, bigger(), { io });
    await atRename;
    expect(readFileSync(at.file, 'utf8')).toBe(old);
    const temps = leftovers();
    expect(temps).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(at.dir, temps[0]!), 'utf8')).state.services).toHaveLength(3); // complete new content
    const r = await loadDesiredState(at.file, options());
    expect(r.removedTempFiles).toEqual([join(at.dir, temps[0]!)]);
    expect(r.state.serviceCount).toBe(2);
    expect(leftovers()).toEqual([]);
  });

  it('a failing directory fsync is reported although the file was replaced', async () => {
    await withOld();
    const io: Partial<AtomicWriteIo> = {
      fsyncDir: async () => {
        throw new Error('EIO');
      },
    };
    const e = await rejection(saveDesiredState(at.file, bigger(), { io }));
    expect(e.message).toMatch(/was replaced, but syncing its directory failed/);
    expect(JSON.parse(readFileSync(at.file, 'utf8')).state.services).toHaveLength(3);
  });

  it('writeFileAtomic creates missing directories and replaces content', async () => {
    const deep = join(at.dir, 'a', 'b', 'f.txt');
    await writeFileAtomic(deep, 'one');
    await writeFileAtomic(deep, 'two');
    expect(readFileSync(deep, 'utf8')).toBe('two');
    expect(readdirSync(join(at.dir, 'a', 'b'))).toEqual(['f.txt']);
  });
});

describe('unusable state files', () => {
  async function expectRejected(content: string, message: RegExp, field?: string) {
    await saveDesiredState(at.file, sample()); // creates the directory
    writeFileSync(at.file, content);
    const e = await rejection(loadDesiredState(at.file, options()));
    expect(e).toBeInstanceOf(StateFileError);
    const se = e as StateFileError;
    expect(se.message).toContain(`state file ${at.file}: `);
    expect(se.message).toMatch(message);
    expect(se.field).toBe(field);
    expect(se.copyPath).toMatch(/desired-state\.json\.corrupt-/);
    expect(readFileSync(se.copyPath!, 'utf8')).toBe(content); // the copy is exact
    expect(readFileSync(at.file, 'utf8')).toBe(content); // and the original is left for the operator
    expect(se.message).toContain(`A copy was kept at ${se.copyPath}`);
  }

  it('not JSON (e.g. truncated)', async () => {
    const full = readFileSync((await saveDesiredState(at.file, sample()), at.file), 'utf8');
    await expectRejected(full.slice(0, full.length >> 1), /is not valid JSON/);
  });

  it('JSON but not a state file', async () => {
    await expectRejected('{"services": []}', /is not an xlb state file/);
  });

  it('written by a newer version', async () => {
    await expectRejected(JSON.stringify({ format: STATE_FORMAT, version: 3, state: {} }), /newer xlbd \(format version 3\)/);
  });

  it('invalid content names the path inside the document', async () => {
    const doc = JSON.parse(readFileSync((await saveDesiredState(at.file, sample()), at.file), 'utf8'));
    doc.state.services[1].backends[0].address = '10.1.0.300';
    await expectRejected(JSON.stringify(doc), /state\.services\[1\]\.backends\[0\]\.address: "10\.1\.0\.300" is not a valid/, 'state.services[1].backends[0].address');
  });

  it('ids that do not fit the configured map sizes', async () => {
    await saveDesiredState(at.file, sample());
    const e = await rejection(loadDesiredState(at.file, { ...options(), limits: { ...LIMITS, maxBackends: 2 } }));
    expect(e.message).toMatch(/backend id 3 is outside 1\.\.2 \(the config now has smaller maps/);
  });
});

describe('restore with the config layer', () => {
  const declared = servicesFromDocument([{ id: '10.0.0.53:53/udp', backends: ['10.1.0.53'] }]);

  it('first start: config services are created; restart with the same config changes nothing', async () => {
    const first = await restoreDesiredState(at.file, options(), declared);
    expect(first.found).toBe(false);
    expect(first.configDiff.created).toEqual(['10.0.0.53:53/udp']);
    first.state.create({ id: '10.0.0.80:80/tcp', backends: [{ address: '10.1.0.80' }] });
    await saveDesiredState(at.file, first.state);

    const second = await restoreDesiredState(at.file, options(), declared);
    expect(second.configDiff.changes).toEqual([]);
    expect(second.state.list().map((s) => [s.id, s.origin])).toEqual([
      ['10.0.0.53:53/udp', 'config'],
      ['10.0.0.80:80/tcp', 'api'],
    ]);
    expect(second.state.toSnapshot()).toEqual(first.state.toSnapshot());
  });

  it('a config service removed from the file is deleted; API services stay', async () => {
    const first = await restoreDesiredState(at.file, options(), declared);
    first.state.create({ id: '10.0.0.80:80/tcp' });
    await saveDesiredState(at.file, first.state);
    const next = await restoreDesiredState(at.file, options(), []);
    expect(next.configDiff.deleted).toEqual(['10.0.0.53:53/udp']);
    expect(next.state.list().map((s) => s.id)).toEqual(['10.0.0.80:80/tcp']);
  });

  it('an invalid config service fails with its YAML path and no partial result', async () => {
    const bad = servicesFromDocument([{ id: '10.0.0.53:53/udp', backends: [{ address: '10.1.0.53', weight: -2 }] }]);
    const e = await rejection(restoreDesiredState(at.file, options(), bad));
    expect(e.message).toMatch(/^services\[0\]\.backends\[0\]\.weight: -2 is out of range/);
  });
});
