// The demo (test/lab/demo.ts) as a user runs it, in a child process from the TypeScript sources (so
// the code under test is the checkout's, built or not; it transpiles xlb and xlbd itself): every
// step must end OK with exit 0, the commands a user learns from must be shown, and nothing it made
// may remain — namespaces, bpffs pins, temp files, processes. Two unhappy runs prove the other
// side: a daemon that cannot start gives PROBLEM and exit 1, Ctrl-C mid-run gives PROBLEM and exit
// 130; both still leave nothing behind.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../lab/paths.js';
import { LAB_PIN_ROOT } from '../lab/plan.js';
import { runSync } from '../lab/shell.js';

interface DemoRun {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const started: number[] = [];

/** Runs the demo; `interruptAt`: send SIGINT once stdout contains it. */
function runDemo(args: string[], o: { env?: Record<string, string>; interruptAt?: string; timeoutMs?: number } = {}): Promise<DemoRun> {
  const child = spawn(process.execPath, ['--import', join(repoRoot, 'test', 'lab', 'ts-register.mjs'), join(repoRoot, 'scripts', 'demo.ts'), ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child.pid!);
  let stdout = '';
  let stderr = '';
  let interrupted = false;
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    if (o.interruptAt && !interrupted && stdout.includes(o.interruptAt)) {
      interrupted = true;
      child.kill('SIGINT');
    }
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 200_000);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ pid: child.pid!, code, signal, stdout, stderr });
    });
  });
}

/** What a demo process left behind, found by its pid (every name it makes carries it). */
function leftovers(pid: number): string[] {
  const list = (dir: string, re: RegExp) => (existsSync(dir) ? readdirSync(dir).filter((n) => re.test(n)).map((n) => join(dir, n)) : []);
  const processes = readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`xlb-demo-${pid}-`);
      } catch {
        return false;
      }
    })
    .map((p) => `process ${p}`);
  return [
    ...list('/run/netns', new RegExp(`^xlab-${pid}-`)),
    ...list(LAB_PIN_ROOT, new RegExp(`^${pid}-`)),
    ...list(tmpdir(), new RegExp(`^xlb-demo-${pid}-`)),
    ...processes,
  ];
}

afterAll(() => {
  // Only if a run failed to clean up (which its test reports): leave the machine as it was.
  for (const pid of started) {
    for (const path of leftovers(pid)) {
      if (path.startsWith('/run/netns/')) runSync(['ip', 'netns', 'del', path.slice('/run/netns/'.length)], { check: false });
      else if (!path.startsWith('process ')) rmSync(path, { recursive: true, force: true });
    }
  }
});

const verdicts = (stdout: string) => stdout.split('\n').filter((l) => /^(OK|PROBLEM) /.test(l));

describe('npm run demo', () => {
  it('drives the lab through xlbd and the xlb CLI: every check OK, exit 0, nothing left behind', async () => {
    const r = await runDemo([]);
    expect(r.stderr).not.toMatch(/demo failed/);
    expect(verdicts(r.stdout), r.stdout.slice(-3000)).toEqual([
      expect.stringMatching(/^OK +xlbd: ready in [\d.]+ s, XDP native on eth0 \(program \d+\), gateway 10\.2\.1\.1 resolved to [0-9a-f:]{17}$/),
      expect.stringMatching(/^OK +bgp: the router learnt 10\.100\.0\.10\/32 and fd00:100::10\/128 from lb1 by BGP \(next hop 10\.2\.1\.2, fd00:2:1::2\) and installed them, [\d.]+ s after the services were created$/),
      expect.stringMatching(/^OK +http:\/\/10\.100\.0\.10\/: 300\/300 answered, 3\/3 backends served, 0 replies through lb1, xlb stats = captured tunnelled frames per backend$/),
      expect.stringMatching(/^OK +http:\/\/\[fd00:100::10\]\/: 300\/300 answered, 3\/3 backends served, 0 replies through lb1, xlb stats = captured tunnelled frames per backend$/),
      expect.stringMatching(/^OK +health: b3's web server stopped → b3 down and out of the Maglev table in [\d.]+ s \(interval 1 s, fall 2\); 0 of 100 new connections went to it; up again after its server came back$/),
      expect.stringMatching(/^OK +drain: 0 of 300 new connections went to b2 \(draining\); 600\/600 requests on 12 kept connections answered, \d+ of them on b2, 0 moved$/),
      expect.stringMatching(/^OK +recorder: \d+ packets of 3 requests recorded inside XDP/),
      expect.stringMatching(/^OK +teardown: xlbd stopped by SIGTERM with --detach-on-exit \(XDP detached, pins removed\), VIP routes withdrawn from the router first, decap detached on b1, b2, b3, lab removed, nothing left$/),
    ]);
    expect(r.code).toBe(0);
    // The commands a user learns from, each shown before its output.
    for (const shown of [
      /^ {3}b1# xlb decap attach --dev eth0 --allow-source 10\.2\.1\.2,fd00:2:1::2 --pin-dir \S+\n {3}decap attached to eth0 \(program \d+\)$/m,
      /^ {3}b1# xlb decap status --dev eth0 --pin-dir \S+\n {3}interface +eth0/m,
      /^ {3}lb1# xlbd --config \S+\/xlb\.yaml --detach-on-exit &$/m,
      /^ {3}lb1# xlb status\n {3}daemon +xlbd /m,
      /^ {3}lb1# xlb service add 10\.100\.0\.10:80\/tcp\n {3}created service 10\.100\.0\.10:80\/tcp$/m,
      /^ {3}lb1# xlb backend add 10\.100\.0\.10:80\/tcp 10\.3\.3\.2 --name b3\n {3}added backend 10\.3\.3\.2/m,
      /^ {3}lb1# xlb service add "\[fd00:100::10\]:80\/tcp" -b fd00:3:1::2 -b fd00:3:2::2 -b fd00:3:3::2$/m,
      /^ {3}lb1# xlb stats\n {3}SERVICE \/ BACKEND/m,
      /^ {3}r# birdc show route\n(.*\n)*? {3}10\.100\.0\.10\/32 +unicast \[lb1 [^\]]+\] \* \(100\) \[AS65001i\]\n {3}\s+via 10\.2\.1\.2 on to-lb1$/m,
      /^ {3}lb1# xlb service set 10\.100\.0\.10:80\/tcp --check http:\/health --check-interval 1s --check-timeout 500ms --rise 2 --fall 2\n {3}updated service/m,
      /^ {3}xlbd warn: health: 10\.100\.0\.10:80\/tcp backend 10\.3\.3\.2 up → down \(connect refused, 2 failures in a row\)/m,
      /^ {3} +-> 10\.3\.3\.2 .* down \d+s: connect refused +b3$/m,
      /^ {3}lb1# xlb backend set 10\.100\.0\.10:80\/tcp 10\.3\.2\.2 --drain\n {3}updated backend/m,
      /^ {3}lb1# xlb record "10\.1\.1\.2 any -> 10\.100\.0\.10 80 tcp" .* -w \S+\.pcapng &$/m,
      /^ {3}xlb-egress 10\.2\.1\.2,10\.1\.1\.2 10\.3\.\d\.2,10\.100\.0\.10 /m,
      /^ {3}b3# xlb decap detach --dev eth0 --pin-dir \S+\n {3}decap detached from eth0; pins removed/m,
    ]) {
      expect(r.stdout).toMatch(shown); // not a terminal: no colours
    }
    expect(leftovers(r.pid)).toEqual([]);
  }, 240_000);

  it('a daemon that cannot start: PROBLEM naming the reason, exit 1, nothing left behind', async () => {
    const r = await runDemo(['--ipv4-only'], { env: { XLBD_BPF_OBJECT: '/nonexistent/xlb_lb.o' } });
    expect(verdicts(r.stdout)).toEqual([
      expect.stringMatching(/^PROBLEM +starting xlbd: xlbd exited \(1\) before it was ready: .*\/nonexistent\/xlb_lb\.o/),
      'OK       teardown: decap detached on b1, b2, b3, lab removed, nothing left',
    ]);
    expect(r.code).toBe(1);
    expect(leftovers(r.pid)).toEqual([]);
  }, 150_000);

  it('Ctrl-C in the middle of the traffic: xlbd stopped, lab removed, PROBLEM, exit 130, nothing left behind', async () => {
    const r = await runDemo(['--ipv4-only'], { interruptAt: '[7/13]' });
    expect(r.stdout).toContain('SIGINT: stopping xlbd and removing the lab');
    expect(verdicts(r.stdout).at(-1)).toBe('PROBLEM  interrupted by SIGINT; xlbd stopped, lab removed');
    expect(r.code).toBe(130);
    expect(leftovers(r.pid)).toEqual([]);
  }, 120_000);
});
