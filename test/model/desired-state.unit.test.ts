// DesiredState semantics: canonical storage, diffs the reconciler can act on, the weight/state
// rules, the three layers (api / config / kubernetes), all-or-nothing operations, and datapath id allocation
// (stable, persisted, not reused soon).
import { describe, expect, it } from 'vitest';
import {
  DesiredState,
  IdAllocator,
  servicesFromDocument,
  ValidationError,
  type Limits,
  type StateDiff,
} from '../../lb/model/index.js';

const LIMITS: Limits = { maxServices: 100, maxBackends: 1000, maxBackendsPerService: 64, maglevTableSize: 65537 };

function clock(start = 1_700_000_000_000) {
  let t = start;
  const now = () => t;
  return { now, advance: (ms: number) => (t += ms) };
}

function newState(limits: Limits = LIMITS, c = clock()) {
  return new DesiredState({ limits, now: c.now, reuseDelayMs: 60_000 });
}

function summary(d: StateDiff) {
  return { created: d.created, updated: d.updated, deleted: d.deleted, unchanged: d.unchanged };
}

function rejects(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError) return e;
    throw e;
  }
  throw new Error('expected a ValidationError');
}

describe('DesiredState basics', () => {
  it('stores services canonically, backends sorted, with datapath ids ≥ 1', () => {
    const s = newState();
    const d = s.create({
      vip: '2001:DB8:0::10',
      port: 443,
      protocol: 'TCP',
      backends: [{ address: '2001:db8:1::20' }, { address: '2001:db8:1::3', weight: 5, name: 'b3' }, { address: '2001:db8:1::0:1', weight: 0 }],
    });
    expect(summary(d)).toEqual({ created: ['[2001:db8::10]:443/tcp'], updated: [], deleted: [], unchanged: [] });
    const svc = s.get('[2001:db8::10]:443/tcp');
    expect(svc).toMatchObject({ id: '[2001:db8::10]:443/tcp', vip: '2001:db8::10', family: 6, origin: 'api', datapathId: 1, flags: { sourceHash: false } });
    expect(svc.backends.map((b) => [b.address, b.weight, b.state, b.datapathId, b.name])).toEqual([
      ['2001:db8:1::1', 0, 'draining', 1, undefined],
      ['2001:db8:1::3', 5, 'active', 2, 'b3'],
      ['2001:db8:1::20', 1, 'active', 3, undefined],
    ]); // ids follow the canonical order, not the order the request listed them in
    expect(Object.isFrozen(svc) && Object.isFrozen(svc.backends[0])).toBe(true);
    expect(d.changes[0]).toMatchObject({ kind: 'created', datapathChanged: true });
    expect(d.changes[0]!.addedBackends).toHaveLength(3);
  });

  it('finds a service by any spelling of its id, and lists in VIP order', () => {
    const s = newState();
    s.create({ id: '[2001:db8::10]:*/udp' });
    s.create({ id: '10.0.0.10:80/udp' });
    s.create({ id: '10.0.0.9:443/tcp' });
    s.create({ id: '10.0.0.10:80/tcp' });
    s.create({ id: '10.0.0.10:*/tcp' });
    expect(s.find('[2001:DB8::0:10]:*/UDP')?.id).toBe('[2001:db8::10]:*/udp');
    expect(s.find('garbage')).toBeUndefined();
    expect(s.list().map((x) => x.id)).toEqual([
      '10.0.0.9:443/tcp',
      '10.0.0.10:*/tcp',
      '10.0.0.10:80/tcp',
      '10.0.0.10:80/udp',
      '[2001:db8::10]:*/udp',
    ]);
  });

  it('accepts an IPv6 backend for an IPv4 VIP (4in6) and mixed families', () => {
    const s = newState();
    s.create({ vip: '10.0.0.10', port: 80, protocol: 'tcp', backends: [{ address: '10.1.0.1' }, { address: '2001:db8:1::1' }] });
    expect(s.get('10.0.0.10:80/tcp').backends.map((b) => b.family)).toEqual([4, 6]);
  });

  it('update: flags only keeps backends and their ids', () => {
    const s = newState();
    s.create({ id: '10.0.0.10:80/tcp', backends: [{ address: '10.1.0.1' }, { address: '10.1.0.2' }] });
    const ids = s.get('10.0.0.10:80/tcp').backends.map((b) => b.datapathId);
    const d = s.update({ id: '10.0.0.10:80/tcp', flags: { sourceHash: true } });
    expect(summary(d).updated).toEqual(['10.0.0.10:80/tcp']);
    expect(d.changes[0]).toMatchObject({ flagsChanged: true, datapathChanged: true, addedBackends: [], removedBackends: [] });
    expect(s.get('10.0.0.10:80/tcp').backends.map((b) => b.datapathId)).toEqual(ids);
    // Same request again: nothing to do.
    const again = s.update({ id: '10.0.0.10:80/tcp', flags: { sourceHash: true } });
    expect(summary(again)).toEqual({ created: [], updated: [], deleted: [], unchanged: ['10.0.0.10:80/tcp'] });
    expect(again.changes).toEqual([]);
  });

  it('update with replaceBackends: kept backends keep ids, removed ones free theirs, new ones get fresh ids', () => {
    const s = newState();
    s.create({ id: '10.0.0.10:80/tcp', backends: ['10.1.0.1', '10.1.0.2', '10.1.0.3'].map((address) => ({ address })) });
    const before = new Map(s.get('10.0.0.10:80/tcp').backends.map((b) => [b.address, b.datapathId]));
    const d = s.update(
      { id: '10.0.0.10:80/tcp', backends: [{ address: '10.1.0.2', weight: 3 }, { address: '10.1.0.3' }, { address: '10.1.0.4' }] },
      { replaceBackends: true },
    );
    const after = new Map(s.get('10.0.0.10:80/tcp').backends.map((b) => [b.address, b.datapathId]));
    expect(after.get('10.1.0.2')).toBe(before.get('10.1.0.2'));
    expect(after.get('10.1.0.3')).toBe(before.get('10.1.0.3'));
    expect([...before.values()]).not.toContain(after.get('10.1.0.4')); // not the id 10.1.0.1 just freed
    const c = d.changes[0]!;
    expect(c.addedBackends.map((b) => b.address)).toEqual(['10.1.0.4']);
    expect(c.removedBackends.map((b) => b.address)).toEqual(['10.1.0.1']);
    expect(c.changedBackends.map((x) => [x.before.weight, x.after.weight])).toEqual([[1, 3]]);
    expect(s.backendCount).toBe(3);
  });

  it('delete frees the ids; the service can be recreated (with new ids)', () => {
    const s = newState();
    s.create({ id: '10.0.0.10:80/tcp', backends: [{ address: '10.1.0.1' }] });
    const old = s.get('10.0.0.10:80/tcp');
    const d = s.delete('10.0.0.10:80/tcp');
    expect(summary(d).deleted).toEqual(['10.0.0.10:80/tcp']);
    expect(d.changes[0]!.removedBackends.map((b) => b.datapathId)).toEqual([old.backends[0]!.datapathId]);
    expect(s.serviceCount).toBe(0);
    expect(s.backendCount).toBe(0);
    s.create({ id: '10.0.0.10:80/tcp', backends: [{ address: '10.1.0.1' }] });
    const again = s.get('10.0.0.10:80/tcp');
    expect(again.datapathId).not.toBe(old.datapathId);
    expect(again.backends[0]!.datapathId).not.toBe(old.backends[0]!.datapathId);
  });
});

describe('backend weight and state', () => {
  function withBackend() {
    const s = newState();
    s.create({ id: '10.0.0.10:80/tcp', backends: [{ address: '10.1.0.1', weight: 4 }, { address: '10.1.0.2' }] });
    return s;
  }
  const b1 = (s: DesiredState) => s.get('10.0.0.10:80/tcp').backends[0]!;

  it('addBackend defaults to weight 1, active; weight 0 means draining', () => {
    const s = withBackend();
    s.addBackend('10.0.0.10:80/tcp', { address: '10.1.0.3' });
    s.addBackend('10.0.0.10:80/tcp', { address: '10.1.0.4', weight: 0 });
    const bs = s.get('10.0.0.10:80/tcp').backends;
    expect(bs.map((b) => [b.address, b.weight, b.state])).toEqual([
      ['10.1.0.1', 4, 'active'],
      ['10.1.0.2', 1, 'active'],
      ['10.1.0.3', 1, 'active'],
      ['10.1.0.4', 0, 'draining'],
    ]);
  });

  it('drain keeps the weight for later; undrain restores it; the datapath id never changes', () => {
    const s = withBackend();
    const id = b1(s).datapathId;
    const d = s.updateBackend('10.0.0.10:80/tcp', '10.1.0.1', { state: 'draining' });
    expect(b1(s)).toMatchObject({ weight: 4, state: 'draining', datapathId: id });
    expect(d.changes[0]).toMatchObject({ datapathChanged: true });
    s.updateBackend('10.0.0.10:80/tcp', '10.1.0.1', { state: 'active' });
    expect(b1(s)).toMatchObject({ weight: 4, state: 'active', datapathId: id });
  });

  it('after changes in place, list() and tablesBySize() equal what a fresh state computes', () => {
    const s = newState({ ...LIMITS, maglevTableSize: 16381 });
    for (let i = 0; i < 20; i++) s.create({ id: `10.0.${i % 3}.${20 - i}:80/tcp`, backends: [{ address: '10.1.0.1' }, { address: '10.1.0.2' }] });
    s.list();
    s.tablesBySize(); // both cached now
    s.updateBackend('10.0.1.19:80/tcp', '10.1.0.1', { weight: 0 });
    s.updateBackend('10.0.1.19:80/tcp', '10.1.0.2', { weight: 0 }); // no active backend: no table
    s.updateBackend('10.0.2.18:80/tcp', '10.1.0.1', { weight: 5 });
    const fresh = DesiredState.fromSnapshot(JSON.parse(JSON.stringify(s.toSnapshot())), { limits: s.limits });
    expect(s.list().map((x) => x.id)).toEqual(fresh.list().map((x) => x.id));
    expect(s.list().find((x) => x.id === '10.0.2.18:80/tcp')!.backends[0]!.weight).toBe(5);
    expect([...s.tablesBySize()]).toEqual([...fresh.tablesBySize()]);
    expect(s.tablesBySize().get(16381)).toBe(19);
  });

  it('setting a weight also sets the state unless a state is given', () => {
    const s = withBackend();
    s.updateBackend('10.0.0.10:80/tcp', '10.1.0.1', { weight: 0 });
    expect(b1(s)).toMatchObject({ weight: 0, state: 'draining' });
    s.updateBackend('10.0.0.10:80/tcp', '10.1.0.1', { weight: 7 });
    expect(b1(s)).toMatchObject({ weight: 7, state: 'active' });
    s.updateBackend('10.0.0.10:80/tcp', '10.1.0.1', { weight: 9, state: 'draining' });
    expect(b1(s)).toMatchObject({ weight: 9, state: 'draining' });
  });

  it('a name-only change is not a datapath change; empty name removes it', () => {
    const s = withBackend();
    const d = s.updateBackend('10.0.0.10:80/tcp', '10.1.0.1', { name: 'web-1' });
    expect(b1(s).name).toBe('web-1');
    expect(d.updated).toEqual(['10.0.0.10:80/tcp']);
    expect(d.changes[0]).toMatchObject({ datapathChanged: false });
    s.updateBackend('10.0.0.10:80/tcp', '10.1.0.1', { name: '' });
    expect(b1(s).name).toBeUndefined();
    const same = s.updateBackend('10.0.0.10:80/tcp', '10.1.0.1', {});
    expect(same.changes).toEqual([]);
    expect(same.unchanged).toEqual(['10.0.0.10:80/tcp']);
  });

  it('removeBackend by any spelling of the address', () => {
    const s = newState();
    s.create({ id: '[2001:db8::10]:443/tcp', backends: [{ address: '2001:db8:1::1' }, { address: '2001:db8:1::2' }] });
    const d = s.removeBackend('[2001:db8::10]:443/tcp', '2001:DB8:1:0:0:0:0:2');
    expect(d.changes[0]!.removedBackends.map((b) => b.address)).toEqual(['2001:db8:1::2']);
    expect(s.get('[2001:db8::10]:443/tcp').backends.map((b) => b.address)).toEqual(['2001:db8:1::1']);
  });
});

describe('apply and the two layers', () => {
  it('converges the API layer and reports created / updated / deleted / unchanged', () => {
    const s = newState();
    s.apply(servicesFromDocument([
      { id: '10.0.0.1:80/tcp', backends: ['10.1.0.1'] },
      { id: '10.0.0.2:80/tcp', backends: ['10.1.0.2'] },
      { id: '10.0.0.3:80/tcp', backends: ['10.1.0.3'] },
    ]));
    const keptId = s.get('10.0.0.1:80/tcp').backends[0]!.datapathId;
    const d = s.apply(servicesFromDocument([
      { id: '10.0.0.1:80/tcp', backends: ['10.1.0.1'] },
      { id: '10.0.0.2:80/tcp', backends: [{ address: '10.1.0.2', weight: 2 }] },
      { id: '10.0.0.4:80/tcp', backends: ['10.1.0.4'] },
    ]));
    expect(summary(d)).toEqual({
      created: ['10.0.0.4:80/tcp'],
      updated: ['10.0.0.2:80/tcp'],
      deleted: ['10.0.0.3:80/tcp'],
      unchanged: ['10.0.0.1:80/tcp'],
    });
    expect(s.get('10.0.0.1:80/tcp').backends[0]!.datapathId).toBe(keptId);
    // Applying the same set again changes nothing.
    const again = s.apply(s.list().map((x) => ({ ...x, flags: x.flags, backends: x.backends })));
    expect(again.changes).toEqual([]);
    expect(again.unchanged).toHaveLength(3);
  });

  it('API apply never deletes config-declared services; config apply takes over an API service', () => {
    const s = newState();
    s.apply(servicesFromDocument([{ id: '10.0.0.20:53/udp', backends: ['10.1.0.9'] }]), { origin: 'config' });
    s.create({ id: '10.0.0.1:80/tcp', backends: [{ address: '10.1.0.1' }] });
    const d = s.apply([]);
    expect(summary(d)).toEqual({ created: [], updated: [], deleted: ['10.0.0.1:80/tcp'], unchanged: [] });
    expect(s.get('10.0.0.20:53/udp').origin).toBe('config');

    s.create({ id: '10.0.0.1:80/tcp', backends: [{ address: '10.1.0.1' }] });
    const id = s.get('10.0.0.1:80/tcp').backends[0]!.datapathId;
    const take = s.apply(
      servicesFromDocument([{ id: '10.0.0.20:53/udp', backends: ['10.1.0.9'] }, { id: '10.0.0.1:80/tcp', backends: ['10.1.0.1'] }]),
      { origin: 'config' },
    );
    expect(summary(take)).toEqual({ created: [], updated: ['10.0.0.1:80/tcp'], deleted: [], unchanged: ['10.0.0.20:53/udp'] });
    expect(take.changes[0]).toMatchObject({ datapathChanged: false });
    expect(s.get('10.0.0.1:80/tcp')).toMatchObject({ origin: 'config' });
    expect(s.get('10.0.0.1:80/tcp').backends[0]!.datapathId).toBe(id);
    // Removing it from the config deletes it.
    const gone = s.apply(servicesFromDocument([{ id: '10.0.0.20:53/udp', backends: ['10.1.0.9'] }]), { origin: 'config' });
    expect(gone.deleted).toEqual(['10.0.0.1:80/tcp']);
  });

  it('the kubernetes layer: owned per Service, read-only for the API, never takes over, persisted with its owner', () => {
    const s = newState();
    const web = { namespace: 'shop', name: 'web' };
    const k8s = (backends: string[], ref: unknown = web) => [{ id: '10.0.0.30:80/tcp', backends: backends.map((address) => ({ address })), kubernetes: ref }];
    const created = s.apply(k8s(['10.1.0.1', '10.1.0.2']), { origin: 'kubernetes' });
    expect(created.created).toEqual(['10.0.0.30:80/tcp']);
    expect(s.get('10.0.0.30:80/tcp')).toMatchObject({ origin: 'kubernetes', kubernetes: web });

    // The API may look but not touch, and the message names the owner.
    const ops: Array<() => unknown> = [
      () => s.delete('10.0.0.30:80/tcp'),
      () => s.addBackend('10.0.0.30:80/tcp', { address: '10.1.0.3' }),
      () => s.updateBackend('10.0.0.30:80/tcp', '10.1.0.1', { weight: 0 }),
      () => s.removeBackend('10.0.0.30:80/tcp', '10.1.0.1'),
      () => s.update({ id: '10.0.0.30:80/tcp', flags: { sourceHash: true } }),
      () => s.apply([{ id: '10.0.0.30:80/tcp', backends: [] }]),
    ];
    for (const op of ops) {
      const e = rejects(op);
      expect(e.code).toBe('FAILED_PRECONDITION');
      expect(e.message).toContain('managed by Kubernetes (Service shop/web)');
    }
    expect(rejects(() => s.create({ id: '10.0.0.30:80/tcp' })).message).toMatch(/already exists \(managed by Kubernetes \(Service shop\/web\)\)/);
    // An API apply leaves the layer alone; a kubernetes apply never takes over another layer.
    s.create({ id: '10.0.0.31:80/tcp', backends: [{ address: '10.1.0.5' }] });
    expect(s.apply([]).deleted).toEqual(['10.0.0.31:80/tcp']);
    s.create({ id: '10.0.0.31:80/tcp', backends: [{ address: '10.1.0.5' }] });
    const taken = rejects(() => s.apply([...k8s(['10.1.0.1']), { id: '10.0.0.31:80/tcp', kubernetes: web }], { origin: 'kubernetes' }));
    expect(taken).toMatchObject({ code: 'FAILED_PRECONDITION', field: 'services[1]' });
    // Every kubernetes input names its Service.
    expect(rejects(() => s.apply(k8s(['10.1.0.1'], null), { origin: 'kubernetes' })).field).toBe('services[0].kubernetes');
    expect(rejects(() => s.apply(k8s(['10.1.0.1'], { namespace: 'Shop', name: 'web' }), { origin: 'kubernetes' })).field).toBe('services[0].kubernetes.namespace');

    // Same backends, another owning Service: an update that does not touch the datapath.
    const moved = s.apply(k8s(['10.1.0.1', '10.1.0.2'], { namespace: 'shop', name: 'web2' }), { origin: 'kubernetes' });
    expect(moved.changes).toEqual([expect.objectContaining({ kind: 'updated', datapathChanged: false })]);
    // The owner survives the state file.
    const copy = DesiredState.fromSnapshot(JSON.parse(JSON.stringify(s.toSnapshot())), { limits: LIMITS });
    expect(copy.get('10.0.0.30:80/tcp')).toMatchObject({ origin: 'kubernetes', kubernetes: { namespace: 'shop', name: 'web2' } });
    // An empty kubernetes apply removes the layer and nothing else.
    expect(summary(s.apply([], { origin: 'kubernetes' }))).toEqual({ created: [], updated: [], deleted: ['10.0.0.30:80/tcp'], unchanged: [] });
    expect(s.list().map((x) => x.id)).toEqual(['10.0.0.31:80/tcp']);
  });

  it('is all or nothing: one bad service deep in the list leaves everything as it was', () => {
    const s = newState();
    s.apply(servicesFromDocument([{ id: '10.0.0.1:80/tcp', backends: ['10.1.0.1'] }]));
    const before = JSON.stringify(s.toSnapshot());
    const e = rejects(() =>
      s.apply(servicesFromDocument([
        { id: '10.0.0.2:80/tcp', backends: ['10.1.0.2'] },
        { id: '10.0.0.3:80/tcp', backends: ['10.1.0.3', { address: '10.1.0.4', wieght: 2 }] },
      ])),
    );
    expect(e.field).toBe('services[1].backends[1].wieght');
    expect(e.message).toContain('unknown key');
    expect(JSON.stringify(s.toSnapshot())).toBe(before);
  });

  it('clone() is independent (dry runs, staged changes)', () => {
    const s = newState();
    s.create({ id: '10.0.0.1:80/tcp', backends: [{ address: '10.1.0.1' }] });
    const draft = s.clone();
    draft.addBackend('10.0.0.1:80/tcp', { address: '10.1.0.2' });
    draft.create({ id: '10.0.0.2:80/tcp' });
    expect(s.get('10.0.0.1:80/tcp').backends).toHaveLength(1);
    expect(s.serviceCount).toBe(1);
    expect(s.backendCount).toBe(1);
    // The original's allocator did not advance either: it hands out the same next id as the draft did.
    s.addBackend('10.0.0.1:80/tcp', { address: '10.1.0.3' });
    expect(s.get('10.0.0.1:80/tcp').backends[1]!.datapathId).toBe(draft.get('10.0.0.1:80/tcp').backends[1]!.datapathId);
  });
});

describe('datapath ids', () => {
  it('allocator: next-fit, no quick reuse, oldest freed id when nothing else is left', () => {
    const c = clock();
    const a = new IdAllocator({ max: 4, reuseDelayMs: 1000, now: c.now, what: 'backend' });
    expect([a.allocate(), a.allocate(), a.allocate()]).toEqual([1, 2, 3]);
    a.release(2);
    expect(a.allocate()).toBe(4); // not 2, freed a moment ago
    c.advance(10);
    a.release(1);
    // Free: 2 (older) and 1 (newer), both cooling: the least recently freed wins.
    expect(a.allocate()).toBe(2);
    expect(a.allocate()).toBe(1);
    expect(() => a.allocate()).toThrow(/all 4 backend ids are in use/);
  });

  it('allocator: a cooled-down id is reused only after the cursor went round', () => {
    const c = clock();
    const a = new IdAllocator({ max: 5, reuseDelayMs: 1000, now: c.now, what: 'backend' });
    a.allocate(); // 1
    a.allocate(); // 2
    a.release(1);
    c.advance(5000); // 1 has cooled down, but next-fit still prefers 3, 4, 5
    expect([a.allocate(), a.allocate(), a.allocate()]).toEqual([3, 4, 5]);
    expect(a.allocate()).toBe(1);
  });

  it('survive a snapshot round trip, and allocation continues exactly where it was', () => {
    const c = clock();
    const s = newState(LIMITS, c);
    s.create({ id: '10.0.0.1:80/tcp', backends: ['10.1.0.1', '10.1.0.2', '10.1.0.3'].map((address) => ({ address })) });
    s.create({ id: '[2001:db8::1]:443/tcp', flags: { sourceHash: true }, backends: [{ address: '2001:db8:1::1', weight: 9, name: 'v6a' }] });
    s.removeBackend('10.0.0.1:80/tcp', '10.1.0.2');
    s.delete('[2001:db8::1]:443/tcp');
    s.create({ id: '[2001:db8::1]:443/tcp', flags: { sourceHash: true }, backends: [{ address: '2001:db8:1::1', weight: 9, name: 'v6a', state: 'draining' }] });

    const json = JSON.parse(JSON.stringify(s.toSnapshot()));
    const loaded = DesiredState.fromSnapshot(json, { limits: LIMITS, now: c.now, reuseDelayMs: 60_000 });
    expect(loaded.toSnapshot()).toEqual(s.toSnapshot());
    expect(loaded.list()).toEqual(s.list());

    // The next allocations agree: the loaded state does not hand out a recently freed id.
    const freed = s.toSnapshot().backend_ids.retired.map((r) => r.id);
    expect(freed.length).toBeGreaterThan(0);
    s.addBackend('10.0.0.1:80/tcp', { address: '10.1.0.7' });
    loaded.addBackend('10.0.0.1:80/tcp', { address: '10.1.0.7' });
    const idOf = (x: DesiredState) => x.get('10.0.0.1:80/tcp').backends.find((b) => b.address === '10.1.0.7')!.datapathId;
    expect(idOf(loaded)).toBe(idOf(s));
    expect(freed).not.toContain(idOf(loaded));
  });

  it('fromSnapshot rejects inconsistent ids and bad values with a path', () => {
    const s = newState();
    s.create({ id: '10.0.0.1:80/tcp', backends: [{ address: '10.1.0.1' }, { address: '10.1.0.2' }] });
    const good = s.toSnapshot();
    const load = (mutate: (j: any) => void, limits = LIMITS) => {
      const j = JSON.parse(JSON.stringify(good));
      mutate(j);
      return rejects(() => DesiredState.fromSnapshot(j, { limits }));
    };
    expect(load((j) => (j.services[0].backends[1].datapath_id = j.services[0].backends[0].datapath_id)).message).toMatch(
      /^services\[0\]\.backends\[1\]\.datapath_id: backend id 1 is assigned twice/,
    );
    expect(load(() => {}, { ...LIMITS, maxBackends: 1 }).message).toMatch(/^services\[0\]\.backends\[1\]\.datapath_id: backend id 2 is outside 1\.\.1 \(the config now has smaller maps/);
    expect(load((j) => (j.services[0].origin = 'cli')).field).toBe('services[0].origin');
    expect(load((j) => (j.services[0].vip = '10.0.0.300')).field).toBe('services[0].vip');
    expect(load((j) => (j.services[0].id = '10.0.0.2:80/tcp')).field).toBe('services[0].id');
    expect(load((j) => (j.services[0].backends[0].weight = -1)).field).toBe('services[0].backends[0].weight');
    expect(load((j) => (j.services[0].datapath_id = 'x')).field).toBe('services[0].datapath_id');
    expect(load((j) => j.services.push(j.services[0])).message).toContain('stored twice');
    expect(load((j) => delete j.backend_ids).field).toBe('backend_ids');
  });
});

describe('transactions (the reconciler takes changes back without copying the state)', () => {
  const svcs = (n: number, from = 0) =>
    Array.from({ length: n }, (_, i) => ({ id: `10.0.${(from + i) >> 8}.${(from + i) & 255}:80/tcp`, backends: [{ address: `10.1.0.${(i % 200) + 1}` }] }));

  it('rollback restores services, ids and the allocation order exactly', () => {
    const s = newState();
    s.apply(svcs(20));
    const before = JSON.stringify(s.toSnapshot());
    const list = s.list();
    const tx = s.begin();
    s.apply([...svcs(10), ...svcs(5, 100)]); // deletes 10, creates 5
    s.addBackend('10.0.0.1:80/tcp', { address: '10.1.0.99' });
    expect(tx.record().changes).toHaveLength(16);
    tx.rollback();
    expect(JSON.stringify(s.toSnapshot())).toBe(before);
    expect(s.list()).toEqual(list);
    // The allocators are where they were: the same ids come out as without the rolled-back change.
    const twin = newState();
    twin.apply(svcs(20));
    s.create(svcs(1, 50)[0]);
    twin.create(svcs(1, 50)[0]);
    expect(s.get(svcs(1, 50)[0]!.id)).toEqual(twin.get(svcs(1, 50)[0]!.id));
  });

  it('committed changes can be undone later, newest first', () => {
    const s = newState();
    s.apply(svcs(3));
    const base = JSON.stringify(s.toSnapshot());
    const t1 = s.begin();
    s.delete('10.0.0.0:80/tcp');
    const c1 = t1.commit();
    const mid = JSON.stringify(s.toSnapshot());
    const t2 = s.begin();
    s.create(svcs(1, 7)[0]);
    const c2 = t2.commit();
    expect(c1.changes.map((c) => c.kind)).toEqual(['deleted']);
    expect(c1.released.service).toHaveLength(1);
    expect(c1.released.backend).toHaveLength(1);
    expect(c2.changes.map((c) => c.kind)).toEqual(['created']);
    c2.undo();
    expect(JSON.stringify(s.toSnapshot())).toBe(mid);
    c1.undo();
    expect(JSON.stringify(s.toSnapshot())).toBe(base);
    expect(() => c1.undo()).toThrow(/already undone/);
  });

  it('a change reports only what it touched, whatever the size of the state', () => {
    const s = new DesiredState({ limits: { ...LIMITS, maxServices: 5000, maxBackends: 5000 } });
    s.apply(svcs(4000));
    const tx = s.begin();
    const diff = s.updateBackend('10.0.1.0:80/tcp', '10.1.0.57', { weight: 3 });
    const rec = tx.record();
    tx.commit();
    expect(diff.changes).toHaveLength(1);
    expect(rec.changes.map((c) => c.id)).toEqual(['10.0.1.0:80/tcp']);
    expect(() => s.begin() && s.begin()).toThrow(/already open/);
  });
});

describe('Maglev table size per service', () => {
  const limits: Limits = { ...LIMITS, maglevTableSize: 16381 };
  it('defaults to the configured size, accepts any allowed prime, and refuses others naming table_size', () => {
    const s = new DesiredState({ limits });
    s.create({ id: '10.0.0.1:80/tcp', backends: [{ address: '10.1.0.1' }] });
    s.create({ id: '10.0.0.2:80/tcp', tableSize: 65537, backends: [{ address: '10.1.0.1' }] });
    expect(s.get('10.0.0.1:80/tcp').tableSize).toBe(16381);
    expect(s.get('10.0.0.2:80/tcp').tableSize).toBe(65537);
    const e = rejects(() => s.create({ id: '10.0.0.3:80/tcp', tableSize: 1000 }));
    expect(e.field).toBe('service.table_size');
    expect(e.message).toMatch(/1000 is not an allowed Maglev table size; allowed \(primes\): 251, 509, .*131071/);
    expect(rejects(() => new DesiredState({ limits: { ...limits, tableSizes: [251, 16381] } }).create({ id: '10.0.0.3:80/tcp', tableSize: 65537 })).message).toMatch(
      /allowed \(primes\): 251, 16381$/,
    );
  });

  it('the one-slot rule applies to the service’s own size; an update without a size keeps it; a change is a datapath change', () => {
    const s = new DesiredState({ limits });
    // 2 backends with weights 1 and 300 fit 16381 slots (the light one gets ~54) but not 251.
    const backends = [{ address: '10.1.0.1', weight: 1 }, { address: '10.1.0.2', weight: 300 }];
    expect(rejects(() => s.create({ id: '10.0.0.1:80/tcp', tableSize: 251, backends })).field).toBe('service.backends[0].weight');
    s.create({ id: '10.0.0.1:80/tcp', tableSize: 65537, backends });
    const flagsOnly = s.update({ id: '10.0.0.1:80/tcp', flags: { sourceHash: true } });
    expect(s.get('10.0.0.1:80/tcp').tableSize).toBe(65537);
    expect(flagsOnly.changes[0]).toMatchObject({ tableSizeChanged: false, flagsChanged: true });
    const resized = s.update({ id: '10.0.0.1:80/tcp', flags: { sourceHash: true }, tableSize: 4093 });
    expect(resized.changes[0]).toMatchObject({ datapathChanged: true, tableSizeChanged: true });
    expect(rejects(() => s.update({ id: '10.0.0.1:80/tcp', flags: { sourceHash: true }, tableSize: 251 })).field).toBe('service.table_size');
    // Apply is declarative: a service listed without a size gets the default.
    const applied = s.apply(servicesFromDocument([{ id: '10.0.0.1:80/tcp', flags: { source_hash: true }, backends: [{ address: '10.1.0.1', weight: 1 }, { address: '10.1.0.2', weight: 300 }] }]));
    expect(applied.updated).toEqual(['10.0.0.1:80/tcp']);
    expect(s.get('10.0.0.1:80/tcp').tableSize).toBe(16381);
    expect(servicesFromDocument([{ id: '10.0.0.9:80/tcp', table_size: 509 }])[0]!.tableSize).toBe(509);
  });

  it('is stored in snapshots; a snapshot without it (before per-service sizes) loads with the default', () => {
    const s = new DesiredState({ limits });
    s.create({ id: '10.0.0.1:80/tcp', tableSize: 4093, backends: [{ address: '10.1.0.1' }] });
    s.create({ id: '10.0.0.2:80/tcp', backends: [{ address: '10.1.0.2' }] });
    const snap = JSON.parse(JSON.stringify(s.toSnapshot()));
    expect(snap.services.map((x: { table_size: number }) => x.table_size)).toEqual([4093, 16381]);
    expect(DesiredState.fromSnapshot(snap, { limits }).list()).toEqual(s.list());
    for (const x of snap.services) delete x.table_size;
    expect(DesiredState.fromSnapshot(snap, { limits: { ...limits, maglevTableSize: 509 } }).list().map((x) => x.tableSize)).toEqual([509, 509]);
  });
});
