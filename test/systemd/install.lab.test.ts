// scripts/install.sh and the unit files. install.sh runs for real into temporary DESTDIR/prefix
// directories; the installed tree must be complete and self-contained: its own CLI and daemon start
// from it (no path back into the checkout), and the installed `xlb decap` attaches the installed BPF
// object to a real veth in a namespace made here. The units are checked by systemd-analyze verify
// (systemd 252 on Debian 12 works offline, no running systemd needed) and by our own reading of
// the settings that matter.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../lab/paths.js';
import { UnitFile } from './unit-file.js';

const INSTALL = join(repoRoot, 'scripts', 'install.sh');
const id = `${process.pid}-${randomBytes(3).toString('hex')}`;
const scratch = mkdtempSync(join(tmpdir(), `xlb-install-${id}-`));
const HAS_SYSTEMD_ANALYZE = spawnSync('systemd-analyze', ['--version']).status === 0;

function install(args: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync('bash', [INSTALL, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const mode = (p: string) => (statSync(p).mode & 0o7777).toString(8);

function run(argv: string[], o: { cwd?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { encoding: 'utf8', cwd: o.cwd ?? '/', timeout: 60_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0, stdout, stderr });
    });
  });
}

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('install.sh into a DESTDIR', () => {
  const dest = join(scratch, 'dest');
  const lib = join(dest, 'usr/local/lib/xlb');

  beforeAll(() => {
    const r = install(['--destdir', dest]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`installed xlb 0.1.0 into ${lib}`);
  });

  it('puts every file in place with the right modes', () => {
    const files: [string, string][] = [
      ['usr/local/lib/xlb/package.json', '644'],
      ['usr/local/lib/xlb/dist/lb/daemon/main.js', '755'],
      ['usr/local/lib/xlb/dist/api/cli/main.js', '755'],
      ['usr/local/lib/xlb/dist/lb/metrics/index.js', '644'],
      ['usr/local/lib/xlb/api/proto/xlb/v1/xlb.proto', '644'],
      ['usr/local/lib/xlb/build/bpf/xlb_lb.o', '644'],
      ['usr/local/lib/xlb/build/bpf/xlb_decap.o', '644'],
      ['usr/local/lib/xlb/build/bpf/xlb_health.o', '644'],
      ['usr/local/lib/xlb/bpf/libbpf-ts/build/Release/libbpf_ts.node', '755'],
      ['usr/local/lib/xlb/node_modules/@grpc/grpc-js/package.json', '644'],
      ['usr/local/lib/xlb/node_modules/prom-client/package.json', '644'],
      ['usr/local/lib/xlb/node_modules/commander/package.json', '644'],
      ['usr/local/lib/xlb/node_modules/yaml/package.json', '644'],
      ['usr/local/lib/xlb/doc/README.md', '644'],
      ['etc/systemd/system/xlbd.service', '644'],
      ['etc/systemd/system/xlb-decap@.service', '644'],
      ['etc/systemd/system/xlb-gobgpd.service', '644'],
      ['etc/xlb/xlb.yaml.example', '644'],
      ['etc/xlb/decap.env.example', '644'],
    ];
    for (const [f, m] of files) {
      expect(existsSync(join(dest, f)), f).toBe(true);
      expect(mode(join(dest, f)), f).toBe(m);
    }
    for (const d of ['usr/local/lib/xlb', 'usr/local/lib/xlb/dist', 'usr/local/bin', 'etc/xlb', 'etc/systemd/system']) expect(mode(join(dest, d)), d).toBe('755');
    // The commands are links to the final location (not into DESTDIR).
    expect(lstatSync(join(dest, 'usr/local/bin/xlbd')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(dest, 'usr/local/bin/xlbd'))).toBe('/usr/local/lib/xlb/dist/lb/daemon/main.js');
    expect(readlinkSync(join(dest, 'usr/local/bin/xlb'))).toBe('/usr/local/lib/xlb/dist/api/cli/main.js');
    expect(readFileSync(join(lib, 'dist/api/cli/main.js'), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    // Default prefix: the units are the repository's but for the node binary, which is the absolute
    // path of the node install.sh found (never looked up through PATH at start).
    const node = realpathSync(execFileSync('sh', ['-c', 'command -v node'], { encoding: 'utf8' }).trim());
    for (const u of ['xlbd.service', 'xlb-decap@.service', 'xlb-gobgpd.service']) {
      const repo = readFileSync(join(repoRoot, 'systemd', u), 'utf8');
      expect(readFileSync(join(dest, 'etc/systemd/system', u), 'utf8')).toBe(repo.replaceAll('/usr/bin/node ', `${node} `));
    }
    // The example config: the repository's, with a random Maglev seed written in.
    const example = readFileSync(join(dest, 'etc/xlb/xlb.yaml.example'), 'utf8');
    const seed = Number(/^  seed: (\d+)$/m.exec(example)?.[1]);
    expect(seed).toBeGreaterThan(0);
    expect(seed).toBeLessThanOrEqual(0xffffffff);
    expect(example).toBe(readFileSync(join(repoRoot, 'systemd/xlb.yaml.example'), 'utf8').replace(/^  seed: 0$/m, `  seed: ${seed}`));
    expect(readFileSync(join(dest, 'etc/xlb/decap.env.example'), 'utf8')).toBe(readFileSync(join(repoRoot, 'systemd/decap.env.example'), 'utf8'));
    expect(existsSync(join(dest, 'etc/xlb/xlb.yaml'))).toBe(false);
  });

  it('installs production code and dependencies only', () => {
    const mods = readdirSync(join(lib, 'node_modules'));
    for (const dev of ['vitest', 'typescript', 'node-gyp', 'vite', '.bin']) expect(mods, dev).not.toContain(dev);
    // Compiled code of the product only, plus the links through which it finds its data files.
    expect(readdirSync(join(lib, 'dist')).sort()).toEqual(['api', 'bpf', 'build', 'lb', 'package.json', 'recorder']);
    expect([readlinkSync(join(lib, 'dist/build')), readlinkSync(join(lib, 'dist/package.json'))]).toEqual(['../build', '../package.json']);
    expect(readdirSync(join(lib, 'build/bpf')).sort()).toEqual(['xlb_decap.o', 'xlb_health.o', 'xlb_lb.o', 'xlb_rec_clock.o', 'xlb_rec_probe.o']);
    expect(readdirSync(dest).filter((f) => f.includes('.new.') || f.includes('.old.'))).toEqual([]);
  });

  it('the installed CLI and daemon run from the installed tree alone', async () => {
    const ver = await run([process.execPath, join(lib, 'dist/api/cli/main.js'), '--version']);
    expect([ver.code, ver.stdout]).toEqual([0, '0.1.0\n']);
    const missing = join(scratch, 'nothing.sock');
    const st = await run([process.execPath, join(lib, 'dist/api/cli/main.js'), '--server', `unix://${missing}`, 'status']);
    expect(st.code).toBe(3);
    expect(st.stderr).toContain(`cannot reach xlbd at unix://${missing}`);
    const d = await run([process.execPath, join(lib, 'dist/lb/daemon/main.js'), '--help']);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toContain('Usage: xlbd');
    // Started through the file itself (shebang + mode), as systemd's ExecStart does.
    const direct = await run([join(lib, 'dist/api/cli/main.js'), '--version']);
    expect(direct.stdout).toBe('0.1.0\n');
  });

  describe('installed `xlb decap` on a real veth in a namespace made here', () => {
    const ns = `xlbinst-${id}`;
    const pinDir = `/sys/fs/bpf/xlb-test-install-${id}`;
    const xlbIn = (args: string[]) => run(['nsenter', `--net=/run/netns/${ns}`, '--', process.execPath, join(lib, 'dist/api/cli/main.js'), ...args]);

    beforeAll(() => {
      execFileSync('sh', ['-c', 'mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf']);
      execFileSync('ip', ['netns', 'add', ns]);
      execFileSync('ip', ['-n', ns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']);
      execFileSync('ip', ['-n', ns, 'addr', 'add', '10.77.0.2/24', 'dev', 'v0']);
      execFileSync('ip', ['-n', ns, 'link', 'set', 'v0', 'up']);
      execFileSync('ip', ['-n', ns, 'link', 'set', 'v1', 'up']);
    });

    afterAll(() => {
      spawnSync('ip', ['netns', 'del', ns]);
      rmSync(pinDir, { recursive: true, force: true });
    });

    it('attaches, reports and detaches', async () => {
      const a = await xlbIn(['decap', 'attach', '--dev', 'v0', '--allow-source', '10.77.0.1', '--pin-dir', pinDir]);
      expect(a.code, a.stderr).toBe(0);
      expect(a.stdout).toMatch(new RegExp(`^decap attached to v0 \\(program \\d+\\)\\npinned in ${pinDir}\\ndecapsulating for 10\\.77\\.0\\.2\\nfrom 10\\.77\\.0\\.1/32\\n$`));
      const s = JSON.parse((await xlbIn(['decap', 'status', '--dev', 'v0', '--pin-dir', pinDir, '-o', 'json'])).stdout);
      expect(s).toMatchObject({ ifname: 'v0', attached: true, pinned: true, addresses: ['10.77.0.2'] });
      // The filter is really on the interface's tc ingress hook, by the kernel's account.
      const tc = execFileSync('ip', ['netns', 'exec', ns, 'tc', 'filter', 'show', 'dev', 'v0', 'ingress'], { encoding: 'utf8' });
      expect(tc).toContain(`id ${s.prog_id}`);
      const text = (await xlbIn(['decap', 'status', '--dev', 'v0', '--pin-dir', pinDir])).stdout;
      expect(text).toMatch(/^attached +yes, program \d+$/m);
      expect(text).toMatch(/^ipip +0 +0$/m);
      const d = await xlbIn(['decap', 'detach', '--dev', 'v0', '--pin-dir', pinDir]);
      expect([d.code, d.stdout]).toEqual([0, `decap detached from v0; pins removed from ${pinDir}\n`]);
      expect(execFileSync('ip', ['netns', 'exec', ns, 'tc', 'filter', 'show', 'dev', 'v0', 'ingress'], { encoding: 'utf8' })).not.toContain('xlb_decap');
      expect(existsSync(pinDir)).toBe(false);
    });
  });

  it('re-running replaces the tree and never touches an existing xlb.yaml; --uninstall keeps config', () => {
    writeFileSync(join(dest, 'etc/xlb/xlb.yaml'), 'interfaces: [eth9]\n');
    writeFileSync(join(lib, 'stale-file'), 'from an older install');
    const seedOf = () => /^  seed: (\d+)$/m.exec(readFileSync(join(dest, 'etc/xlb/xlb.yaml.example'), 'utf8'))?.[1];
    const firstSeed = seedOf();
    const again = install(['--destdir', dest]);
    expect(again.code, again.stderr).toBe(0);
    expect(existsSync(join(lib, 'stale-file'))).toBe(false);
    expect(readFileSync(join(dest, 'etc/xlb/xlb.yaml'), 'utf8')).toBe('interfaces: [eth9]\n');
    // Every install draws its own seed (the operator copies ONE value to all nodes of an ECMP group).
    expect(seedOf()).not.toBe(firstSeed);

    const un = install(['--destdir', dest, '--uninstall']);
    expect(un.code, un.stderr).toBe(0);
    for (const gone of ['usr/local/lib/xlb', 'usr/local/bin/xlb', 'usr/local/bin/xlbd', 'etc/systemd/system/xlbd.service', 'etc/systemd/system/xlb-decap@.service', 'etc/systemd/system/xlb-gobgpd.service', 'etc/xlb/xlb.yaml.example', 'etc/xlb/decap.env.example']) {
      expect(existsSync(join(dest, gone)), gone).toBe(false);
    }
    expect(readFileSync(join(dest, 'etc/xlb/xlb.yaml'), 'utf8')).toBe('interfaces: [eth9]\n');
  });

  it('refuses bad arguments', () => {
    expect(install(['--prefix', 'relative']).code).toBe(2);
    expect(install(['--bogus']).code).toBe(2);
    expect(install(['--destdir', 'relative']).stderr).toContain('must be an absolute path');
  });
});

describe('the unit files', () => {
  const xlbd = UnitFile.read(join(repoRoot, 'systemd/xlbd.service'));
  const decap = UnitFile.read(join(repoRoot, 'systemd/xlb-decap@.service'));
  const gobgpd = UnitFile.read(join(repoRoot, 'systemd/xlb-gobgpd.service'));

  it('xlbd.service: notify readiness, SIGHUP reload, SIGTERM to xlbd only, hardening', () => {
    const s = (k: string) => xlbd.one('Service', k);
    expect(s('Type')).toBe('notify');
    expect(s('NotifyAccess')).toBe('all'); // readiness comes from systemd-notify, a child (lb/daemon/notify.ts)
    // An absolute node binary: nothing is resolved through PATH when the service starts.
    expect(s('ExecStart')).toBe('/usr/bin/node /usr/local/lib/xlb/dist/lb/daemon/main.js --config /etc/xlb/xlb.yaml');
    expect(s('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect(s('KillMode')).toBe('mixed');
    expect(s('Restart')).toBe('on-failure');
    expect(s('NoNewPrivileges')).toBe('yes');
    expect(s('ProtectSystem')).toBe('strict');
    expect(xlbd.list('Service', 'ReadWritePaths')).toEqual(['/sys/fs/bpf', '-/var/lib/xlb', '-/run/xlb']);
    expect(s('RuntimeDirectory')).toBe('xlb');
    expect(s('StateDirectory')).toBe('xlb');
    expect(s('ProtectHome')).toBe('yes');
    expect(s('PrivateTmp')).toBe('yes');
    expect(s('LockPersonality')).toBe('yes');
    expect(s('SystemCallArchitectures')).toBe('native');
    expect(s('MemoryDenyWriteExecute')).toBe('no');
    expect(xlbd.list('Service', 'RestrictAddressFamilies').sort()).toEqual(['AF_INET', 'AF_INET6', 'AF_NETLINK', 'AF_UNIX']);
    expect(xlbd.all('Service', 'AmbientCapabilities')).toEqual([]);
    expect(s('ExecStartPre')).toMatch(/^\+\/bin\/sh -c 'mountpoint -q \/sys\/fs\/bpf \|\| mount -t bpf bpf \/sys\/fs\/bpf'$/);
    expect(xlbd.one('Install', 'WantedBy')).toBe('multi-user.target');
  });

  it('xlb-decap@.service: oneshot attach/detach of the instance interface', () => {
    const s = (k: string) => decap.one('Service', k);
    expect(s('Type')).toBe('oneshot');
    expect(s('RemainAfterExit')).toBe('yes');
    const cli = '/usr/bin/node /usr/local/lib/xlb/dist/api/cli/main.js';
    expect(s('ExecStart')).toBe(`${cli} decap attach --dev %i $XLB_DECAP_ARGS`);
    expect(s('ExecReload')).toBe(`${cli} decap attach --dev %i $XLB_DECAP_ARGS`);
    expect(s('ExecStop')).toBe(`${cli} decap detach --dev %i`);
    expect(s('EnvironmentFile')).toBe('-/etc/xlb/decap.env');
    expect(s('NoNewPrivileges')).toBe('yes');
    expect(s('ProtectSystem')).toBe('strict');
    expect(decap.list('Service', 'ReadWritePaths')).toEqual(['/sys/fs/bpf']);
  });

  it('xlb-gobgpd.service: gobgpd with its API on loopback only, unprivileged, ordered before xlbd', () => {
    const s = (k: string) => gobgpd.one('Service', k);
    expect(s('ExecStart')).toBe('/usr/bin/gobgpd --api-hosts 127.0.0.1:50051 --pprof-disable --log-plain --sdnotify');
    expect(s('Type')).toBe('notify');
    expect(s('DynamicUser')).toBe('yes');
    expect(s('CapabilityBoundingSet')).toBe('CAP_NET_BIND_SERVICE');
    expect(gobgpd.one('Unit', 'Before')).toBe('xlbd.service');
    expect(gobgpd.one('Unit', 'Conflicts')).toBe('gobgpd.service');
    // xlbd only orders itself after it (BGP is optional): no Requires/Wants on it.
    expect(xlbd.list('Unit', 'After')).toContain('xlb-gobgpd.service');
    expect(xlbd.all('Unit', 'Requires')).toEqual([]);
  });

  it('the reader rejects what is not a unit file', () => {
    expect(() => UnitFile.parse('[Service]\nType notify\n')).toThrow(/not a section, key=value or comment/);
    expect(() => UnitFile.parse('Type=notify\n')).toThrow(/outside a section/);
  });

  describe.skipIf(!HAS_SYSTEMD_ANALYZE)('systemd-analyze verify', () => {
    const root = join(scratch, 'prefix');
    const units = join(scratch, 'units');

    beforeAll(() => {
      // A real (non-DESTDIR) install into temporary directories, so ExecStart names an executable.
      const r = install(['--prefix', root, '--unitdir', units, '--sysconfdir', join(scratch, 'etc'), '--no-reload']);
      expect(r.code, r.stderr).toBe(0);
    });

    function verify(path: string): { code: number; output: string } {
      const r = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8', cwd: units });
      return { code: r.status ?? -1, output: `${r.stdout}${r.stderr}`.trim() };
    }

    it('finds nothing to say about either unit (an instance of the template included)', () => {
      const node = realpathSync(execFileSync('sh', ['-c', 'command -v node'], { encoding: 'utf8' }).trim());
      expect(readFileSync(join(units, 'xlbd.service'), 'utf8')).toContain(`ExecStart=${node} ${root}/lib/xlb/dist/lb/daemon/main.js --config ${scratch}/etc/xlb/xlb.yaml`);
      expect(verify('./xlbd.service')).toEqual({ code: 0, output: '' });
      expect(verify('./xlb-decap@eth0.service')).toEqual({ code: 0, output: '' });
      expect(verify('./xlb-gobgpd.service')).toEqual({ code: 0, output: '' });
    });

    it('does complain about a broken copy (the check can fail)', () => {
      const broken = readFileSync(join(units, 'xlbd.service'), 'utf8').replace('KillMode=mixed', 'KillMode=mixed\nKilMode=process').replace('Type=notify', 'Type=notifyy');
      writeFileSync(join(units, 'broken.service'), broken);
      const r = verify('./broken.service');
      expect(r.output).toMatch(/Unknown key 'KilMode' in section \[Service\]/);
      expect(r.output).toMatch(/Failed to parse service type, ignoring: notifyy/);
    });
  });
});
