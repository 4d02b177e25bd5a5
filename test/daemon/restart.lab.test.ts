// Restart without a gap: HTTP requests run continuously through the VIP (keep-alive connections
// and a stream of new connections) while xlbd is killed with SIGKILL and started again, twice. Not
// one request may fail, no keep-alive connection may switch backends, the XDP program stays the
// same (adopted, never re-attached), the packet counters keep counting (never reset), and the
// state — what the API returns and what the maps hold — is identical afterwards.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withNetns, xdpQuery } from '../../bpf/libbpf-ts/index.js';
import { Lab, type HttpLoadResult } from '../lab/lab.js';
import { dumpPinnedMaps, type MapDump } from './maps.js';
import { XlbdInstance } from './xlbd.js';

const VIP = '10.100.0.10';
const SERVICE = `${VIP}:80/tcp`;
/** Maps that count traffic (or hold per-flow timestamps): they must change while traffic flows. */
const TRAFFIC_MAPS = ['stats', 'service_stats', 'backend_stats', 'flows'];

let lab: Lab;
let xlbd: XlbdInstance;

function configMaps(d: MapDump): MapDump {
  return Object.fromEntries(Object.entries(d).filter(([k]) => !TRAFFIC_MAPS.includes(k)));
}

beforeAll(async () => {
  lab = await Lab.create({ backends: 3, clients: 1, lbNodes: 1, ipv6: false });
  xlbd = new XlbdInstance({ lab });
  await xlbd.start();
  await xlbd.client.call('CreateService', {
    service: { id: SERVICE, backends: lab.backends.map((b) => ({ address: b.ipv4, name: b.name })) },
  });
}, 120_000);

afterAll(async () => {
  await xlbd?.dispose();
  await lab?.destroy();
});

describe('xlbd restart under load', () => {
  it('survives two SIGKILL + restart cycles with zero failed requests and identical state', async () => {
    const ctx = lab.lbContext('lb1');
    const servicePackets = async () => Number((await xlbd.client.call('GetStats', { serviceId: SERVICE })).services[0].packets);
    const listBefore = (await xlbd.client.call('ListServices')).services;
    const statusBefore = await xlbd.client.call('GetStatus');
    const mapsBefore = dumpPinnedMaps(xlbd.pinDir);
    const stateFileBefore = await xlbd.savedState();
    const packets0 = await servicePackets();

    // Keep-alive connections: 6 connections, one request every 20 ms each, ~10 s.
    const keepalive = lab.httpLoad('c1', { url: lab.url(VIP), keepalive: 6, requests: 500, intervalMs: 20, timeoutMs: 2000 });
    // New connections, batch after batch, for as long as the restarts go on.
    let restarting = true;
    const batches: HttpLoadResult[] = [];
    const fresh = (async () => {
      while (restarting) batches.push(await lab.httpLoad('c1', { url: lab.url(VIP), connections: 100, concurrency: 4, timeoutMs: 2000 }));
    })();

    const counterReadings: number[] = [];
    const programRecord = join(dirname(xlbd.stateFile), 'datapath-program.json');
    try {
      await new Promise((r) => setTimeout(r, 800));
      for (let round = 0; round < 2; round++) {
        counterReadings.push(await servicePackets());
        await xlbd.kill9();
        // Nobody is home now: the datapath keeps balancing on its own.
        await new Promise((r) => setTimeout(r, 500));
        if (round === 1) {
          // A record that names another object: the start must fall back to loading the object
          // and comparing program tags (and still adopt, since the program is the same).
          const rec = JSON.parse(readFileSync(programRecord, 'utf8'));
          writeFileSync(programRecord, JSON.stringify({ ...rec, objectSha256: '0'.repeat(64) }));
        }
        await xlbd.start();
        // Round 0: the record says the pinned program came from this object: adopted without a load.
        if (round === 0) expect(xlbd.output).toMatch(/datapath adopted: .*, loaded from this object/);
        else expect(xlbd.output).not.toMatch(/loaded from this object/);
        counterReadings.push(await servicePackets());
      }
    } finally {
      restarting = false;
    }
    await fresh;
    const ka = await keepalive;

    // Zero failed requests.
    expect(ka.failed, JSON.stringify(ka)).toBe(0);
    expect(ka.ok).toBe(6 * 500);
    expect(ka.backendSwitches).toBe(0);
    expect(ka.reconnects).toBe(0);
    expect(batches.length).toBeGreaterThanOrEqual(2);
    for (const b of batches) expect(b.failed, JSON.stringify(b)).toBe(0);

    // Both restarts adopted the running datapath: same program, still attached, nothing reloaded.
    const statusAfter = await xlbd.client.call('GetStatus');
    expect(statusAfter.adoptedDatapath).toBe(true);
    expect(statusAfter.interfaces[0].programId, xlbd.output).toBe(statusBefore.interfaces[0].programId);
    expect(withNetns(ctx.netnsPath, () => xdpQuery(ctx.ifindex)).nativeProgId).toBe(statusBefore.interfaces[0].programId);
    expect(xlbd.output.match(/datapath adopted/g)?.length).toBe(1); // this process's log: the last start

    // The packet counter kept counting across the kills (adopted maps are never reset).
    const readings = [packets0, ...counterReadings, await servicePackets()];
    for (let i = 1; i < readings.length; i++) expect(readings[i]!).toBeGreaterThanOrEqual(readings[i - 1]!);
    expect(readings.at(-1)! - packets0).toBeGreaterThan(6 * 500);

    // State identical: API, state file, and every map that holds configuration (byte for byte,
    // including the Maglev inner tables and their map ids: nothing was rebuilt).
    expect((await xlbd.client.call('ListServices')).services).toEqual(listBefore);
    expect(await xlbd.savedState()).toEqual(stateFileBefore);
    const mapsAfter = dumpPinnedMaps(xlbd.pinDir);
    expect(configMaps(mapsAfter)).toEqual(configMaps(mapsBefore));
    expect(Object.keys(mapsAfter).sort()).toEqual(Object.keys(mapsBefore).sort());
    // The fallback start wrote the record right again.
    expect(JSON.parse(readFileSync(programRecord, 'utf8')).objectSha256).toMatch(/^(?!0{64})[0-9a-f]{64}$/);
  });
});
