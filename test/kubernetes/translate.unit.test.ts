// lb/kubernetes's translation on its own (pure): the same objects give the same plan whatever order
// they arrive in (every node computes it), existing allocations win over requests, two Services
// claiming one address are settled by age, and capacity is shared out oldest first.
import { describe, expect, it } from 'vitest';
import { Pools, translate, type TranslateInput } from '../../lb/kubernetes/index.js';
import { DesiredState, type Limits } from '../../lb/model/index.js';

const LIMITS: Limits = { maxServices: 63, maxBackends: 255, maxBackendsPerService: 64, maglevTableSize: 4093 };
const pools = new Pools([
  { name: 'a', prefixes: [{ address: '10.100.0.0', family: 4, prefixLength: 30, text: '10.100.0.0/30' }] },
  { name: 'b', prefixes: [{ address: 'fd00:100::', family: 6, prefixLength: 126, text: 'fd00:100::/126' }] },
]);

let uid = 0;
function svc(name: string, age: number, o: { status?: string[]; families?: string[]; ips?: string } = {}) {
  return {
    metadata: {
      namespace: 'ns',
      name,
      uid: `uid-${++uid}`,
      resourceVersion: '1',
      creationTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, age)).toISOString(),
      ...(o.ips ? { annotations: { 'xlb.dev/load-balancer-ips': o.ips } } : {}),
    },
    spec: { type: 'LoadBalancer', loadBalancerClass: 'xlb.dev/xlb', ipFamilies: o.families ?? ['IPv4'], ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 80 }] },
    status: { loadBalancer: { ingress: (o.status ?? []).map((ip) => ({ ip, ipMode: 'VIP' })) } },
  };
}

function input(services: object[], o: Partial<TranslateInput> = {}): TranslateInput {
  return {
    services,
    slices: [],
    nodes: [],
    loadBalancerClass: 'xlb.dev/xlb',
    defaultClass: false,
    pools,
    limits: LIMITS,
    others: { vips: new Set(), ids: new Set() },
    capacity: { services: 63, backends: 255 },
    ...o,
  } as TranslateInput;
}

const summary = (t: ReturnType<typeof translate>) =>
  t.plans.map((p) => ({ name: p.ref.name, status: p.status, changed: p.statusChanged, programs: p.inputs.map((i) => `${i.vip}:${i.port}`), problems: p.problems.map((x) => x.reason) }));

describe('translate', () => {
  it('gives the same plan whatever order the objects come in', () => {
    const services = [
      svc('c', 3),
      svc('a', 1, { status: ['10.100.0.1'] }),
      svc('b', 2, { families: ['IPv4', 'IPv6'] }),
      svc('d', 4, { ips: '10.100.0.1' }),
      svc('e', 5),
    ];
    const base = summary(translate(input(services)));
    expect(base).toEqual([
      { name: 'a', status: ['10.100.0.1'], changed: false, programs: ['10.100.0.1:80'], problems: [] },
      { name: 'b', status: ['10.100.0.0', 'fd00:100::'], changed: true, programs: [], problems: [] },
      { name: 'c', status: ['10.100.0.2'], changed: true, programs: [], problems: [] },
      { name: 'd', status: [], changed: false, programs: [], problems: ['AddressTaken'] },
      { name: 'e', status: ['10.100.0.3'], changed: true, programs: [], problems: [] },
    ]);
    // Seeded shuffles: the order of a list or a re-list must not matter.
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 20; i++) {
      const shuffled = [...services].sort(() => random() - 0.5);
      expect(summary(translate(input(shuffled)))).toEqual(base);
    }
  });

  it('two Services with the same address in their status: the older keeps it, the younger gets a new one', () => {
    const t = translate(input([svc('young', 2, { status: ['10.100.0.0'] }), svc('old', 1, { status: ['10.100.0.0'] })]));
    expect(summary(t)).toEqual([
      { name: 'old', status: ['10.100.0.0'], changed: false, programs: ['10.100.0.0:80'], problems: [] },
      { name: 'young', status: ['10.100.0.1'], changed: true, programs: [], problems: ['AddressTaken'] },
    ]);
    expect(t.plans[1]!.problems[0]!.field).toBe('status.loadBalancer.ingress[0].ip');
  });

  it('drops status addresses outside the pools or of a family the Service does not have; avoids the other layers\' VIPs', () => {
    const t = translate(input([svc('s', 1, { status: ['192.0.2.1', 'fd00:100::1'] })], { others: { vips: new Set(['10.100.0.0']), ids: new Set() } }));
    expect(summary(t)).toEqual([{ name: 's', status: ['10.100.0.1'], changed: true, programs: [], problems: [] }]);
  });

  it('an address held in a status stays when the API puts another port on it; only the same port clashes', () => {
    const t = translate(input([svc('s', 1, { status: ['10.100.0.2'] })], { others: { vips: new Set(['10.100.0.2']), ids: new Set(['10.100.0.2:80/tcp']) } }));
    expect(summary(t)).toEqual([{ name: 's', status: ['10.100.0.2'], changed: false, programs: [], problems: ['AddressTaken'] }]);
    expect(t.plans[0]!.problems[0]).toMatchObject({ field: 'spec.ports[0]', message: "10.100.0.2:80/tcp is a service created through xlb's API or config file" });
    const other = translate(input([svc('s', 1, { status: ['10.100.0.2'] })], { others: { vips: new Set(['10.100.0.2']), ids: new Set(['10.100.0.2:443/tcp']) } }));
    expect(summary(other)[0]!.programs).toEqual(['10.100.0.2:80']);
  });

  it('shares capacity out oldest first', () => {
    const t = translate(input([svc('a', 1, { status: ['10.100.0.0'] }), svc('b', 2, { status: ['10.100.0.1'] })], { capacity: { services: 1, backends: 10 } }));
    expect(summary(t).map((p) => [p.name, p.programs, p.problems])).toEqual([
      ['a', ['10.100.0.0:80'], []],
      ['b', [], ['CapacityExceeded']],
    ]);
  });

  it('a health check from the xlb.dev/health-check annotation goes on every xlb service of the Service; a bad one is an Event naming its key', () => {
    const withCheck = (value: string) => {
      const s = svc('s', 1, { status: ['10.100.0.1'] });
      return { ...s, metadata: { ...s.metadata, annotations: { 'xlb.dev/health-check': value } } };
    };
    const good = translate(input([withCheck('{"kind":"http","path":"/healthz","interval":"2s","timeout":"500ms","fall":2}')]));
    expect(good.plans[0]!.problems).toEqual([]);
    expect(good.plans[0]!.inputs).toHaveLength(1);
    // The model takes it as any other layer's check.
    const state = new DesiredState({ limits: LIMITS });
    state.apply(good.plans[0]!.inputs, { origin: 'kubernetes' });
    expect(state.get('10.100.0.1:80/tcp')?.healthCheck).toMatchObject({ kind: 'http', path: '/healthz', intervalMs: 2000, timeoutMs: 500, fall: 2, rise: 2 });

    const cases: [string, string, RegExp][] = [
      ['{"kind":"http","interval":"0s"}', 'metadata.annotations[xlb.dev/health-check].interval', /./],
      ['{"kind":"http","path":"healthz"}', 'metadata.annotations[xlb.dev/health-check].path', /\//],
      ['{"kind":"ping"}', 'metadata.annotations[xlb.dev/health-check].kind', /ping/],
      ['{"kind":"tcp","every":"2s"}', 'metadata.annotations[xlb.dev/health-check]', /unknown key every/],
      ['kind: tcp', 'metadata.annotations[xlb.dev/health-check]', /not JSON/],
    ];
    for (const [value, field, message] of cases) {
      const bad = translate(input([withCheck(value)]));
      expect(bad.plans[0]!.problems, value).toHaveLength(1);
      expect(bad.plans[0]!.problems[0], value).toMatchObject({ reason: 'InvalidAnnotation', field });
      expect(bad.plans[0]!.problems[0]!.message, value).toMatch(message);
      expect(bad.plans[0]!.inputs[0]?.healthCheck, value).toBeUndefined();
    }
  });
});
