// The xlb CLI as a user runs it (its own entry, api/cli/run.ts, in this process: see
// runCliInProcess; as a separate process in pipe.unit.test.ts and server.lab.test.ts) against a
// STAND-IN server (test/cli/stand-in-server.ts: a real gRPC server on a unix socket, replies from
// lb/model's DesiredState, no datapath). Checked here: what the CLI sends, what it prints (tables
// and JSON), exit codes and one-line errors. The CLI against the real api/server and datapath is
// test/cli/server.lab.test.ts.
import { chmodSync, createReadStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status as GrpcStatus, ServerCredentials } from '@grpc/grpc-js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCliInProcess, type CliResult } from './run.js';
import { StandInServer } from './stand-in-server.js';
import { makeTestPki, type TestPki } from '../daemon/certs.js';

let dir: string;
let server: StandInServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), `xlb-cli-test-${process.pid}-`));
  server = await StandInServer.start(join(dir, 'xlb.sock'));
});

afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => server.reset());

/** xlb against the stand-in (XLB_SERVER names its socket). */
function xlb(args: string[], o: { input?: string; env?: Record<string, string | undefined> } = {}): Promise<CliResult> {
  return runCliInProcess(args, { input: o.input, env: { XLB_SERVER: server.address, ...o.env } });
}

/** A failed command: one line on stderr, "xlb: ...", nothing on stdout. */
function expectOneErrorLine(r: CliResult, code: number, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stdout).toBe('');
  expect(r.stderr.endsWith('\n')).toBe(true);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(/^xlb: /);
  expect(r.stderr.slice(0, -1)).toMatch(pattern);
}

async function seed(): Promise<void> {
  const r = await xlb(['service', 'add', '10.0.0.10:80/tcp', '-b', '10.1.0.5=100', '-b', '10.1.0.6=50', '-b', '2001:db8:1::7']);
  expect(r.code, r.stderr).toBe(0);
  expect((await xlb(['service', 'add', '[2001:db8::10]:443/tcp', '--source-hash'])).code).toBe(0);
  server.calls.length = 0;
}

describe('help and usage', () => {
  it('prints help with examples for every command, exit 0', async () => {
    const top = await xlb(['--help']);
    expect(top.code).toBe(0);
    for (const c of ['service', 'backend', 'apply', 'stats', 'status', 'decap']) expect(top.stdout).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
    expect(top.stdout).toContain('Exit codes: 0 ok, 1 refused or failed');
    const commands = [
      ['service'], ['service', 'add'], ['service', 'del'], ['service', 'list'], ['service', 'show'], ['service', 'set'],
      ['backend'], ['backend', 'add'], ['backend', 'del'], ['backend', 'set'], ['apply'], ['stats'], ['status'],
      ['decap'], ['decap', 'attach'], ['decap', 'detach'], ['decap', 'status'],
    ];
    const results = await Promise.all(commands.map((c) => xlb([...c, '--help'])));
    results.forEach((r, i) => {
      expect(r.code, commands[i]!.join(' ')).toBe(0);
      expect(r.stdout, commands[i]!.join(' ')).toContain('Examples:');
      expect(r.stdout).toContain(`  xlb ${commands[i]![0]}`);
    });
    expect(results[1]!.stdout).toContain('Global Options:');
    expect(results[1]!.stdout).toContain('--server <addr>');
    expect(server.calls).toEqual([]);
  });

  it('rejects bad command lines with exit 2, one line, and sends nothing', async () => {
    const cases: [string[], RegExp][] = [
      [['bogus'], /unknown command 'bogus'/],
      [['service', 'add'], /missing required argument 'service'/],
      [['service', 'ad', '10.0.0.10:80/tcp'], /unknown command 'ad'.*Did you mean add\?/],
      [['backend', 'add', '10.0.0.10:80/tcp', '10.1.0.5', '--weight', 'heavy'], /--weight <weight>' argument 'heavy' is invalid\. must be a whole number 0\.\.65535/],
      [['backend', 'add', '10.0.0.10:80/tcp', '10.1.0.5', '--weight', '99999999999'], /argument '99999999999' is invalid/],
      [['backend', 'set', '10.0.0.10:80/tcp', '10.1.0.5'], /backend set: nothing to change; give --weight, --drain, --activate or --name/],
      [['backend', 'set', '10.0.0.10:80/tcp', '10.1.0.5', '--drain', '--activate'], /option '--drain' cannot be used with option '--activate'/],
      [['service', 'set', '10.0.0.10:80/tcp'], /nothing to change; give --source-hash, --no-source-hash, --table-size or health-check options/],
      [['service', 'list', '--bogus'], /unknown option '--bogus'/],
      [['-o', 'yaml', 'service', 'list'], /argument 'yaml' is invalid\. Allowed choices are table, json/],
      [['stats', '--watch', '10.0.0.10:80/tcp'], /--watch \[seconds\]' argument '10\.0\.0\.10:80\/tcp' is invalid/],
      [['apply'], /required option '-f, --file <file>' not specified/],
      [['decap', 'attach'], /required option '--dev <iface>' not specified/],
      [['--server', 'nowhere', 'status'], /"nowhere" is not a server address; use unix:\/\/\/path\/to\.sock, HOST:PORT/],
      [['--server', 'unix://relative.sock', 'status'], /unix socket path must be absolute/],
      [['--server', '192.0.2.1:9640', 'status'], /192\.0\.2\.1:9640 is a TCP server: the daemon requires mutual TLS/],
      [['--server', '192.0.2.1:9640', '--insecure', 'status'], /plaintext is only allowed to a loopback address/],
      [['--tls-cert', '/x.pem', 'status'], /TLS options apply to TCP servers only/],
      [['--server', '[::1]:9640', '--tls-cert', join(dir, 'none.pem'), '--tls-key', join(dir, 'none.key'), 'status'], /cannot read the client key .*none\.key \(ENOENT\)/],
    ];
    const results = await Promise.all(cases.map(([args]) => xlb(args)));
    results.forEach((r, i) => expectOneErrorLine(r, 2, cases[i]![1]));
    // A command group without a subcommand shows its help on stderr, also exit 2.
    const group = await xlb(['backend']);
    expect(group.code).toBe(2);
    expect(group.stderr).toContain('Usage: xlb backend');
    expect(server.calls).toEqual([]);
  });
});

describe('reaching the daemon', () => {
  it('exit 3 with a message naming the socket when nothing listens there', async () => {
    const missing = join(dir, 'no-such.sock');
    const r = await xlb(['--server', `unix://${missing}`, 'service', 'list']);
    expectOneErrorLine(r, 3, new RegExp(`^xlb: cannot reach xlbd at unix://${missing} \\(connect ENOENT ${missing}\\): no such socket; is xlbd running\\? \\(choose the daemon with --server or XLB_SERVER\\)$`));
    // The default socket, and XLB_SERVER when set.
    const viaEnv = await runCliInProcess(['status'], { env: { XLB_SERVER: `unix://${missing}` } });
    expectOneErrorLine(viaEnv, 3, new RegExp(`cannot reach xlbd at unix://${missing}`));
    const refused = await xlb(['--server', '127.0.0.1:1', '--insecure', 'status']);
    expectOneErrorLine(refused, 3, /cannot reach xlbd at 127\.0\.0\.1:1 \(connect ECONNREFUSED 127\.0\.0\.1:1\): nothing is listening there/);
  });

  it('uses XLB_SERVER, and --server over it', async () => {
    expect((await xlb(['status'])).code).toBe(0);
    expect(server.callsOf('GetStatus')).toHaveLength(1);
    const r = await xlb(['--server', server.address, 'status'], { env: { XLB_SERVER: `unix://${join(dir, 'wrong.sock')}` } });
    expect(r.code, r.stderr).toBe(0);
    expect(server.callsOf('GetStatus')).toHaveLength(2);
  });
});

describe('services', () => {
  it('service add sends the service as typed and prints the created service', async () => {
    const r = await xlb(['service', 'add', '10.0.0.10:80/tcp', '--source-hash', '-b', '10.1.0.5=100', '--backend', '2001:db8:1::7']);
    expect(r.code, r.stderr).toBe(0);
    expect(server.callsOf('CreateService')).toEqual([
      {
        service: expect.objectContaining({
          id: '10.0.0.10:80/tcp',
          flags: { sourceHash: true },
          backends: [
            expect.objectContaining({ address: '10.1.0.5', weight: 100, optionalWeight: 'weight' }),
            expect.objectContaining({ address: '2001:db8:1::7', state: 'BACKEND_STATE_UNSPECIFIED' }),
          ],
        }),
      },
    ]);
    // No weight given: the field is absent (the daemon's default applies), not 0.
    expect((server.callsOf('CreateService')[0] as { service: { backends: { optionalWeight?: string }[] } }).service.backends[1]!.optionalWeight).toBeUndefined();
    expect(r.stdout).toBe(
      'created service 10.0.0.10:80/tcp\n' +
        'SERVICE             ORIGIN  FLAGS        ID      M\n' +
        '  -> BACKEND        WEIGHT  STATE        ID         NAME\n' +
        '10.0.0.10:80/tcp    api     source-hash   1  65537\n' +
        '  -> 10.1.0.5       100     active        1\n' +
        '  -> 2001:db8:1::7  1       active        2\n',
    );
  });

  it('service list: ipvsadm-like tree with counters; JSON is the API message in proto names', async () => {
    await seed();
    server.counters.set('10.0.0.10:80/tcp', { packets: 1234567n, bytes: 2n ** 60n + 1n });
    server.counters.set('10.0.0.10:80/tcp|10.1.0.5', { packets: 1000n, bytes: 64000n });
    const table = await xlb(['service', 'list']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toBe(
      'SERVICE                 ORIGIN  FLAGS        ID      M    PACKETS                      BYTES\n' +
        '  -> BACKEND            WEIGHT  STATE        ID           PACKETS                      BYTES  NAME\n' +
        '10.0.0.10:80/tcp        api     -             1  65537  1,234,567  1,152,921,504,606,846,977\n' +
        '  -> 10.1.0.5           100     active        1             1,000                     64,000\n' +
        '  -> 10.1.0.6           50      active        2                 0                          0\n' +
        '  -> 2001:db8:1::7      1       active        3                 0                          0\n' +
        '[2001:db8::10]:443/tcp  api     source-hash   2  65537          0                          0\n' +
        '  (no backends)\n',
    );
    expect(server.calls.map((c) => c.method)).toEqual(['ListServices', 'GetStats']);

    const json = await xlb(['service', 'list', '-o', 'json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      services: [
        {
          id: '10.0.0.10:80/tcp', vip: '10.0.0.10', port: 80, protocol: 'tcp', flags: { source_hash: false }, table_size: 65537, origin: 'api', datapath_id: 1,
          backends: [
            { address: '10.1.0.5', weight: 100, state: 'active', datapath_id: 1 },
            { address: '10.1.0.6', weight: 50, state: 'active', datapath_id: 2 },
            { address: '2001:db8:1::7', weight: 1, state: 'active', datapath_id: 3 },
          ],
        },
        { id: '[2001:db8::10]:443/tcp', vip: '2001:db8::10', port: 443, protocol: 'tcp', flags: { source_hash: true }, table_size: 65537, origin: 'api', datapath_id: 2, backends: [] },
      ],
    });
  });

  it('service show, set and del', async () => {
    await seed();
    const show = await xlb(['service', 'show', '[2001:DB8::10]:443/TCP', '-o', 'json']);
    expect(show.code, show.stderr).toBe(0);
    expect(JSON.parse(show.stdout).service.id).toBe('[2001:db8::10]:443/tcp');
    expect(server.callsOf('GetService')).toEqual([{ serviceId: '[2001:DB8::10]:443/TCP' }]);

    const set = await xlb(['service', 'set', '[2001:db8::10]:443/tcp', '--no-source-hash']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout.split('\n')[0]).toBe('updated service [2001:db8::10]:443/tcp');
    expect(server.callsOf('UpdateService')).toEqual([
      expect.objectContaining({ service: expect.objectContaining({ id: '[2001:db8::10]:443/tcp', flags: { sourceHash: false } }), replaceBackends: false }),
    ]);
    const again = await xlb(['service', 'set', '[2001:db8::10]:443/tcp', '--no-source-hash', '-o', 'json']);
    expect(JSON.parse(again.stdout).changed).toBe(false);

    // --table-size alone keeps the flags (read first: UpdateService sets all flags at once).
    const resize = await xlb(['service', 'set', '10.0.0.10:80/tcp', '--table-size', '4093', '-o', 'json']);
    expect(resize.code, resize.stderr).toBe(0);
    expect(JSON.parse(resize.stdout).service.table_size).toBe(4093);
    expect(server.callsOf('UpdateService').at(-1)).toEqual(
      expect.objectContaining({ service: expect.objectContaining({ id: '10.0.0.10:80/tcp', flags: { sourceHash: false }, tableSize: 4093 }) }),
    );
    const added = await xlb(['service', 'add', '10.0.0.30:80/tcp', '--table-size', '509', '-o', 'json']);
    expect(JSON.parse(added.stdout).service.table_size).toBe(509);
    expectOneErrorLine(await xlb(['service', 'add', '10.0.0.31:80/tcp', '--table-size', '1000']), 1, /^xlb: service\.table_size: 1000 is not an allowed Maglev table size/);
    expectOneErrorLine(await xlb(['service', 'add', '10.0.0.31:80/tcp', '--table-size', 'big']), 2, /--table-size.*must be a whole number/);
    await xlb(['service', 'del', '10.0.0.30:80/tcp']);

    const del = await xlb(['service', 'del', '[2001:db8::10]:443/tcp']);
    expect([del.code, del.stdout]).toEqual([0, 'deleted service [2001:db8::10]:443/tcp\n']);
    expect(server.callsOf('DeleteService').at(-1)).toEqual({ serviceId: '[2001:db8::10]:443/tcp' });
    expect(server.state.list().map((s) => s.id)).toEqual(['10.0.0.10:80/tcp']);
  });

  it("passes the server's field-naming errors through as one line, exit 1", async () => {
    await seed();
    const cases: [string[], RegExp][] = [
      [['service', 'add', '10.0.0.10:80/tcp'], /^xlb: service.*already exists/],
      [['service', 'add', '10.0.0.300:80/tcp'], /^xlb: service\.id: .*10\.0\.0\.300/],
      [['service', 'add', '10.0.0.11:0/tcp'], /port 0 is written '\*'/],
      [['service', 'add', '10.0.0.11:80/sctp'], /unknown protocol "sctp"; expected tcp or udp/],
      [['service', 'add', '10.0.0.11:80/tcp', '-b', '10.1.0.5=70000'], /^xlb: service\.backends\[0\]\.weight: 70000 is out of range; must be an integer 0\.\.65535 \(0 = draining\)$/],
      [['service', 'show', '10.0.0.99:80/tcp'], /^xlb: service_id: .*10\.0\.0\.99:80\/tcp.*(not found|does not exist|no service)/i],
      [['backend', 'add', '[2001:db8::10]:443/tcp', '10.1.0.5'], /^xlb: backend\.address: 10\.1\.0\.5 is IPv4 but the VIP 2001:db8::10 is IPv6/],
      [['backend', 'add', '10.0.0.10:80/tcp', '10.1.0.5'], /already/],
      [['backend', 'del', '10.0.0.10:80/tcp', '10.9.9.9'], /10\.9\.9\.9/],
    ];
    for (const [args, pattern] of cases) expectOneErrorLine(await xlb(args), 1, pattern);
    server.failNext('GetStatus', GrpcStatus.INTERNAL, 'datapath change failed: bpf_map_update_elem: E2BIG\nsecond line');
    expectOneErrorLine(await xlb(['status']), 1, /^xlb: datapath change failed: bpf_map_update_elem: E2BIG second line$/);
    // Nothing was changed by the refused calls.
    expect(server.state.list().map((s) => `${s.id}:${s.backends.length}`)).toEqual(['10.0.0.10:80/tcp:3', '[2001:db8::10]:443/tcp:0']);
  });
});

describe('backends', () => {
  it('backend add/set/del send exactly the given fields', async () => {
    await seed();
    const add = await xlb(['backend', 'add', '10.0.0.10:80/tcp', '10.1.0.8', '-w', '7', '--name', 'web-8', '--drain']);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toMatch(/^added backend 10\.1\.0\.8 to 10\.0\.0\.10:80\/tcp\n/);
    expect(add.stdout).toMatch(/^ {2}-> 10\.1\.0\.8 +7 +draining +4 +web-8$/m);
    expect(server.callsOf('AddBackend')).toEqual([
      { serviceId: '10.0.0.10:80/tcp', backend: expect.objectContaining({ address: '10.1.0.8', weight: 7, optionalWeight: 'weight', name: 'web-8', state: 'BACKEND_STATE_DRAINING' }) },
    ]);

    const runs: [string[], Record<string, unknown>][] = [
      [['--drain'], { state: 'BACKEND_STATE_DRAINING' }],
      [['--activate'], { state: 'BACKEND_STATE_ACTIVE' }],
      [['--weight', '0'], { weight: 0, optionalWeight: 'weight', state: 'BACKEND_STATE_UNSPECIFIED' }],
      [['--weight', '250', '--activate'], { weight: 250, optionalWeight: 'weight', state: 'BACKEND_STATE_ACTIVE' }],
      [['--name', 'web-5'], { name: 'web-5', optionalName: 'name' }],
      [['--name', ''], { name: '', optionalName: 'name' }],
    ];
    for (const [flags, fields] of runs) {
      server.calls.length = 0;
      const r = await xlb(['backend', 'set', '10.0.0.10:80/tcp', '10.1.0.5', ...flags, '-o', 'json']);
      expect(r.code, `${flags.join(' ')}: ${r.stderr}`).toBe(0);
      const req = server.callsOf('UpdateBackend')[0] as Record<string, unknown>;
      expect(req).toMatchObject({ serviceId: '10.0.0.10:80/tcp', address: '10.1.0.5', ...fields });
      if (!('optionalWeight' in fields)) expect(req.optionalWeight, flags.join(' ')).toBeUndefined();
      if (!('optionalName' in fields)) expect(req.optionalName, flags.join(' ')).toBeUndefined();
      expect(JSON.parse(r.stdout)).toMatchObject({ changed: true, service: { id: '10.0.0.10:80/tcp' } });
    }
    const b = server.state.get('10.0.0.10:80/tcp').backends.find((x) => x.address === '10.1.0.5')!;
    expect([b.weight, b.state, b.name]).toEqual([250, 'active', undefined]);

    const same = await xlb(['backend', 'set', '10.0.0.10:80/tcp', '10.1.0.5', '--weight', '250']);
    expect(same.stdout.split('\n')[0]).toBe('no change to backend 10.1.0.5 of 10.0.0.10:80/tcp');

    const del = await xlb(['backend', 'del', '10.0.0.10:80/tcp', '2001:DB8:1::7']);
    expect(del.code, del.stderr).toBe(0);
    expect(del.stdout.split('\n')[0]).toBe('removed backend 2001:DB8:1::7 from 10.0.0.10:80/tcp');
    expect(server.callsOf('RemoveBackend')).toEqual([{ serviceId: '10.0.0.10:80/tcp', address: '2001:DB8:1::7' }]);
    expect(del.stdout).not.toContain('2001:db8:1::7');
  });
});

describe('apply', () => {
  const file = () => join(dir, 'services.yaml');

  it('sends the file in its order, prints what changed, and --dry-run changes nothing', async () => {
    await seed();
    writeFileSync(
      file(),
      [
        'services:',
        '  - id: 10.0.0.20:53/udp',
        '    table_size: 4093',
        '    backends: [10.1.0.21, { address: 10.1.0.22, weight: 3, name: dns-2 }]',
        '  - vip: 10.0.0.10',
        '    port: 80',
        '    protocol: TCP',
        '    flags: { source_hash: true }',
        '    backends:',
        '      - { address: 10.1.0.6, weight: 50 }',
        '      - { address: 10.1.0.5, weight: 100, state: draining }',
        '',
      ].join('\n'),
    );
    const dry = await xlb(['apply', '-f', file(), '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toBe(
      'dry run: nothing was changed; apply would do this:\n' +
        'created  10.0.0.20:53/udp\n' +
        'updated  10.0.0.10:80/tcp\n' +
        'deleted  [2001:db8::10]:443/tcp\n' +
        '1 created, 1 updated, 1 deleted, 0 unchanged\n',
    );
    const req = server.callsOf('Apply')[0] as { dryRun: boolean; services: { id: string; flags: unknown; backends: { address: string; weight?: number; state: string; name: string }[] }[] };
    expect(req.dryRun).toBe(true);
    expect(req.services.map((s) => s.id)).toEqual(['10.0.0.20:53/udp', '10.0.0.10:80/tcp']);
    expect(req.services[1]!.flags).toEqual({ sourceHash: true });
    expect(req.services[1]!.backends.map((b) => [b.address, b.weight, b.state])).toEqual([
      ['10.1.0.6', 50, 'BACKEND_STATE_UNSPECIFIED'],
      ['10.1.0.5', 100, 'BACKEND_STATE_DRAINING'],
    ]);
    expect(req.services[0]!.backends[1]!.name).toBe('dns-2');
    // A size given in the file is sent; none means the daemon's default (0 on the wire).
    expect(req.services.map((s) => (s as { tableSize?: number }).tableSize)).toEqual([4093, 0]);
    expect(server.state.list()).toHaveLength(2);

    const real = await xlb(['apply', '-f', file(), '-o', 'json']);
    expect(real.code, real.stderr).toBe(0);
    expect(JSON.parse(real.stdout)).toEqual({
      created: ['10.0.0.20:53/udp'], updated: ['10.0.0.10:80/tcp'], deleted: ['[2001:db8::10]:443/tcp'], unchanged: [], dry_run: false,
    });
    expect(server.state.list().map((s) => s.id)).toEqual(['10.0.0.10:80/tcp', '10.0.0.20:53/udp']);
  });

  it('`service list -o json | xlb apply -f -` is a no-op (output-only fields accepted)', async () => {
    await seed();
    const list = await xlb(['service', 'list', '-o', 'json']);
    const r = await xlb(['apply', '-f', '-'], { input: list.stdout });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('unchanged  10.0.0.10:80/tcp\nunchanged  [2001:db8::10]:443/tcp\n0 created, 0 updated, 0 deleted, 2 unchanged\n');
  });

  it('reports file mistakes at their line and column before contacting the daemon, exit 1', async () => {
    const cases: [string, RegExp][] = [
      ['services:\n  - id: 10.0.0.10:80/tcp\n    backends:\n      - { address: 10.1.0.5, wieght: 3 }\n', /services\.yaml:4:30: services\[0\]\.backends\[0\]\.wieght: unknown key; expected one of: address, weight, state, name, check_address, check_port$/],
      ['- id: 10.0.0.10:80/tcp\n  backends:\n    - { address: 10.1.0.5, weight: 70000 }\n', /services\.yaml:3:36: services\[0\]\.backends\[0\]\.weight: 70000 is out of range/],
      ['services:\n  - vip: 10.0.0.10\n    protocol: tcp\n', /services\.yaml:2:5: services\[0\]\.port: is required/],
      ['services:\n  - id: 10.0.0.10:80/tcp\n    backends: [10.1.0.5, 10.1.0.5]\n', /services\.yaml:3:26: services\[0\]\.backends\[1\]\.address: 10\.1\.0\.5 is listed twice/],
      ['services: [\n', /services\.yaml:\d+:\d+: invalid YAML/],
    ];
    for (const [text, pattern] of cases) {
      writeFileSync(file(), text);
      expectOneErrorLine(await xlb(['apply', '-f', file()]), 1, pattern);
    }
    expectOneErrorLine(await xlb(['apply', '-f', join(dir, 'missing.yaml')]), 1, /cannot read .*missing\.yaml \(ENOENT\)/);
    expect(server.calls).toEqual([]);
  });

  it("maps the daemon's request paths back to the file", async () => {
    writeFileSync(file(), 'services:\n  - id: 10.0.0.10:80/tcp\n  - id: 10.0.0.11:80/tcp\n  - id: "10.0.0.10:80/TCP"\n');
    const r = await xlb(['apply', '-f', file()]);
    expectOneErrorLine(r, 1, /^xlb: \/.*\/services\.yaml:4:5: services\[2\]: service 10\.0\.0\.10:80\/tcp is listed twice \(also services\[0\]\)$/);
    expect(server.callsOf('Apply')).toHaveLength(1);
  });
});

describe('stats and status', () => {
  it('stats: tree with weights, global figures; JSON keeps uint64 exact', async () => {
    await seed();
    server.counters.set('10.0.0.10:80/tcp', { packets: 9_007_199_254_740_993n, bytes: 18_446_744_073_709_551_615n });
    server.counters.set('10.0.0.10:80/tcp|10.1.0.6', { packets: 5n, bytes: 300n });
    const table = await xlb(['stats', '10.0.0.10:80/tcp']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toBe(
      'SERVICE / BACKEND   STATE   WEIGHT                PACKETS                       BYTES\n' +
        '10.0.0.10:80/tcp                    9,007,199,254,740,993  18,446,744,073,709,551,615\n' +
        '  -> 10.1.0.5       active     100                      0                           0\n' +
        '  -> 10.1.0.6       active      50                      5                         300\n' +
        '  -> 2001:db8:1::7  active       1                      0                           0\n' +
        '\n' +
        'verdicts    pass 10   tx 2,000   drop 3\n' +
        'drops       no_backend 3\n' +
        'flow table  hits 1,990   misses 10   new flows 10   capacity 262,144\n' +
        'icmp        forwarded 1   generated 0\n',
    );
    expect(server.callsOf('GetStats')).toEqual([{ serviceId: '10.0.0.10:80/tcp' }]);

    const json = await xlb(['stats', '-o', 'json']);
    expect(json.stdout).toContain('"packets": 9007199254740993');
    expect(json.stdout).toContain('"bytes": 18446744073709551615');
    const parsed = JSON.parse(json.stdout);
    expect(Object.keys(parsed)).toEqual(['services', 'verdicts', 'drops', 'flow_table', 'icmp', 'timestamp_ms']);
    expect(parsed.services[0].backends[1]).toEqual({ address: '10.1.0.6', datapath_id: 2, state: 'active', packets: 5, bytes: 300 });
    expect(parsed.flow_table).toEqual({ hits: 1990, misses: 10, new_flows: 10, capacity: 262144 });
    expect(parsed.drops).toEqual([{ name: 'no_backend', packets: 3 }, { name: 'fragment', packets: 0 }]);
  });

  it('stats --watch: rates from the previous frame; JSON is one object per line; --count stops', async () => {
    await seed();
    server.step = { packets: 1000n, bytes: 125_000n }; // per GetStats call
    const table = await xlb(['stats', '10.0.0.10:80/tcp', '--watch', '0.5', '--count', '2']);
    expect(table.code, table.stderr).toBe(0);
    const frames = table.stdout.split(/\n(?=every 0\.5s)/);
    expect(frames).toHaveLength(2);
    expect(frames[0]).toMatch(/^every 0\.5s, /);
    expect(frames[0]).toMatch(/PKT\/S +BIT\/S/);
    expect(frames[0]).toMatch(/^10\.0\.0\.10:80\/tcp +1,000 +125,000 +- +-$/m);
    // 1000 packets of 125 bytes between two reads at least 0.5 s apart (more on a loaded
    // machine): at most 2k pkt/s, and 1000 bits per packet, so Mbit/s equals kpkt/s.
    const m = /^10\.0\.0\.10:80\/tcp +2,000 +250,000 +([0-9.]+)(k?) +([0-9.]+)([kM]?)$/m.exec(frames[1]!);
    expect(m, frames[1]).not.toBeNull();
    const pps = Number(m![1]) * (m![2] === 'k' ? 1e3 : 1);
    const bps = Number(m![3]) * ({ '': 1, k: 1e3, M: 1e6 } as Record<string, number>)[m![4]!]!;
    expect(pps).toBeGreaterThan(0);
    expect(pps).toBeLessThanOrEqual(2000);
    expect(Math.abs(bps / 1000 - pps) / pps).toBeLessThan(0.02);

    const json = await xlb(['stats', '-o', 'json', '--watch', '0.2', '--count', '3']);
    const lines = json.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    const packets = lines.map((l) => JSON.parse(l).services[0].packets as number);
    expect(packets[1]! - packets[0]!).toBe(1000);
    expect(packets[2]! - packets[1]!).toBe(1000);
  });

  it('status: daemon, datapath, gateway, Maglev, counts and interfaces', async () => {
    await seed();
    const r = await xlb(['status']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      'daemon    xlbd 0.1.0-standin, instance default, up 1h02m05s\n' +
        'datapath  adopted the running datapath at start\n' +
        'gateway   10.2.1.1 via eth0, MAC 02:00:00:00:00:fe\n' +
        'maglev    default table size M=65537, seed 7\n' +
        'tables    2 × M=65537: 528 KiB kernel memory\n' +
        'services  2 (3 backends)\n' +
        'mtu       1500\n' +
        'recorder  available (ring 4 MiB)\n' +
        'health    no health checks\n' +
        'bgp       not configured\n' +
        '\n' +
        'INTERFACE  IFINDEX  MAC                ATTACHED  MODE    PROGRAM\n' +
        'eth0             2  02:00:00:00:00:01  yes       native       42\n',
    );
    const json = JSON.parse((await xlb(['status', '-o', 'json'])).stdout);
    expect(json).toEqual({
      version: '0.1.0-standin', instance: 'default', uptime_seconds: 3725,
      interfaces: [{ name: 'eth0', ifindex: 2, mac: '02:00:00:00:00:01', attached: true, mode: 'native', program_id: 42 }],
      gateway: { ip: '10.2.1.1', mac: '02:00:00:00:00:fe', resolved: true, interface: 'eth0' },
      maglev_table_size: 65537, maglev_seed: 7, services: 2, backends: 3, mtu: 1500, adopted_datapath: true,
      maglev_table_memory_bytes: 540672, maglev_tables: [{ table_size: 65537, tables: 2, memory_bytes: 540672 }],
      recorder_available: true, recorder_note: '', recorder_ring_bytes: 4194304, health: null, bgp: null,
    });
  });

  it('Kubernetes services: the owning Service in list and JSON; status shows the Kubernetes side', async () => {
    server.state = StandInServer.emptyState();
    server.state.apply([{ id: '10.100.0.16:80/tcp', backends: [{ address: '10.1.0.5' }], kubernetes: { namespace: 'shop', name: 'web' } }], { origin: 'kubernetes' });
    const table = await xlb(['service', 'list']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout.split('\n')[2]).toMatch(/^10\.100\.0\.16:80\/tcp {2}kubernetes shop\/web {2}- +1 +65537 +0 +0$/);
    const json = JSON.parse((await xlb(['service', 'list', '-o', 'json'])).stdout);
    expect(json.services[0]).toMatchObject({ origin: 'kubernetes', kubernetes: { namespace: 'shop', name: 'web' } });
    const saved = server.status;
    server.status = {
      ...saved,
      kubernetes: { server: 'https://10.0.0.1:443', synced: true, leader: false, leaderIdentity: 'lb-2', identity: 'lb-1', services: 1, loadBalancerClass: 'xlb.dev/xlb', defaultClass: false, lastError: '' },
    };
    try {
      const r = await xlb(['status']);
      expect(r.stdout).toMatch(/^kubernetes  https:\/\/10\.0\.0\.1:443, class xlb\.dev\/xlb, 1 Services, follower \(lb-1; leader lb-2\)$/m);
      expect(JSON.parse((await xlb(['status', '-o', 'json'])).stdout).kubernetes).toEqual({
        server: 'https://10.0.0.1:443', synced: true, leader: false, leader_identity: 'lb-2', identity: 'lb-1', services: 1,
        load_balancer_class: 'xlb.dev/xlb', default_class: false, last_error: '',
      });
    } finally {
      server.status = saved;
    }
  });

  it('status: a recorder that is off says why, in the table and in JSON', async () => {
    const saved = server.status;
    server.status = { ...saved, recorderAvailable: false, recorderNote: 'recorder.enabled is false in the configuration (/etc/xlb/xlb.yaml)', recorderRingBytes: 65536 };
    try {
      const r = await xlb(['status']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^recorder  off: recorder\.enabled is false in the configuration \(\/etc\/xlb\/xlb\.yaml\)$/m);
      expect(r.stdout).not.toMatch(/available/);
      const json = JSON.parse((await xlb(['status', '-o', 'json'])).stdout);
      expect(json).toMatchObject({
        recorder_available: false,
        recorder_note: 'recorder.enabled is false in the configuration (/etc/xlb/xlb.yaml)',
        recorder_ring_bytes: 65536,
      });
    } finally {
      server.status = saved;
    }
  });
});

describe('TCP with mutual TLS', () => {
  let tls: StandInServer;
  let pki: TestPki;

  beforeAll(async () => {
    pki = makeTestPki(mkdtempSync(join(dir, 'pki-')));
    const read = (f: string) => readFileSync(f);
    const creds = ServerCredentials.createSsl(read(pki.ca), [{ cert_chain: read(pki.serverCert), private_key: read(pki.serverKey) }], true);
    tls = await StandInServer.start('127.0.0.1:0', creds);
  });
  afterAll(() => tls?.close());

  const tlsArgs = (cert = pki.clientCert, key = pki.clientKey, ca = pki.ca) => ['--tls-ca', ca, '--tls-cert', cert, '--tls-key', key];

  it('works with the CA, a client certificate and its key', async () => {
    const r = await runCliInProcess(['--server', tls.address, ...tlsArgs(), 'status', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout).version).toBe('0.1.0-standin');
    expect(tls.callsOf('GetStatus')).toHaveLength(1);
    // The certificate names 127.0.0.1; dialling "localhost" needs --tls-server-name.
    const port = tls.address.split(':').pop();
    const byName = await runCliInProcess(['--server', `localhost:${port}`, ...tlsArgs(), 'status']);
    expect(byName.code).toBe(3);
    const named = await runCliInProcess(['--server', `localhost:${port}`, ...tlsArgs(), '--tls-server-name', '127.0.0.1', 'status']);
    expect(named.code, named.stderr).toBe(0);
  });

  it('a client certificate from another CA, or a daemon the CA did not sign: exit 3, nothing reaches the server', async () => {
    const before = tls.calls.length;
    const rogue = await runCliInProcess(['--server', tls.address, ...tlsArgs(pki.rogueCert, pki.rogueKey), 'status']);
    expectOneErrorLine(rogue, 3, new RegExp(`^xlb: cannot reach xlbd at ${tls.address.replace(/\./g, '\\.')} \\([^)]+\\): the TLS handshake failed; check the CA, client certificate and key`));
    const untrusted = await runCliInProcess(['--server', tls.address, ...tlsArgs(pki.clientCert, pki.clientKey, pki.rogueCert), 'status']);
    expectOneErrorLine(untrusted, 3, /cannot reach xlbd at .*the TLS handshake failed; check the CA, client certificate and key/);
    const plain = await runCliInProcess(['--server', tls.address, '--insecure', 'status']);
    expectOneErrorLine(plain, 3, /cannot reach xlbd at 127\.0\.0\.1:\d+/);
    expect(tls.calls.length).toBe(before);
  });
});

describe('xlb record', () => {
  it('writes the capture file readable by its owner only (0600), a new one and one that existed', async () => {
    const file = join(dir, 'cap.pcap');
    const r = await xlb(['record', 'any -> any', '-w', file, '-q']);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(file).length).toBe(24 + 16 + 60);
    expect(statSync(file).mode & 0o777).toBe(0o600);

    writeFileSync(file, 'old');
    chmodSync(file, 0o644);
    expect((await xlb(['record', 'any -> any', '-w', file, '-q'])).code).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('-w to something that is not a regular file (a FIFO here; /dev/null alike): written, its mode left alone, no fsync error', async () => {
    const fifo = join(dir, 'cap.fifo');
    execFileSync('mkfifo', ['-m', '0644', fifo]);
    const chunks: Buffer[] = [];
    const reader = createReadStream(fifo);
    reader.on('data', (c) => chunks.push(c as Buffer));
    const closed = new Promise<void>((resolve) => reader.on('close', () => resolve()));
    const r = await xlb(['record', 'any -> any', '-w', fifo, '-q']);
    await closed;
    expect(r.code, r.stderr).toBe(0);
    expect(Buffer.concat(chunks).length).toBe(24 + 16 + 60);
    expect(statSync(fifo).mode & 0o777).toBe(0o644);
  });
});
