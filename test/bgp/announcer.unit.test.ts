// The announcer against a stand-in for gobgpd's API (a fake GobgpPort with a RIB and peers; the
// real gobgpd is in bgp.lab.test.ts): what a pass adds and withdraws, that a pass with nothing to
// change changes nothing (no flap), ownership of paths, backoff while gobgpd is unreachable, and
// errors that name the configuration field. Also what is announced when (announce.ts).
import { describe, expect, it } from 'vitest';
import type { BgpConfig } from '../../lb/config/index.js';
import { announcements, BgpAnnouncer, type Announcement, type GobgpPort, type PeerSpec, type RibPath } from '../../lb/bgp/index.js';
import { DesiredState } from '../../lb/model/index.js';

class FakeGobgp implements GobgpPort {
  target = '127.0.0.1:50051';
  asn = 0;
  routerId = '';
  up = true;
  calls: string[] = [];
  peers: { address: string; peerAs: number; state: string; uptimeSeconds: number }[] = [];
  rib: RibPath[] = [];
  refusePeer: string | undefined;

  #check(what: string) {
    this.calls.push(what);
    if (!this.up) throw Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14, details: 'No connection established' });
  }
  async getBgp() {
    this.#check('getBgp');
    return { asn: this.asn, routerId: this.routerId, listenPort: 179 };
  }
  async startBgp(g: { asn: number; routerId: string }) {
    this.#check('startBgp');
    this.asn = g.asn;
    this.routerId = g.routerId;
  }
  async listPeers() {
    this.#check('listPeers');
    return this.peers.map((p) => ({ ...p }));
  }
  async addPeer(p: PeerSpec) {
    this.#check(`addPeer ${p.address}`);
    if (this.peers.some((x) => x.address === p.address) || p.address === this.refusePeer) {
      throw Object.assign(new Error('2 UNKNOWN'), { code: 2, details: `can't overwrite the existing peer: ${p.address}` });
    }
    this.peers.push({ address: p.address, peerAs: p.peerAs, state: 'established', uptimeSeconds: 1 });
  }
  async listPaths(family: 4 | 6) {
    this.#check(`listPaths ${family}`);
    return this.rib.filter((p) => p.family === family).map((p) => ({ ...p, communities: [...p.communities] }));
  }
  async addPath(p: Pick<RibPath, 'prefix' | 'nextHop' | 'communities'>) {
    this.#check(`addPath ${p.prefix}`);
    this.rib = this.rib.filter((x) => !(x.local && x.prefix === p.prefix));
    this.rib.push({ ...p, family: p.prefix.includes(':') ? 6 : 4, local: true });
  }
  async deletePath(p: Pick<RibPath, 'prefix'>) {
    this.#check(`deletePath ${p.prefix}`);
    this.rib = this.rib.filter((x) => !(x.local && x.prefix === p.prefix));
  }
  close() {}
}

const CONFIG: BgpConfig = {
  gobgpApi: '127.0.0.1:50051',
  localAs: 65001,
  listenPort: 179,
  neighbors: [
    { address: '10.2.1.1', peerAs: 65000, port: 179, passive: false },
    { address: '10.2.1.3', peerAs: 65000, port: 179, passive: false },
  ],
  communities: [65000 * 65536 + 100],
  announce: 'when_healthy',
  withdrawOnStop: true,
  shutdownDelayMs: 0,
};

function setup(o: { config?: Partial<BgpConfig>; gobgp?: FakeGobgp } = {}) {
  const gobgp = o.gobgp ?? new FakeGobgp();
  const log: string[] = [];
  const a = new BgpAnnouncer({
    config: { ...CONFIG, ...o.config },
    log: { info: (m) => log.push(m), warn: (m) => log.push(m), error: (m) => log.push(m) },
    nextHops: () => ({ v4: '10.2.1.2', v6: 'fd00:2:1::2' }),
    client: () => gobgp,
    pollMs: 60_000,
    backoff: { minMs: 20, maxMs: 80 },
  });
  return { a, gobgp, log };
}

const ann = (prefix: string, announce = true): Announcement => ({
  prefix, vip: prefix.split('/')[0]!, family: prefix.includes(':') ? 6 : 4, announce, reason: announce ? 'healthy' : 'no healthy backend',
});

describe('the announcer', () => {
  it('starts the BGP instance, adds the neighbours, announces with the next hop and communities', async () => {
    const { a, gobgp, log } = setup();
    a.setAnnouncements([ann('10.100.0.10/32'), ann('fd00:100::10/128'), ann('10.100.0.11/32', false)]);
    a.start();
    await a.sync();
    expect([gobgp.asn, gobgp.routerId]).toEqual([65001, '10.2.1.2']);
    expect(gobgp.peers.map((p) => p.address)).toEqual(['10.2.1.1', '10.2.1.3']);
    expect(gobgp.rib).toEqual([
      { prefix: '10.100.0.10/32', family: 4, nextHop: '10.2.1.2', communities: [CONFIG.communities[0]], local: true },
      { prefix: 'fd00:100::10/128', family: 6, nextHop: 'fd00:2:1::2', communities: [CONFIG.communities[0]], local: true },
    ]);
    expect(a.status).toMatchObject({ connected: true, error: undefined, announced: new Set(['10.100.0.10/32', 'fd00:100::10/128']) });
    expect(log).toContain('bgp: announced 10.100.0.10/32 next hop 10.2.1.2');

    // Nothing to change: the next pass only reads.
    gobgp.calls.length = 0;
    await a.sync();
    expect(gobgp.calls.filter((c) => !/^(getBgp|listPeers|listPaths)/.test(c))).toEqual([]);
    await a.stop();
  });

  it('withdraws stale paths of its own, replaces changed ones without a withdrawal, never touches learnt routes', async () => {
    const gobgp = new FakeGobgp();
    gobgp.asn = 65001;
    gobgp.rib = [
      { prefix: '10.100.0.99/32', family: 4, nextHop: '10.2.1.2', communities: [], local: true }, // stale, ours
      { prefix: '10.100.0.10/32', family: 4, nextHop: '10.2.1.2', communities: [], local: true }, // ours, other communities
      { prefix: '10.100.0.50/32', family: 4, nextHop: '10.2.1.1', communities: [], local: false }, // learnt from a peer
      { prefix: '10.100.0.0/24', family: 4, nextHop: '10.2.1.2', communities: [], local: true }, // not a host route
    ];
    const { a } = setup({ gobgp });
    a.setAnnouncements([ann('10.100.0.10/32')]);
    a.start();
    await a.sync();
    expect(gobgp.calls.filter((c) => /Path /.test(c))).toEqual(['deletePath 10.100.0.99/32', 'addPath 10.100.0.10/32']);
    expect(gobgp.rib.map((p) => p.prefix).sort()).toEqual(['10.100.0.0/24', '10.100.0.10/32', '10.100.0.50/32']);
    // The VIP's last service is deleted: withdrawn.
    a.setAnnouncements([]);
    await a.sync();
    expect(gobgp.rib.map((p) => p.prefix).sort()).toEqual(['10.100.0.0/24', '10.100.0.50/32']);
    await a.stop();
  });

  it('keeps going while gobgpd is unreachable, retrying with backoff, and announces once it answers', async () => {
    const gobgp = new FakeGobgp();
    gobgp.up = false;
    const { a, log } = setup({ gobgp });
    a.setAnnouncements([ann('10.100.0.10/32')]);
    a.start();
    await new Promise((r) => setTimeout(r, 300));
    const attempts = gobgp.calls.filter((c) => c === 'getBgp').length;
    expect(attempts).toBeGreaterThanOrEqual(3); // 20, 40, 80, 80 ms apart
    expect(attempts).toBeLessThan(12);
    expect(a.status).toMatchObject({ connected: false, error: 'gobgpd at 127.0.0.1:50051 is unreachable (No connection established)' });
    expect(log.filter((l) => /unreachable/.test(l))).toHaveLength(1); // said once, not per attempt
    gobgp.up = true;
    await a.sync();
    expect(a.status).toMatchObject({ connected: true, error: undefined });
    expect(gobgp.rib.map((p) => p.prefix)).toEqual(['10.100.0.10/32']);
    await a.stop();
  });

  it('names the field of a neighbour gobgpd refuses, and of a local_as that disagrees', async () => {
    const gobgp = new FakeGobgp();
    gobgp.asn = 65001;
    gobgp.peers = [{ address: '10.2.1.1', peerAs: 65010, state: 'active', uptimeSeconds: 0 }];
    gobgp.refusePeer = '10.2.1.3';
    const { a } = setup({ gobgp });
    a.setAnnouncements([ann('10.100.0.10/32')]);
    a.start();
    await a.sync();
    expect(a.status.error).toBe(
      "bgp.neighbors[0].peer_as: gobgpd refused the neighbour 10.2.1.1: can't overwrite the existing peer: 10.2.1.1 (gobgpd already has 10.2.1.1 with peer AS 65010, from its own config?)",
    );
    expect(gobgp.rib.map((p) => p.prefix)).toEqual(['10.100.0.10/32']); // paths go on regardless
    await a.stop();

    const other = new FakeGobgp();
    other.asn = 65099;
    const b = setup({ gobgp: other });
    b.a.setAnnouncements([]);
    b.a.start();
    await b.a.sync();
    expect(b.a.status.error).toBe('bgp.local_as: 65001, but gobgpd already runs AS 65099 (from its own config?); make them agree');
    expect(b.a.status.connected).toBe(true);
    await b.a.stop();
  });
});

describe('what is announced', () => {
  const LIMITS = { maxServices: 10, maxBackends: 100, maxBackendsPerService: 10, maglevTableSize: 251 };
  const state = new DesiredState({ limits: LIMITS });
  state.apply([
    { id: '10.100.0.10:80/tcp', backends: [{ address: '10.1.0.5' }] },
    { id: '10.100.0.10:443/tcp', backends: [{ address: '10.1.0.6' }] },
    { id: '10.100.0.11:80/tcp', backends: [] },
    { id: '[fd00:100::10]:80/tcp', backends: [{ address: 'fd00:3::5' }] },
  ]);
  it('when_healthy: a VIP with one healthy service; always: every VIP with a service; drained: none', () => {
    const healthy = (s: { id: string }) => s.id === '10.100.0.10:443/tcp' || s.id.startsWith('[');
    expect(announcements(state.list(), { mode: 'when_healthy', drained: false, healthy })).toEqual([
      { prefix: '10.100.0.10/32', vip: '10.100.0.10', family: 4, announce: true, reason: 'healthy' },
      { prefix: '10.100.0.11/32', vip: '10.100.0.11', family: 4, announce: false, reason: 'no healthy backend' },
      { prefix: 'fd00:100::10/128', vip: 'fd00:100::10', family: 6, announce: true, reason: 'healthy' },
    ]);
    expect(announcements(state.list(), { mode: 'always', drained: false, healthy: () => false }).map((a) => [a.announce, a.reason])).toEqual([
      [true, 'always'], [true, 'always'], [true, 'always'],
    ]);
    expect(announcements(state.list(), { mode: 'always', drained: true, healthy }).every((a) => !a.announce && a.reason === 'node drained')).toBe(true);
  });
});
