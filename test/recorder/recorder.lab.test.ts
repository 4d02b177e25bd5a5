// The recorder end to end in the namespace lab, through the real xlbd on lb1: real
// HTTP from two clients through the VIP, recordings started over gRPC (recorder/client.ts) and with
// the real `xlb record` CLI, files read by the real tshark, compared with tcpdump on the router
// and with the datapath's own service counters (GetStats).
//   - IPv4: recording one client's traffic while two clients load the VIP — ingress records are
//     exactly that client's packets (count = the router's capture of them; the two clients'
//     recordings add up to the datapath's count), egress records are IPIP from the LB to a backend
//     carrying the same inner packets; timestamps are wall-clock right (just after the router's).
//   - IPv6 with the CLI to pcapng, Ctrl-C: IP6IP6, interfaces and directions per packet.
//   - --count N → exactly N; the kernel's rule map is empty afterwards.
//   - live: `xlb record … -w - | tshark -l -r -` (and `-i -`, as Wireshark reads) prints packets while
//     traffic flows.
//   - a client that disappears (SIGKILL) frees its rules; limits answered with clear errors.
// Overload with a tiny ring: recorder.overload.test.ts.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, LabProcess } from '../lab/lab.js';
import { XlbdInstance } from '../daemon/xlbd.js';
import { RecorderApiClient } from '../../api/client/recorder.js';
import type { RecordStart } from '../../api/generated/xlb/v1/RecordStart.js';
import type { RecordEnd__Output } from '../../api/generated/xlb/v1/RecordEnd.js';
import { pinnedRecorderState, runXlb, spawnXlb, until, xlbArgv } from './cli.js';
import { pcapFrames, tsharkRead, tsharkReadBytes, type TsharkPacket } from './tshark.js';

const VIP4 = '10.100.0.10';
const VIP6 = 'fd00:100::10';

let lab: Lab;
let xlbd: XlbdInstance;
let server: string;
let scratch: string;

beforeAll(async () => {
  lab = await Lab.create({ backends: 2, clients: 2, lbNodes: 1, ipv6: true, vips4: [VIP4], vips6: [VIP6] });
  xlbd = new XlbdInstance({ lab });
  await xlbd.start();
  server = `unix://${xlbd.socket}`;
  scratch = mkdtempSync(join(tmpdir(), `xlb-rec-lab-${process.pid}-`));
  await xlbd.client.call('CreateService', {
    service: { vip: VIP4, port: 80, protocol: 'PROTOCOL_TCP', backends: lab.backends.map((b) => ({ address: b.ipv4 })) },
  });
  await xlbd.client.call('CreateService', {
    service: { id: `[${VIP6}]:80/tcp`, backends: lab.backends.map((b) => ({ address: b.ipv6 })) },
  });
}, 120_000);

afterAll(async () => {
  try {
    await xlbd?.dispose();
    await lab?.destroy();
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
});

async function servicePackets(id: string): Promise<number> {
  const st = await xlbd.client.call('GetStats', { serviceId: id });
  return Number(st.services[0].packets);
}

/** A recording over the API; `stop()` sends stop and resolves with the end message and the file. */
async function recordApi(start: RecordStart) {
  const client = RecorderApiClient.connect({ server });
  const chunks: Buffer[] = [];
  let started!: () => void;
  const isStarted = new Promise<void>((r) => (started = r));
  const call = client.record(start, { started: () => started(), chunk: (c) => chunks.push(c) });
  call.done.catch(() => {}); // observed below
  await Promise.race([isStarted, call.done.then(() => Promise.reject(new Error('ended before started')))]);
  return {
    async stop(): Promise<{ end: RecordEnd__Output | undefined; file: Buffer }> {
      call.stop();
      try {
        return { end: await call.done, file: Buffer.concat(chunks) };
      } finally {
        client.close();
      }
    },
    done: call.done,
    chunks,
  };
}

/** IP packet of an Ethernet frame (no VLANs in the lab), without trailing padding. */
function ipPacket(frame: Buffer, offset = 14): Buffer {
  const v = frame[offset]! >> 4;
  const len = v === 4 ? frame.readUInt16BE(offset + 2) : 40 + frame.readUInt16BE(offset + 4);
  return frame.subarray(offset, offset + len);
}

const tcpKey = (p: TsharkPacket) => `${p.srcPort}/${p.tcpSeq}/${p.tcpAck}/${p.tcpFlags}`;

describe('recorder on xlbd with real traffic', () => {
  it('IPv4: one of two clients recorded — exactly its packets as received, and as sent in IPIP with the same inner packets', async () => {
    const c1 = lab.node('c1');
    const c2 = lab.node('c2');
    const cap = await lab.captureStart('r', c1.routerIfname, `src ${c1.ipv4} and dst ${VIP4} and tcp port 80`);
    const before = await servicePackets(`${VIP4}:80/tcp`);
    const rec1 = await recordApi({
      filters: [{ srcCidr: c1.ipv4, dstCidr: VIP4, dstPort: 80, proto: 'CAPTURE_PROTOCOL_TCP' }],
      points: 'CAPTURE_POINTS_BOTH',
      format: 'CAPTURE_FORMAT_PCAP',
    });
    const rec2 = await recordApi({ filters: [{ srcCidr: `${c2.ipv4}/32` }], points: 'CAPTURE_POINTS_INGRESS' });
    const [l1, l2] = await Promise.all([
      lab.httpLoad('c1', { url: lab.url(VIP4), connections: 40, concurrency: 4 }),
      lab.httpLoad('c2', { url: lab.url(VIP4), connections: 40, concurrency: 4 }),
    ]);
    expect([l1.ok, l2.ok]).toEqual([40, 40]);
    await new Promise((r) => setTimeout(r, 300)); // the last ACKs / FINs reach the LB
    const [r1, r2] = await Promise.all([rec1.stop(), rec2.stop()]);
    const after = await servicePackets(`${VIP4}:80/tcp`);
    const { pcapPath } = await cap.stop();
    const routerSaw = tsharkRead(pcapPath);

    expect(r1.end?.reason).toBe('RECORD_END_REASON_STOPPED');
    const all = tsharkReadBytes(r1.file);
    const frames = pcapFrames(r1.file);
    const ingress = all.filter((p) => p.src.length === 1);
    const egress = all.filter((p) => p.src.length === 2);
    // Exactly c1's packets to the VIP: what the router forwarded from c1, no more, no less.
    expect(ingress.length).toBe(routerSaw.length);
    expect(ingress.length).toBeGreaterThanOrEqual(40 * 5); // SYN, ACK, request, ACK, FIN at least
    for (const p of ingress) expect([p.src[0], p.dst[0], p.dstPort]).toEqual([c1.ipv4, VIP4, 80]);
    // Every one was sent on as IPIP from the LB node to a backend.
    expect(egress.length).toBe(ingress.length);
    const lbAddr = lab.lbContext('lb1').ipv4;
    const backends = lab.backends.map((b) => b.ipv4);
    for (const p of egress) {
      expect(p.ipProto[0]).toBe(4);
      expect(p.src).toEqual([lbAddr, c1.ipv4]);
      expect(backends).toContain(p.dst[0]);
      expect(p.dst[1]).toBe(VIP4);
    }
    // …carrying byte for byte the packets that came in.
    const inner = (list: Buffer[], off: number) => list.map((f) => ipPacket(f, off).toString('hex')).sort();
    const inFrames = frames.filter((_, i) => all[i]!.src.length === 1);
    const outFrames = frames.filter((_, i) => all[i]!.src.length === 2);
    expect(inner(outFrames, 14 + 20)).toEqual(inner(inFrames, 14));
    // The datapath counted both clients; the two recordings' ingress records add up to it.
    const c2Ingress = tsharkReadBytes(r2.file);
    expect(c2Ingress.every((p) => p.src[0] === c2.ipv4)).toBe(true);
    expect(ingress.length + c2Ingress.length).toBe(after - before);
    expect(r1.end!.stats).toMatchObject({ matched: String(all.length), captured: String(all.length), lost: '0' });
    // Wall clock: each packet is recorded on lb1 shortly after the router's tcpdump saw it.
    const routerTime = new Map<string, bigint>();
    for (const p of routerSaw) if (!routerTime.has(tcpKey(p))) routerTime.set(tcpKey(p), p.epochNs);
    let compared = 0;
    for (const p of ingress) {
      const t = routerTime.get(tcpKey(p));
      if (t === undefined) continue;
      const lagUs = Number(p.epochNs - t) / 1000;
      expect(lagUs).toBeGreaterThan(-200);
      expect(lagUs).toBeLessThan(50_000);
      compared++;
    }
    expect(compared).toBeGreaterThan(ingress.length / 2);
  });

  it('IPv6 with the CLI to pcapng, stopped with Ctrl-C: IP6IP6, each packet marked ingress/egress', async () => {
    const c1 = lab.node('c1');
    const file = join(scratch, 'v6.pcapng');
    const cap = await lab.captureStart('r', c1.routerIfname, `src ${c1.ipv6} and dst ${VIP6} and tcp port 80`);
    const cli = spawnXlb(server, ['record', `[${c1.ipv6}] any -> [${VIP6}] 80 tcp`, '-w', file]);
    try {
      await cli.waitForOutput(/^recording \d+ to /, 30_000);
      const [l1, l2] = await Promise.all([
        lab.httpLoad('c1', { url: lab.url(VIP6), connections: 20, concurrency: 2 }),
        lab.httpLoad('c2', { url: lab.url(VIP6), connections: 20, concurrency: 2 }),
      ]);
      expect([l1.ok, l2.ok]).toEqual([20, 20]);
      await new Promise((r) => setTimeout(r, 300));
      cli.child.kill('SIGINT');
      const st = await cli.exited;
      expect(st.code).toBe(0);
    } finally {
      cli.killSync();
    }
    expect(cli.stderr).toMatch(/stopping…/);
    expect(cli.stderr).toMatch(/\d+ matched, \d+ captured \(\d+ bytes\), 0 lost — stopped/);
    const { pcapPath } = await cap.stop();
    const routerSaw = tsharkRead(pcapPath);
    const all = tsharkRead(file);
    const ingress = all.filter((p) => p.interfaceName === 'xlb-ingress');
    const egress = all.filter((p) => p.interfaceName === 'xlb-egress');
    expect(ingress.length + egress.length).toBe(all.length);
    expect(ingress.length).toBe(routerSaw.length);
    expect(egress.length).toBe(ingress.length);
    for (const p of ingress) {
      expect(p.direction).toBe(1);
      expect([p.src, p.dst]).toEqual([[c1.ipv6], [VIP6]]);
    }
    const lbAddr = lab.lbContext('lb1').ipv6;
    for (const p of egress) {
      expect(p.direction).toBe(2);
      expect(p.ipProto[0]).toBe(41);
      expect(p.src).toEqual([lbAddr, c1.ipv6]);
      expect(lab.backends.map((b) => b.ipv6)).toContain(p.dst[0]);
    }
    // Wireshark's own filters select the points.
    expect(tsharkRead(file, 'frame.packet_flags_direction == 2').length).toBe(egress.length);
    // The closing line: progress lines (one per stats message when stderr is not a terminal) come first.
    const summary = /(\d+) matched, (\d+) captured \(\d+ bytes\), \d+ lost — stopped/.exec(cli.stderr)!;
    expect([Number(summary[1]), Number(summary[2])]).toEqual([all.length, all.length]);
  });

  it('overlapping prefix / wildcard recordings (IPv4 /16 and /24, IPv6 /32 and /64) each get their own packets', async () => {
    const c1 = lab.node('c1');
    const c2 = lab.node('c2');
    const wide4 = await recordApi({ filters: [{ srcCidr: '10.1.0.0/16', dstCidr: VIP4 }], points: 'CAPTURE_POINTS_INGRESS' });
    const narrow4 = await recordApi({ filters: [{ srcCidr: '10.1.1.0/24', dstPort: 80 }], points: 'CAPTURE_POINTS_INGRESS' });
    const wide6 = await recordApi({ filters: [{ srcCidr: 'fd00:1::/32', proto: 'CAPTURE_PROTOCOL_TCP' }], points: 'CAPTURE_POINTS_INGRESS' });
    const narrow6 = await recordApi({ filters: [{ srcCidr: 'fd00:1:1::/64', dstCidr: `${VIP6}/128` }], points: 'CAPTURE_POINTS_INGRESS' });
    await Promise.all(
      (['c1', 'c2'] as const).flatMap((c) => [
        lab.httpLoad(c, { url: lab.url(VIP4), connections: 10, concurrency: 2 }),
        lab.httpLoad(c, { url: lab.url(VIP6), connections: 10, concurrency: 2 }),
      ]),
    );
    await new Promise((r) => setTimeout(r, 300));
    const [w4, n4, w6, n6] = (await Promise.all([wide4.stop(), narrow4.stop(), wide6.stop(), narrow6.stop()])).map((r) => tsharkReadBytes(r.file));
    const from = (list: TsharkPacket[], src: string) => list.filter((p) => p.src[0] === src).map(tcpKey).sort();
    // The wide ones hold both clients; the narrow ones exactly the c1 part of the wide ones.
    expect(from(w4!, c1.ipv4).length).toBeGreaterThanOrEqual(50);
    expect(from(w4!, c2.ipv4).length).toBeGreaterThanOrEqual(50);
    expect(w4!.every((p) => p.src[0] === c1.ipv4 || p.src[0] === c2.ipv4)).toBe(true);
    expect(n4!.map(tcpKey).sort()).toEqual(from(w4!, c1.ipv4));
    expect(from(w6!, c2.ipv6).length).toBeGreaterThanOrEqual(50);
    expect(w6!.every((p) => p.src[0] === c1.ipv6 || p.src[0] === c2.ipv6)).toBe(true);
    expect(n6!.map(tcpKey).sort()).toEqual(from(w6!, c1.ipv6));
  });

  it('recordings started and stopped while traffic flows never get a packet outside their filter', async () => {
    const clients = [lab.node('c1'), lab.node('c2')];
    const load = Promise.all(clients.map((c) => lab.httpLoad(c.name, { url: lab.url(VIP4), keepalive: 2, requests: 60, intervalMs: 40 })));
    const results: { src: string; file: Buffer; end: RecordEnd__Output | undefined }[] = [];
    for (let i = 0; i < 16; i++) {
      const c = clients[i % 2]!;
      const rec = await recordApi({ filters: [{ srcCidr: c.ipv4, dstCidr: VIP4, dstPort: 80, proto: 'CAPTURE_PROTOCOL_TCP' }] });
      await new Promise((r) => setTimeout(r, 60 + 20 * (i % 3)));
      results.push({ src: c.ipv4, ...(await rec.stop()) });
    }
    const loads = await load;
    expect(loads.map((l) => l.ok)).toEqual([120, 120]);
    let packets = 0;
    for (const r of results) {
      const got = tsharkReadBytes(r.file);
      packets += got.length;
      for (const p of got) expect(p.src.at(-1)).toBe(r.src); // innermost source: ingress and egress
      expect(Number(r.end!.stats!.captured)).toBe(got.length);
      expect(Number(r.end!.stats!.matched)).toBe(got.length + Number(r.end!.stats!.lost));
    }
    expect(packets).toBeGreaterThan(16);
    expect(pinnedRecorderState(xlbd.pinDir)).toEqual({ activeRules: 0, ruleLimit: 0 });
  });

  it('--count N records exactly N packets, ends by itself and leaves no rule in the kernel', async () => {
    const file = join(scratch, 'count.pcap');
    const cli = spawnXlb(server, ['record', `any -> ${VIP4} 80 tcp`, '--point', 'ingress', '-c', '7', '-w', file]);
    try {
      await cli.waitForOutput(/^recording \d+ to /, 30_000);
      expect(pinnedRecorderState(xlbd.pinDir).activeRules).toBe(1);
      await lab.httpLoad('c1', { url: lab.url(VIP4), connections: 10, concurrency: 2 });
      const st = await cli.exited;
      expect(st.code).toBe(0);
    } finally {
      cli.killSync();
    }
    expect(cli.stderr).toMatch(/7 matched, 7 captured \(\d+ bytes\), 0 lost — packet count reached/);
    const got = tsharkRead(file);
    expect(got.length).toBe(7);
    expect(got.every((p) => p.dst[0] === VIP4 && p.src.length === 1)).toBe(true);
    expect(pinnedRecorderState(xlbd.pinDir)).toEqual({ activeRules: 0, ruleLimit: 0 });
  });

  it('snaplen: caplen is cut, len stays the original; --bytes stops before the limit', async () => {
    const file = join(scratch, 'snap.pcap');
    const r = await Promise.all([
      runXlb(server, ['record', `any -> ${VIP4} 80 tcp`, '--snaplen', '60', '--bytes', '600', '-w', file, '-q']),
      (async () => {
        await until('the recording to start', () => pinnedRecorderState(xlbd.pinDir).activeRules === 1, 30_000);
        await lab.httpLoad('c1', { url: lab.url(VIP4), connections: 10, concurrency: 2 });
      })(),
    ]);
    expect(r[0].code).toBe(0);
    const got = tsharkRead(file);
    // The file never exceeds 600 captured bytes, and the recording ended because the next packet
    // would have (every lab frame is longer than 60 bytes, so each record holds 60).
    const total = got.reduce((n, p) => n + p.capLen, 0);
    expect(total).toBeLessThanOrEqual(600);
    expect(total).toBeGreaterThan(540);
    for (const p of got) {
      expect(p.capLen).toBeLessThanOrEqual(60);
      expect(p.len).toBeGreaterThanOrEqual(p.capLen);
    }
    expect(got.some((p) => p.len > 60)).toBe(true); // egress frames (IPIP SYNs) are longer than 60
    expect(readFileSync(file).readUInt32LE(16)).toBe(60); // snaplen in the pcap header
  });

  it('live: `xlb record … -w - | tshark -l -r -` (pcap) and `| tshark -l -i -` (pcapng, as Wireshark reads it) print packets while traffic flows', async () => {
    const c1 = lab.node('c1');
    const record = (extra: string[]) => xlbArgv(server, ['record', `${c1.ipv4} any -> ${VIP4} 80 tcp`, ...extra, '-w', '-', '-q']).map((a) => `'${a}'`).join(' ');
    const fields = '-T fields -e frame.number -e ip.src -e tcp.dstport';
    const pipelines = [
      new LabProcess('xlb record | tshark -r -', ['sh', '-c', `${record([])} | tshark -l -r - ${fields}`]),
      new LabProcess('xlb record --format pcapng | tshark -i -', ['sh', '-c', `${record(['--format', 'pcapng'])} | tshark -l -i - ${fields}`]),
    ];
    try {
      await until('both recordings to start', () => pinnedRecorderState(xlbd.pinDir).activeRules === 2, 30_000);
      let loadDone = false;
      const load = lab.httpLoad('c1', { url: lab.url(VIP4), keepalive: 2, requests: 40, intervalMs: 100 }).finally(() => (loadDone = true));
      const printedWhileRunning = await Promise.all(pipelines.map(async (p) => (await p.waitForOutput(/^1\t/, 20_000), !loadDone)));
      const result = await load;
      expect(result.ok).toBe(80);
      expect(printedWhileRunning).toEqual([true, true]);
      await Promise.all(pipelines.map((p) => p.stop('SIGINT', 10_000)));
    } finally {
      for (const p of pipelines) p.killSync();
    }
    for (const p of pipelines) {
      const lines = p.stdout.split('\n').filter((l) => /^\d+\t/.test(l));
      expect(lines.length).toBeGreaterThan(80);
      expect(lines.every((l) => l.split('\t')[1]!.split(',').includes(c1.ipv4))).toBe(true);
    }
    await until('the rules to be freed', () => pinnedRecorderState(xlbd.pinDir).activeRules === 0);
  });

  it('a client that disappears (SIGKILL) has its recording stopped and its rules freed', async () => {
    const cli = spawnXlb(server, ['record', `any -> ${VIP4}`, `any -> [${VIP6}]`, '-w', join(scratch, 'killed.pcap')]);
    try {
      await cli.waitForOutput(/^recording \d+ to /, 30_000);
      expect(pinnedRecorderState(xlbd.pinDir)).toEqual({ activeRules: 2, ruleLimit: 2 });
      cli.child.kill('SIGKILL');
      await cli.exited;
    } finally {
      cli.killSync();
    }
    await until('the rules to be freed', () => pinnedRecorderState(xlbd.pinDir).activeRules === 0);
    expect(pinnedRecorderState(xlbd.pinDir).ruleLimit).toBe(0);
    await until('the daemon to log the end', () => /recording \d+ ended \(cancelled\)/.test(xlbd.output));
  });

  it('limits and bad input over the API: the field is named, nothing is left behind', async () => {
    // Server-side validation through the CLI (the CLI checks syntax, the daemon the ranges); a
    // refused recording leaves an existing file alone.
    writeFileSync(join(scratch, 'x.pcap'), 'keep me');
    const snap = await runXlb(server, ['record', 'any -> any', '--snaplen', '5000', '-w', join(scratch, 'x.pcap')]);
    expect(snap.code).toBe(1);
    expect(snap.stderr).toMatch(/xlb: snaplen: 5000 is out of range 1\.\.4096/);
    expect(readFileSync(join(scratch, 'x.pcap'), 'utf8')).toBe('keep me');
    // A filter mistake is caught before contacting the daemon, with a caret under the token.
    const bad = await runXlb(server, ['record', `any -> ${VIP4} 80x tcp`, '-w', join(scratch, 'y.pcap')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`  any -> ${VIP4} 80x tcp\n  ${' '.repeat(`any -> ${VIP4} `.length)}^^^\n`);
    // 2 × 64 rules fill the datapath; the next start is refused (FAILED_PRECONDITION).
    const many = (third: number) => Array.from({ length: 64 }, (_, i) => ({ srcCidr: `10.${third}.${i}.0/24` }));
    const a = await recordApi({ filters: many(50) });
    const b = await recordApi({ filters: many(51) });
    try {
      expect(pinnedRecorderState(xlbd.pinDir)).toEqual({ activeRules: 128, ruleLimit: 128 });
      const full = await runXlb(server, ['record', 'any -> any', '-w', join(scratch, 'z.pcap')]);
      expect(full.code).toBe(1);
      expect(full.stderr).toMatch(/xlb: filters: too many rules: 1 requested, 0 of the datapath's 128 rule slots are free/);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    expect(pinnedRecorderState(xlbd.pinDir)).toEqual({ activeRules: 0, ruleLimit: 0 });
  });
});
