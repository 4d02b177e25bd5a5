// kill -9 in the middle of a large Apply, and right after one: the restarted daemon holds the old
// set or the new one — never a mix — and the datapath it adopted is brought back to exactly that set.
//
// Deterministic placement of the kill: the daemon logs its progress while it programs a large change
// ("change: 1000/N services", every 1000 services, before the change is journaled), and the test
// kills it on that line — the datapath is then half reprogrammed (the old services deleted, part of
// the new ones written) and nothing of the change is on disk. The client's Apply must fail (the
// answer never came), which proves the kill landed before the change was acknowledged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LbDatapath } from '../../lb/datapath/index.js';
import { buildMaglevTable } from '../../lb/maglev/index.js';
import type { StateSnapshot } from '../../lb/model/index.js';
import { Lab } from '../lab/lab.js';
import { XlbdInstance } from './xlbd.js';

const OLD = 100;
const NEW = 1300;
const M = 4093;

function set(n: number, vipBase: number, backendOctet: number) {
  return Array.from({ length: n }, (_, i) => ({
    vip: `10.${vipBase}.${i >> 8}.${i & 255}`,
    port: 80,
    protocol: 'PROTOCOL_TCP',
    backends: Array.from({ length: 2 }, (_, j) => ({ address: `10.3.${backendOctet + j}.${(i % 250) + 1}` })),
  }));
}
const oldSet = set(OLD, 100, 0);
const newSet = set(NEW, 101, 10);
const ids = (s: { vip: string }[]) => s.map((x) => `${x.vip}:80/tcp`).sort();

let lab: Lab;
let xlbd: XlbdInstance;

/** The services a restart would load, and the datapath checked against them service by service. */
async function persistedAndProgrammed(): Promise<{ persisted: string[]; mismatches: string[] }> {
  const saved: StateSnapshot = await xlbd.savedState();
  const dp = LbDatapath.adopt(xlbd.pinDir);
  const mismatches: string[] = [];
  try {
    const programmed = new Map(dp.services().map((s) => [s.id, s]));
    if (programmed.size !== saved.services.length) mismatches.push(`${programmed.size} services programmed, ${saved.services.length} saved`);
    for (const s of saved.services) {
      const p = programmed.get(s.datapath_id);
      if (!p || `${p.vip}:${p.port}/${p.protocol}` !== s.id) {
        mismatches.push(`${s.id}: datapath has ${p ? `${p.vip}:${p.port}/${p.protocol}` : 'nothing'} at id ${s.datapath_id}`);
        continue;
      }
      const backends = dp.backends(s.datapath_id).map((b) => `${b.id}=${b.address}/${b.weight}`).sort();
      const want = s.backends.map((b) => `${b.datapath_id}=${b.address}/${b.weight}`).sort();
      if (backends.join() !== want.join()) mismatches.push(`${s.id}: backends ${backends.join()} ≠ ${want.join()}`);
      const table = buildMaglevTable({ backends: s.backends.map((b) => ({ key: b.address, id: b.datapath_id, weight: b.weight })), size: M, seed: 7 }).table;
      const live = dp.maglevTable(s.datapath_id);
      if (!live || live.length !== table.length || live.some((v, i) => v !== table[i])) mismatches.push(`${s.id}: the Maglev table differs`);
      if (mismatches.length > 5) break;
    }
  } finally {
    dp.close();
  }
  return { persisted: saved.services.map((s) => s.id).sort(), mismatches };
}

beforeAll(async () => {
  lab = await Lab.create({ backends: 1, clients: 1, lbNodes: 1, ipv6: false });
  xlbd = new XlbdInstance({ lab, config: { maps: { services: 4096, backends: 16384, flows: 16384 }, maglev: { table_size: M, seed: 7 } } });
  await xlbd.start();
  await xlbd.client.call('Apply', { services: oldSet });
}, 120_000);

afterAll(async () => {
  await xlbd?.dispose();
  await lab?.destroy();
});

describe('kill -9 and a large Apply', () => {
  it('killed while programming a large Apply: the old set is held and the datapath is converged back to it', async () => {
    const apply = xlbd.client.call('Apply', { services: newSet }, 120_000).then(
      () => 'answered',
      () => 'failed',
    );
    await xlbd.proc!.waitForOutput(new RegExp(`change: 1000/${NEW} services`), 60_000);
    await xlbd.kill9();
    expect(await apply).toBe('failed'); // killed before the change was acknowledged

    // The adopted datapath is half way: some new services are programmed, the old ones are gone.
    const half = LbDatapath.adopt(xlbd.pinDir);
    const programmed = half.services().length;
    half.close();
    expect(programmed).toBeGreaterThanOrEqual(1000);
    expect(programmed).toBeLessThanOrEqual(NEW);

    await xlbd.start();
    const listed = (await xlbd.client.call('ListServices')).services.map((s: { id: string }) => s.id).sort();
    expect([ids(oldSet), ids(newSet)]).toContainEqual(listed); // either set, whole
    const { persisted, mismatches } = await persistedAndProgrammed();
    expect(persisted).toEqual(listed);
    expect(mismatches).toEqual([]);
    expect(listed).toEqual(ids(oldSet)); // and here, since nothing was journaled: the old one
  }, 180_000);

  it('killed right after a large Apply was acknowledged: the new set is held, whole, and programmed', async () => {
    await xlbd.client.call('Apply', { services: newSet }, 120_000);
    await xlbd.kill9();
    await xlbd.start();
    const listed = (await xlbd.client.call('ListServices')).services.map((s: { id: string }) => s.id).sort();
    expect(listed).toEqual(ids(newSet));
    const { persisted, mismatches } = await persistedAndProgrammed();
    expect(persisted).toEqual(ids(newSet));
    expect(mismatches).toEqual([]);
  }, 180_000);
});
