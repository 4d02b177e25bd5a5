// The backend decap program in the namespace lab: tunnelled packets sent from the router (standing
// in for an LB node) reach the VIP socket on the backend and are counted, the backend answers the
// client directly, packets for other hosts and malformed ones are dropped and counted, plain traffic
// is untouched, and attach/status/detach behave (idempotent, pinned, clear errors).
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachDecap, decapStatus, type DecapCounters, type DecapCounterName } from '../../lb/decap/index.js';
import { Lab, LAB_SCRIPTS, type LabNode, type LabProcess } from '../lab/lab.js';
import { backendsOf, configureService, startLbNode, type LbNode } from '../e2e/lb-node.js';

type Kind = 'ipip' | 'ip6ip6' | '4in6' | '6in4';
const COUNTER_OF: Record<Kind, DecapCounterName> = { ipip: 'ipip', ip6ip6: 'ip6ip6', '4in6': 'ip4in6', '6in4': 'ip6in4' };
const OUTER_V6: Record<Kind, boolean> = { ipip: false, ip6ip6: true, '4in6': true, '6in4': false };
const INNER_V6: Record<Kind, boolean> = { ipip: false, ip6ip6: true, '4in6': false, '6in4': true };
const KINDS: Kind[] = ['ipip', 'ip6ip6', '4in6', '6in4'];
const SINK_PORT = 5000;

interface PacketSpec {
  iface: string;
  dstMac: string;
  outer: { src: string; dst: string };
  inner: { src: string; dst: string; proto: 'udp' | 'tcp-syn'; sport: number; dport: number; payload?: string };
  tamper?: 'inner-length' | 'outer-fragment' | 'outer-checksum';
  nested?: boolean;
}

let lab: Lab;
const sinks = new Map<string, LabProcess>(); // `${backend}/${4|6}`
let seq = 0;

interface SpecOptions {
  outerDst?: string;
  /** Default: the LB node's address (in the backends' allow-list) */
  outerSrc?: string;
  innerDst?: string;
  innerSrc?: string;
  proto?: 'udp' | 'tcp-syn';
  sport?: number;
  dport?: number;
  payload?: string;
  tamper?: PacketSpec['tamper'];
  nested?: boolean;
}

function spec(backend: LabNode, kind: Kind, o: SpecOptions = {}): PacketSpec {
  const lb = lab.lbs[0]!;
  const client = lab.clients[0]!;
  return {
    iface: backend.routerIfname,
    dstMac: lab.mac(backend.name),
    outer: OUTER_V6[kind]
      ? { src: o.outerSrc ?? lb.ipv6, dst: o.outerDst ?? backend.ipv6 }
      : { src: o.outerSrc ?? lb.ipv4, dst: o.outerDst ?? backend.ipv4 },
    inner: {
      ...(INNER_V6[kind]
        ? { src: o.innerSrc ?? client.ipv6, dst: o.innerDst ?? lab.vips6[0]! }
        : { src: o.innerSrc ?? client.ipv4, dst: o.innerDst ?? lab.vips4[0]! }),
      proto: o.proto ?? 'udp',
      sport: o.sport ?? 40000,
      dport: o.dport ?? SINK_PORT,
      ...(o.payload !== undefined ? { payload: o.payload } : {}),
    },
    ...(o.tamper ? { tamper: o.tamper } : {}),
    ...(o.nested ? { nested: true } : {}),
  };
}

/** Sends the packets from the router namespace; returns each frame's length. */
async function send(specs: PacketSpec[]): Promise<number[]> {
  const r = await lab.exec('r', ['/usr/bin/python3', LAB_SCRIPTS.sendEncap, JSON.stringify(specs)], { timeoutMs: 60_000 });
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as number[];
}

const payload = (what: string) => `${what}-${process.pid}-${++seq}`;
const counters = async (b: string) => (await lab.backendDecapStatus(b)).counters;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function delta(before: DecapCounters, after: DecapCounters): Partial<Record<DecapCounterName, { packets: number; bytes: number }>> {
  const out: Partial<Record<DecapCounterName, { packets: number; bytes: number }>> = {};
  for (const name of Object.keys(after) as DecapCounterName[]) {
    const d = { packets: after[name].packets - before[name].packets, bytes: after[name].bytes - before[name].bytes };
    if (d.packets !== 0) out[name] = d;
  }
  return out;
}

/** Polls the backend's counters until `done` holds (the datapath counts before the socket sees anything). */
async function countersWhen(b: string, done: (c: DecapCounters) => boolean, timeoutMs = 5000): Promise<DecapCounters> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = await counters(b);
    if (done(c)) return c;
    if (Date.now() > deadline) return c;
    await sleep(50);
  }
}

async function startSink(backend: string, family: 4 | 6, address?: string): Promise<LabProcess> {
  const vip = address ?? (family === 4 ? lab.vips4[0]! : lab.vips6[0]!);
  const proc = lab.spawnNode(backend, LAB_SCRIPTS.udpSink, ['--address', vip, '--port', String(SINK_PORT)]);
  await proc.waitForOutput(/^bound /);
  sinks.set(`${backend}/${family}`, proc);
  return proc;
}

const sinkOf = (backend: string, kind: Kind) => sinks.get(`${backend}/${INNER_V6[kind] ? 6 : 4}`)!;
const received = (backend: string, kind: Kind, text: string) => sinkOf(backend, kind).stdout.includes(text);

beforeAll(async () => {
  lab = await Lab.create({ backends: 2, clients: 1, lbNodes: 1 });
  for (const b of ['b1', 'b2']) for (const f of [4, 6] as const) await startSink(b, f);
  // A host behind the backend: what a relayed inner packet would reach.
  const c1 = lab.node('c1');
  for (const f of [4, 6] as const) await startSink('c1', f, f === 4 ? c1.ipv4 : c1.ipv6);
});
afterAll(async () => {
  await lab?.destroy();
});

describe('decap in the lab', () => {
  it('delivers the inner packet of every tunnel kind to the VIP socket and counts it', async () => {
    const b1 = lab.node('b1');
    for (const kind of KINDS) {
      const text = payload(kind);
      const before = await counters('b1');
      const [frameLength] = await send([spec(b1, kind, { payload: text })]);
      const line = await sinkOf('b1', kind).waitForOutput(new RegExp(text), 5000);
      const got = JSON.parse(line) as { from: string; to: string; data: string };
      expect(got, kind).toEqual({
        from: INNER_V6[kind] ? lab.clients[0]!.ipv6 : lab.clients[0]!.ipv4,
        fromPort: 40000,
        to: INNER_V6[kind] ? lab.vips6[0] : lab.vips4[0],
        data: text,
      });
      expect(delta(before, await counters('b1')), kind).toEqual({ [COUNTER_OF[kind]]: { packets: 1, bytes: frameLength } });
    }
  });

  it('a tunnelled TCP SYN to the VIP is answered by the backend straight to the client (DSR)', async () => {
    const b1 = lab.node('b1');
    const toClient = await lab.captureStart('c1', 'eth0', 'tcp and src port 80');
    const viaLb = await lab.captureStart('r', lab.lbs[0]!.routerIfname, `src host ${lab.vips4[0]} or src host ${lab.vips6[0]}`);
    const sports = KINDS.map((_, i) => 41000 + i);
    await send(KINDS.map((kind, i) => spec(b1, kind, { proto: 'tcp-syn', sport: sports[i]!, dport: 80 })));
    await sleep(500);
    const { packets } = await toClient.stop();
    const lbPackets = (await viaLb.stop()).packets;
    KINDS.forEach((kind, i) => {
      const synAck = packets.find((p) => p.dstPort === sports[i] && p.tcpFlags === '0x0012');
      expect(synAck, `${kind} SYN-ACK`).toBeDefined();
      expect(synAck!.src, kind).toEqual([INNER_V6[kind] ? lab.vips6[0] : lab.vips4[0]]);
      expect(synAck!.dst, kind).toEqual([INNER_V6[kind] ? lab.clients[0]!.ipv6 : lab.clients[0]!.ipv4]);
    });
    expect(lbPackets).toEqual([]);
  });

  it('drops and counts tunnel packets whose outer destination is not this backend', async () => {
    const b1 = lab.node('b1');
    const b2 = lab.node('b2');
    const texts = KINDS.map((k) => payload(`notlocal-${k}`));
    const before = await counters('b1');
    const lengths = await send(KINDS.map((kind, i) => spec(b1, kind, { outerDst: OUTER_V6[kind] ? b2.ipv6 : b2.ipv4, payload: texts[i]! })));
    const after = await countersWhen('b1', (c) => c.notLocal.packets >= before.notLocal.packets + 4);
    expect(delta(before, after)).toEqual({ notLocal: { packets: 4, bytes: lengths.reduce((a, b) => a + b, 0) } });
    await sleep(300);
    KINDS.forEach((kind, i) => expect(received('b1', kind, texts[i]!), kind).toBe(false));
  });

  it('drops and counts tunnels from outer sources outside the allow-list (a spoofed "LB")', async () => {
    const b1 = lab.node('b1');
    const c1 = lab.node('c1');
    const texts = KINDS.map((k) => payload(`spoofed-${k}`));
    const before = await counters('b1');
    // The client itself tunnels to the backend: anyone who can route to it could.
    const lengths = await send(KINDS.map((kind, i) => spec(b1, kind, { outerSrc: OUTER_V6[kind] ? c1.ipv6 : c1.ipv4, payload: texts[i]! })));
    await sleep(500);
    KINDS.forEach((kind, i) => expect(received('b1', kind, texts[i]!), `${kind} reached the VIP socket`).toBe(false));
    const after = await countersWhen('b1', (c) => c.sourceDenied?.packets >= before.sourceDenied.packets + 4);
    expect(delta(before, after)).toEqual({ sourceDenied: { packets: 4, bytes: lengths.reduce((a, b) => a + b, 0) } });
  });

  it('never relays: inner packets for other hosts are dropped and counted even with forwarding on', async () => {
    const b1 = lab.node('b1');
    const c1 = lab.node('c1');
    await lab.exec('b1', ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', '-w', 'net.ipv6.conf.all.forwarding=1']);
    try {
      const texts = KINDS.map((k) => payload(`relay-${k}`));
      const before = await counters('b1');
      // From an address of c1's subnet that is not c1's own (c1 would drop its own source as martian).
      const lengths = await send(KINDS.map((kind, i) => spec(b1, kind, {
        innerDst: INNER_V6[kind] ? c1.ipv6 : c1.ipv4, innerSrc: INNER_V6[kind] ? 'fd00:1:1::99' : '10.1.1.99', payload: texts[i]!,
      })));
      await sleep(500);
      for (const f of [4, 6]) expect(sinks.get(`c1/${f}`)!.stdout, `relayed to c1 over IPv${f}`).not.toMatch(/relay-/);
      KINDS.forEach((kind, i) => expect(sinks.get(`c1/${INNER_V6[kind] ? 6 : 4}`)!.stdout, kind).not.toContain(texts[i]!));
      const after = await countersWhen('b1', (c) => c.innerNotLocal?.packets >= before.innerNotLocal.packets + 4);
      expect(delta(before, after)).toEqual({ innerNotLocal: { packets: 4, bytes: lengths.reduce((a, b) => a + b, 0) } });
    } finally {
      await lab.exec('b1', ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=0', '-w', 'net.ipv6.conf.all.forwarding=0']);
    }
  });

  it('--allow-forwarded-inner: inner packets the host forwards are decapsulated and forwarded; the allow-list still holds', async () => {
    // The Kubernetes case (externalTrafficPolicy: Local, kube-proxy DNATs the ingress IP to a pod):
    // the node forwards the inner packet by design. Here c1 stands in for the pod.
    const b1 = lab.node('b1');
    const c1 = lab.node('c1');
    const plain = await lab.backendDecapStatus('b1');
    expect(plain.allowForwardedInner).toBe(false);
    await lab.exec('b1', ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', '-w', 'net.ipv6.conf.all.forwarding=1']);
    try {
      // A load-time constant: a different setting reloads the program, the pinned counters stay.
      const on = await lab.attachBackendDecap('b1', { allowForwardedInner: true });
      expect(on).toMatchObject({ reused: false, allowForwardedInner: true });
      expect(on.progId).not.toBe(plain.progId);
      const status = await lab.backendDecapStatus('b1');
      expect(status).toMatchObject({ attached: true, progId: on.progId, allowForwardedInner: true });
      expect(status.counters.innerNotLocal).toEqual(plain.counters.innerNotLocal);
      expect(await lab.attachBackendDecap('b1', { allowForwardedInner: true })).toMatchObject({ reused: true, progId: on.progId });

      const texts = KINDS.map((k) => payload(`forwarded-${k}`));
      const before = await counters('b1');
      const lengths = await send(KINDS.map((kind, i) => spec(b1, kind, {
        innerDst: INNER_V6[kind] ? c1.ipv6 : c1.ipv4, innerSrc: INNER_V6[kind] ? 'fd00:1:1::99' : '10.1.1.99', payload: texts[i]!,
      })));
      for (const [i, kind] of KINDS.entries()) await sinks.get(`c1/${INNER_V6[kind] ? 6 : 4}`)!.waitForOutput(new RegExp(texts[i]!), 5000);
      const after = await countersWhen('b1', (c) => KINDS.every((k) => c[COUNTER_OF[k]].packets > before[COUNTER_OF[k]].packets));
      expect(delta(before, after)).toEqual(Object.fromEntries(KINDS.map((k, i) => [COUNTER_OF[k], { packets: 1, bytes: lengths[i]! }])));

      // What the option gives up is only the routing question: a spoofed outer source is still dropped.
      const spoofed = payload('forwarded-spoofed');
      const before2 = await counters('b1');
      await send([spec(b1, 'ipip', { outerSrc: c1.ipv4, innerDst: c1.ipv4, innerSrc: '10.1.1.99', payload: spoofed })]);
      const after2 = await countersWhen('b1', (c) => c.sourceDenied.packets > before2.sourceDenied.packets);
      expect(delta(before2, after2)).toMatchObject({ sourceDenied: { packets: 1 } });
      await sleep(300);
      expect(sinks.get('c1/4')!.stdout).not.toContain(spoofed);
    } finally {
      await lab.exec('b1', ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=0', '-w', 'net.ipv6.conf.all.forwarding=0']);
      const off = await lab.attachBackendDecap('b1');
      expect(off).toMatchObject({ reused: false, allowForwardedInner: false });
      expect((await lab.backendDecapStatus('b1')).allowForwardedInner).toBe(false);
    }
  });

  it('drops and counts a tunnel inside the tunnel', async () => {
    const b1 = lab.node('b1');
    const cases = KINDS.map((kind) => spec(b1, kind, { nested: true, payload: payload(`nested-${kind}`) }));
    const before = await counters('b1');
    const lengths = await send(cases);
    const after = await countersWhen('b1', (c) => c.innerTunnel.packets >= before.innerTunnel.packets + 4);
    expect(delta(before, after)).toEqual({ innerTunnel: { packets: 4, bytes: lengths.reduce((a, b) => a + b, 0) } });
  });

  it('drops and counts malformed tunnel packets', async () => {
    const b1 = lab.node('b1');
    const cases = [
      { kind: 'ipip' as const, tamper: 'inner-length' as const },
      { kind: '4in6' as const, tamper: 'inner-length' as const },
      { kind: 'ip6ip6' as const, tamper: 'inner-length' as const },
      { kind: 'ipip' as const, tamper: 'outer-fragment' as const },
      { kind: '6in4' as const, tamper: 'outer-checksum' as const },
    ];
    const texts = cases.map((c) => payload(`bad-${c.tamper}`));
    const before = await counters('b1');
    const lengths = await send(cases.map((c, i) => spec(b1, c.kind, { tamper: c.tamper, payload: texts[i]! })));
    const after = await countersWhen('b1', (c) => c.malformed.packets >= before.malformed.packets + cases.length);
    expect(delta(before, after)).toEqual({ malformed: { packets: cases.length, bytes: lengths.reduce((a, b) => a + b, 0) } });
    await sleep(300);
    cases.forEach((c, i) => expect(received('b1', c.kind, texts[i]!)).toBe(false));
  });

  it('leaves plain traffic untouched and uncounted', async () => {
    const b1 = lab.node('b1');
    const before = await counters('b1');
    expect(await lab.httpGet('c1', lab.url(b1.ipv4))).toBe('b1\n');
    expect(await lab.httpGet('c1', lab.url(b1.ipv6))).toBe('b1\n');
    const load = await lab.httpLoad('c1', { url: lab.url(b1.ipv4, '/bytes/200000'), connections: 5 });
    expect(load).toMatchObject({ ok: 5, failed: 0, bytes: 1_000_000 });
    expect(delta(before, await counters('b1'))).toEqual({});
  });

  it('status reports the attachment; attach again is idempotent and refreshes the address list', async () => {
    const b1 = lab.node('b1');
    const status = await lab.backendDecapStatus('b1');
    expect(status).toMatchObject({
      ifname: 'eth0', attached: true, pinned: true, pinDir: lab.decapPinDir('b1'), addresses: [b1.ipv4, b1.ipv6],
      allowedSources: ['10.2.0.0/16', 'fd00:2::/32'],
    });
    expect(status.attachedProgId).toBe(status.progId);

    const again = await lab.attachBackendDecap('b1');
    expect(again).toMatchObject({ reused: true, progId: status.progId, addresses: [b1.ipv4, b1.ipv6] });
    const filters = await lab.exec('b1', ['tc', 'filter', 'show', 'dev', 'eth0', 'ingress']);
    expect(filters.stdout.match(/ handle 0xdeca /g)).toHaveLength(1);

    // Narrow the list to the IPv4 address: IPv6-outer tunnels to this backend are no longer ours.
    expect(await lab.attachBackendDecap('b1', { addresses: [b1.ipv4] })).toMatchObject({ reused: true, progId: status.progId });
    expect((await lab.backendDecapStatus('b1')).addresses).toEqual([b1.ipv4]);
    const before = await counters('b1');
    const text = payload('narrowed');
    await send([spec(b1, 'ip6ip6', { payload: text })]);
    const after = await countersWhen('b1', (c) => c.notLocal.packets > before.notLocal.packets);
    expect(delta(before, after)).toMatchObject({ notLocal: { packets: 1 } });

    await lab.attachBackendDecap('b1');
    expect((await lab.backendDecapStatus('b1')).addresses).toEqual([b1.ipv4, b1.ipv6]);
  });

  it('rejects bad input with a clear error and changes nothing', async () => {
    const b1 = lab.node('b1');
    const statusBefore = await lab.backendDecapStatus('b1');
    const target = { ifname: 'eth0', netnsPath: b1.netnsPath, pinDir: lab.decapPinDir('b1'), allowSources: ['10.2.0.0/16'] };
    expect(() => attachDecap({ ...target, allowSources: undefined })).toThrow(/no outer source allowed: give .* --allow-source CIDR .* or --allow-any-source/);
    expect(() => attachDecap({ ...target, allowSources: [] })).toThrow(/no outer source allowed/);
    expect(() => attachDecap({ ...target, allowAnySource: true })).toThrow(/either allowed sources \(--allow-source\) or --allow-any-source, not both/);
    expect(() => attachDecap({ ...target, allowSources: ['10.2.0.1/16'] })).toThrow(/allow-source: "10\.2\.0\.1\/16" has host bits set/);
    expect(() => attachDecap({ ...target, allowSources: ['10.2.0.300'] })).toThrow(/allow-source: "10\.2\.0\.300" is not a valid IPv4 or IPv6 address/);
    expect(() => attachDecap({ ...target, ifname: 'nope0', pinDir: `${lab.pinDir}/decap/nope` })).toThrow(/unknown interface nope0 in \/run\/netns\//);
    expect(() => attachDecap({ ...target, ifname: 'much-too-long-ifname' })).toThrow(/ifname "much-too-long-ifname" is not an interface name/);
    expect(() => attachDecap({ ...target, addresses: ['10.3.1.300'] })).toThrow(/"10\.3\.1\.300" is not an IPv4 or IPv6 address/);
    expect(() => attachDecap({ ...target, addresses: [] })).toThrow(/addresses must be a non-empty list/);
    expect(() => attachDecap({ ...target, netnsPath: '/run/netns/xlab-does-not-exist' })).toThrow(/netnsPath \/run\/netns\/xlab-does-not-exist does not exist/);
    expect(() => attachDecap({ ...target, pinDir: '/tmp/xlab-not-bpffs' })).toThrow(/pinDir \/tmp\/xlab-not-bpffs is not on a bpffs/);
    expect(() => attachDecap({ ...target, objectPath: '/nonexistent/xlb_decap.o' })).toThrow(/BPF object \/nonexistent\/xlb_decap\.o not found/);
    expect(() => decapStatus({ ...target, ifname: 'nope0' })).toThrow(/unknown interface nope0/);
    expect(existsSync(`${lab.pinDir}/decap/nope`)).toBe(false);
    expect(existsSync('/tmp/xlab-not-bpffs')).toBe(false);
    const statusAfter = await lab.backendDecapStatus('b1');
    expect({ ...statusAfter, counters: undefined }).toEqual({ ...statusBefore, counters: undefined });
  });

  it('an attachment made by a separate process outlives it, and status from another process reads its counters', async () => {
    await lab.detachBackendDecap('b2');
    const target = JSON.stringify({ ifname: 'eth0', pinDir: lab.decapPinDir('b2'), allowSources: [lab.lbs[0]!.ipv4, lab.lbs[0]!.ipv6] });
    // Like `xlb decap attach` run inside the backend: network namespace entered, host bpffs kept.
    const attached = JSON.parse((await lab.execTs('b2', LAB_SCRIPTS.decapCmd, ['attach', target], { keepMounts: true, timeoutMs: 60_000 })).stdout) as { progId: number; reused: boolean };
    expect(attached.reused).toBe(false);
    expect(existsSync(`${lab.decapPinDir('b2')}/prog`)).toBe(true);

    const b2 = lab.node('b2');
    const text = payload('after-exit');
    const [frameLength] = await send([spec(b2, 'ipip', { payload: text })]);
    await sinkOf('b2', 'ipip').waitForOutput(new RegExp(text), 5000);
    const status = JSON.parse((await lab.execTs('b2', LAB_SCRIPTS.decapCmd, ['status', target], { keepMounts: true, timeoutMs: 60_000 })).stdout) as
      { attached: boolean; progId: number; counters: DecapCounters };
    expect(status).toMatchObject({ attached: true, progId: attached.progId, counters: { ipip: { packets: 1, bytes: frameLength } } });
  });

  it('re-attaching after the filter was lost reloads the program and keeps the pinned counters', async () => {
    const b2 = lab.node('b2');
    const before = await lab.backendDecapStatus('b2');
    expect(before.attached).toBe(true);
    const text = payload('before-loss');
    await send([spec(b2, 'ip6ip6', { payload: text })]);
    await sinkOf('b2', 'ip6ip6').waitForOutput(new RegExp(text), 5000);
    const counted = (await lab.backendDecapStatus('b2')).counters;

    // Someone removes the filter behind our back (e.g. tc qdisc del): the pins remain.
    await lab.exec('b2', ['tc', 'filter', 'del', 'dev', 'eth0', 'ingress', 'pref', String(0xdec), 'handle', '0xdeca', 'bpf']);
    expect(await lab.backendDecapStatus('b2')).toMatchObject({ attached: false, pinned: true, progId: before.progId });

    const again = await lab.attachBackendDecap('b2');
    expect(again.reused).toBe(false);
    expect(again.progId).not.toBe(before.progId);
    const after = await lab.backendDecapStatus('b2');
    expect(after).toMatchObject({ attached: true, pinned: true, progId: again.progId, attachedProgId: again.progId });
    expect(after.counters.ip6ip6).toEqual(counted.ip6ip6);
    const text2 = payload('after-reload');
    await send([spec(b2, 'ip6ip6', { payload: text2 })]);
    await sinkOf('b2', 'ip6ip6').waitForOutput(new RegExp(text2), 5000);
    expect((await lab.backendDecapStatus('b2')).counters.ip6ip6.packets).toBe(counted.ip6ip6.packets + 1);
  });

  it('the bpf_skb_change_proto fallback (pre-6.3 kernels) delivers 4in6 and 6in4 too', async () => {
    await lab.detachBackendDecap('b2');
    await lab.attachBackendDecap('b2', { legacyCrossFamily: true });
    const b2 = lab.node('b2');
    for (const kind of ['4in6', '6in4'] as const) {
      const text = payload(`legacy-${kind}`);
      await send([spec(b2, kind, { payload: text })]);
      await sinkOf('b2', kind).waitForOutput(new RegExp(text), 5000);
    }
    const c = await counters('b2');
    expect(c.ip4in6.packets).toBe(1);
    expect(c.ip6in4.packets).toBe(1);
    await lab.detachBackendDecap('b2');
    await lab.attachBackendDecap('b2');
  });

  it('detach removes the filter and the pins; tunnelled packets then no longer reach the VIP', async () => {
    const result = await lab.detachBackendDecap('b1');
    expect(result).toMatchObject({ detached: true, unpinned: true, interfaceMissing: false });
    expect(existsSync(lab.decapPinDir('b1'))).toBe(false);
    expect((await lab.exec('b1', ['tc', 'filter', 'show', 'dev', 'eth0', 'ingress'])).stdout).not.toMatch(/xlb_decap/);
    expect(await lab.backendDecapStatus('b1')).toMatchObject({ attached: false, pinned: false, addresses: [] });
    expect(await lab.detachBackendDecap('b1')).toMatchObject({ detached: false, unpinned: false });

    const text = payload('detached');
    await send([spec(lab.node('b1'), 'ipip', { payload: text })]);
    await sleep(500);
    expect(received('b1', 'ipip', text)).toBe(false);

    const again = await lab.attachBackendDecap('b1');
    expect(again.reused).toBe(false);
    const text2 = payload('reattached');
    await send([spec(lab.node('b1'), 'ipip', { payload: text2 })]);
    await sinkOf('b1', 'ipip').waitForOutput(new RegExp(text2), 5000);
  });
});

// The README advises rp_filter=2 (loose) on backends instead of turning it off: a reply leaves from
// the VIP on lo towards the client, and the tunnelled request's inner source (the client) arrives
// on eth0, where loose mode only asks "is the client reachable at all". Real HTTP through the LB.
describe('DSR through the LB with reverse-path filtering on the backends', () => {
  let lb: LbNode | undefined;
  const rpFilter = async (v: 0 | 1 | 2) => {
    for (const b of lab.backends) {
      await lab.exec(b.name, ['sysctl', '-q', '-w', `net.ipv4.conf.all.rp_filter=${v}`, '-w', `net.ipv4.conf.eth0.rp_filter=${v}`, '-w', `net.ipv4.conf.lo.rp_filter=${v}`]);
    }
  };
  beforeAll(async () => {
    for (const b of lab.backends) if (!(await lab.backendDecapStatus(b.name)).attached) await lab.attachBackendDecap(b.name);
    lb = await startLbNode(lab, 'lb1');
    const all = lab.backends.map((node) => ({ node }));
    configureService([lb], { id: 1, vip: lab.vips4[0]!, port: 80, protocol: 'tcp' }, backendsOf(1, all, 4));
    configureService([lb], { id: 2, vip: lab.vips6[0]!, port: 80, protocol: 'tcp' }, backendsOf(2, all, 6));
  });
  afterAll(async () => {
    lb?.stop();
    await rpFilter(0);
  });

  for (const mode of [2, 1] as const) {
    it(`rp_filter=${mode} (${mode === 2 ? 'loose' : 'strict'}): every connection through the VIP succeeds, on every backend`, async () => {
      await rpFilter(mode);
      for (const vip of [lab.vips4[0]!, lab.vips6[0]!]) {
        const load = await lab.httpLoad('c1', { url: lab.url(vip), connections: 40, concurrency: 8 });
        expect(load, vip).toMatchObject({ ok: 40, failed: 0 });
        expect(Object.keys(load.perBackend).sort(), vip).toEqual(['b1', 'b2']);
      }
    });
  }
});
