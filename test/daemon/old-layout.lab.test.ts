// An older xlb's datapath — commit 84970d5's program and its map layout version 2, pinned and
// attached as that release left it — is replaced by xlbd, not adopted: its maps cannot be read with
// this layout, so xlbd loads a fresh datapath and swaps the attached program atomically
// (replace-expected), and traffic flows through the new one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withNetns, xdpAttach, xdpQuery } from '../../bpf/libbpf-ts/index.js';
import { LAYOUT_VERSION } from '../../lb/datapath/index.js';
import { BaselineDatapath } from '../lab/baseline.js';
import { Lab } from '../lab/lab.js';
import { XlbdInstance } from './xlbd.js';

const VIP = '10.100.0.10';
let lab: Lab;
let xlbd: XlbdInstance;
let old: BaselineDatapath | undefined;

beforeAll(async () => {
  lab = await Lab.create({ backends: 2, clients: 1, lbNodes: 1, ipv6: false });
  xlbd = new XlbdInstance({ lab });
}, 120_000);

afterAll(async () => {
  old?.close();
  await xlbd?.dispose();
  await lab?.destroy();
});

describe('a datapath pinned by an older xlb (map layout 2)', () => {
  it('is replaced atomically by a fresh one, and traffic flows through the new program', async () => {
    expect(LAYOUT_VERSION).toBeGreaterThan(2);
    const ctx = lab.lbContext('lb1');
    old = BaselineDatapath.load({ seed: 7, tableSize: 4093, maxServices: 64, maxBackends: 256, flowTableSize: 16384 });
    old.setConfig({ ifMac: ctx.mac, gatewayMac: ctx.gatewayMac, sourceV4: ctx.ipv4 });
    old.addService({ id: 0, vip: VIP, port: 80, protocol: 'tcp', backends: lab.backends.map((b, i) => ({ id: i, address: b.ipv4 })) });
    withNetns(ctx.netnsPath, () => xdpAttach(ctx.ifindex, old!.program, { mode: 'native' }));
    old.pin(xlbd.pinDir);
    const oldId = old.program.id;
    // The old release carries traffic.
    const before = await lab.httpLoad('c1', { url: lab.url(VIP), connections: 20, concurrency: 4 });
    expect(before.failed).toBe(0);
    old.close();
    old = undefined;

    await xlbd.start();
    expect(xlbd.output).toMatch(/cannot be adopted \(.*layout version 2, this xlb uses \d+\)/);
    expect(xlbd.output).toMatch(new RegExp(`replaced program ${oldId} atomically`));
    const now = withNetns(ctx.netnsPath, () => xdpQuery(ctx.ifindex)).nativeProgId;
    expect(now).not.toBe(oldId);
    await xlbd.client.call('CreateService', { service: { id: `${VIP}:80/tcp`, backends: lab.backends.map((b) => ({ address: b.ipv4 })) } });
    const after = await lab.httpLoad('c1', { url: lab.url(VIP), connections: 40, concurrency: 4 });
    expect(after.failed).toBe(0);
    expect(Object.keys(after.perBackend).length).toBe(2);
    await xlbd.stop();
  });
});
