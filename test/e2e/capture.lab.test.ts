// The end-to-end tests compare what a capture saw with what the datapath counted, frame for frame,
// so a capture must not lose packets in a burst. tcpdump in immediate mode uses a TPACKET_V2 ring
// whose slots are snaplen-sized when the interface has offloads: with the default 256 KiB snaplen a
// 16 MiB ring holds 64 frames, and a quick burst of HTTP connections overflowed it. No LB here:
// client → backend, captured at both ends.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../lab/lab.js';
import { run } from '../lab/shell.js';

/** The tcpdump of a capture: the only process whose command line names this pcap file. */
async function tcpdumpPid(pcapPath: string): Promise<number> {
  const r = await run(['pgrep', '-f', '--', `-w ${pcapPath}`]);
  const pids = r.stdout.split('\n').filter(Boolean).map(Number);
  if (pids.length !== 1) throw new Error(`expected one tcpdump writing ${pcapPath}, found ${pids.join(', ') || 'none'}`);
  return pids[0]!;
}

describe('lab capture under a burst', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await Lab.create({ backends: 1, lbNodes: 1, clients: 1 });
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it('holds a whole burst while tcpdump is not scheduled (ring of 16 MiB in 2 KiB slots)', async () => {
    const b1 = lab.node('b1');
    const cap = await lab.captureStart('c1', 'eth0', 'tcp port 80');
    const pid = await tcpdumpPid(cap.pcapPath);
    // A busy machine may leave tcpdump off the CPU for the length of a burst; SIGSTOP makes that
    // certain. Everything the burst sends must wait in the kernel ring until it runs again.
    process.kill(pid, 'SIGSTOP');
    let load;
    try {
      load = await lab.httpLoad('c1', { url: lab.url(b1.ipv4), connections: 300, concurrency: 16 });
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const { packets } = await cap.stop();
    expect(load).toMatchObject({ ok: 300, failed: 0 });
    expect(packets.filter((p) => p.dst[0] === b1.ipv4 && p.tcpFlags === '0x0002').length).toBe(300);
  });

  for (const family of [4, 6] as const) {
    it(`keeps every packet of 300 back-to-back HTTP connections (IPv${family}), at the client and at the router`, async () => {
      const b1 = lab.node('b1');
      const server = family === 4 ? b1.ipv4 : b1.ipv6;
      const atClient = await lab.captureStart('c1', 'eth0', 'tcp port 80');
      const atRouter = await lab.captureStart('r', b1.routerIfname, 'tcp port 80');
      const load = await lab.httpLoad('c1', { url: lab.url(server), connections: 300, concurrency: 16 });
      await new Promise((r) => setTimeout(r, 300)); // the last FIN/ACKs
      const [client, router] = await Promise.all([atClient.stop(), atRouter.stop()]);
      expect(load).toMatchObject({ ok: 300, failed: 0 });
      for (const { packets } of [client, router]) {
        expect(packets.filter((p) => p.dst[0] === server && p.tcpFlags === '0x0002').length).toBe(300);
        expect(packets.filter((p) => p.src[0] === server && p.tcpFlags === '0x0012').length).toBe(300);
      }
      expect(client.packets.length).toBe(router.packets.length);
    });
  }
});
