// Config fuzzing: seeded mutations of real configuration files (the shipped example and a few
// with services, TLS and every section) through the daemon's own loader. Every outcome must be
// either a configuration or a ConfigError that says where (file:line:column, or the setting whose
// default applied) — never another exception, which xlbd would report as a crash with a stack
// (lb/daemon/main.ts exits 2 for ConfigError, 1 for anything else), and never a long stall.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig } from '../../lb/config/index.js';
import { ValidationError } from '../../lb/model/index.js';
import { repoRoot } from '../lab/paths.js';
import { Rng } from '../fuzz/rng.js';

const CASES = Number(process.env.XLB_FUZZ_CONFIG_CASES ?? 2000);
const SEED = Number(process.env.XLB_FUZZ_SEED ?? 0x13);

const BASES = [
  readFileSync(join(repoRoot, 'systemd/xlb.yaml.example'), 'utf8'),
  `instance: edge-1
interfaces: [eth0]
gateway: 192.0.2.1
encap: { source_v4: 192.0.2.64/26, source_v6: "2001:db8:ff::/112" }
mtu: 9000
maglev: { table_size: 16381, seed: 3735928559 }
maps: { services: 64, backends: 1024, flows: 65536 }
limits: { max_backends_per_service: 32 }
recorder: { enabled: auto, ring_bytes: 8388608 }
api:
  listen: "[::]:50051"
  tls: { cert: /etc/xlb/server.crt, key: /etc/xlb/server.key, client_ca: /etc/xlb/ca.crt, allowed_clients: [xlb-admin] }
metrics: { listen: 127.0.0.1:9641 }
state_dir: /var/lib/xlb
bpffs_dir: /sys/fs/bpf/xlb/edge-1
detach_on_exit: false
services:
  - id: 198.51.100.10:80/tcp
    backends: [10.1.0.11, { address: 10.1.0.12, weight: 100, name: web-2 }]
  - vip: "2001:db8::10"
    port: 443
    protocol: tcp
    flags: { source_hash: true }
    backends:
      - { address: "2001:db8:1::5", weight: 0, state: draining }
`,
  `interfaces:
  - eth1
gateway: fe80::1
xdp_mode: generic
api: { listen: unix:///run/xlb/lab.sock, socket_mode: "0660", socket_group: xlb }
services:
  - { id: "10.0.0.10:*/udp", backends: [10.1.0.1, 10.1.0.2] }
`,
];

const VALUES = [
  '-1', '0', '1', '65535', '65536', '4294967296', '1e400', '.nan', '.inf', '0x10', '0o777', '""', `"${'a'.repeat(300)}"`,
  '"💥"', 'null', '~', '[]', '{}', 'true', '"0666"', '"10.0.0.300"', '"::ffff:1.2.3.4"', '"fe80::1%eth0"', '240.0.0.1',
  '"unix:relative"', '"[::1]:0"', '!!binary aGk=', '!!js/function "x"', '&a [1]', '*a', '"\\u0000"', '2001:db8::1',
];
const CHARS = [':', '-', '[', ']', '{', '}', '&', '*', '!', '%', '\t', '"', "'", '#', '\n', ',', '|', '>', '?', ' ', '\\'];

function mutate(r: Rng, text: string): string {
  let lines = text.split('\n');
  const n = r.range(1, 3);
  for (let i = 0; i < n; i++) {
    const at = r.int(lines.length);
    switch (r.weighted({ value: 6, char: 4, delete: 2, duplicate: 2, swap: 1, indent: 2, cut: 1, extra: 1 })) {
      case 'value': {
        // Replace the value after a key (or a list item) with an edge value.
        lines[at] = lines[at]!.replace(/(:\s*|-\s+)[^\s{}[\],][^,}\]]*$/, (_m, lead: string) => `${lead}${r.pick(VALUES)}`);
        break;
      }
      case 'char': {
        const line = lines[at]!;
        const pos = r.int(line.length + 1);
        lines[at] = line.slice(0, pos) + r.pick(CHARS) + line.slice(pos + (r.chance(0.5) ? 1 : 0));
        break;
      }
      case 'delete':
        lines.splice(at, 1);
        break;
      case 'duplicate':
        lines.splice(at, 0, lines[at]!);
        break;
      case 'swap': {
        const b = r.int(lines.length);
        [lines[at], lines[b]] = [lines[b]!, lines[at]!];
        break;
      }
      case 'indent':
        lines[at] = r.chance(0.5) ? `  ${lines[at]}` : lines[at]!.replace(/^ {1,2}/, '');
        break;
      case 'cut':
        lines = lines.join('\n').slice(0, r.int(text.length)).split('\n');
        break;
      default:
        lines.splice(at, 0, r.pick(['---', 'x: &a [*a]', `k${r.int(9)}: v`, '? [a, b]\n: c', `${'['.repeat(200)}`, 'services: {}', 'services: [1, "x", null]']));
    }
  }
  return lines.join('\n');
}

type Outcome = 'valid' | 'located' | 'default-path' | 'unlocated';

describe('config fuzzing', () => {
  it(`${CASES} mutated files: a configuration or a located ConfigError, never another exception`, () => {
    const r = new Rng(SEED);
    const outcomes: Record<Outcome, number> = { valid: 0, located: 0, 'default-path': 0, unlocated: 0 };
    const crashes: string[] = [];
    const unlocated: string[] = [];
    let slowest = 0;
    for (let i = 0; i < CASES; i++) {
      // The shipped example is long (parsing it costs ~10 ms here): one case in five.
      const text = mutate(r, BASES[r.chance(0.2) ? 0 : r.range(1, BASES.length - 1)]!);
      const started = performance.now();
      try {
        const c = resolveConfig({ yaml: { text, file: 'xlb.yaml' }, checkFiles: false });
        expect(c.interfaces.length).toBeGreaterThan(0);
        outcomes.valid++;
      } catch (e) {
        if (!(e instanceof ConfigError)) {
          crashes.push(`case ${i}: ${e instanceof ValidationError ? 'ValidationError' : (e as Error)?.name}: ${(e as Error)?.message}\n${text}`);
        } else if (/^xlb\.yaml:\d+:\d+: /.test(e.message)) {
          outcomes.located++;
        } else if (e.path.endsWith('(default)')) {
          outcomes['default-path']++; // a required setting is missing: there is no line to point at
        } else {
          outcomes.unlocated++;
          if (unlocated.length < 5) unlocated.push(`case ${i}: ${e.message}\n${text}`);
        }
      }
      slowest = Math.max(slowest, performance.now() - started);
    }
    expect(crashes.slice(0, 3)).toEqual([]);
    expect(unlocated).toEqual([]);
    expect(slowest).toBeLessThan(1000);
    // The mutations reach both ends: files that still load and many kinds of errors.
    expect(outcomes.valid).toBeGreaterThan(CASES / 20);
    expect(outcomes.located).toBeGreaterThan(CASES / 4);
    console.log(`config fuzz: ${CASES} cases, seed ${SEED}, 0 crashes; ${JSON.stringify(outcomes)}; slowest ${slowest.toFixed(1)} ms`);
  }, 120_000);
});
