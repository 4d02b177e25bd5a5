// The end-to-end tests compare what a capture saw with what the datapath counted, frame for frame,
// so a capture must not lose packets in a burst (tcpdump's default socket buffer, in immediate mode,
// dropped about one frame in ten of 300 quick HTTP connections). No LB here: client → backend.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from './lab/lab.js';

describe('lab capture under a burst', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await Lab.create({ backends: 1, lbNodes: 1, clients: 1, ipv6: false });
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it('keeps every packet of 300 back-to-back HTTP connections', async () => {
    const b1 = lab.node('b1');
    const cap = await lab.captureStart('r', b1.routerIfname, 'tcp port 80');
    const load = await lab.httpLoad('c1', { url: lab.url(b1.ipv4), connections: 300, concurrency: 16 });
    const { packets } = await cap.stop();
    expect(load).toMatchObject({ ok: 300, failed: 0 });
    const syns = packets.filter((p) => p.dst[0] === b1.ipv4 && p.tcpFlags === '0x0002');
    const synAcks = packets.filter((p) => p.src[0] === b1.ipv4 && p.tcpFlags === '0x0012');
    expect(syns.length).toBe(300);
    expect(synAcks.length).toBe(300);
  });
});
