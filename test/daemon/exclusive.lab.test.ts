// One datapath, one daemon. A second xlbd pointed at the same pin directory — with another state
// directory, so the old pid file never saw it — must refuse to start instead of adopting the live
// datapath and, finding no state file, deleting every service. The lock is an flock(2) on the pin
// directory held for the process lifetime, so kill -9 releases it (test/libbpf-ts/dir-lock; the
// SIGKILL restarts of restart.lab.test.ts take it over). And a daemon that finds a
// pinned datapath with services but no state file (a lost or moved state directory) refuses too,
// naming the flag that lets it empty the datapath.
import { existsSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../lab/lab.js';
import { XlbdInstance } from './xlbd.js';

const VIP = '10.100.0.10';
let lab: Lab;
let a: XlbdInstance;

/** Starts a daemon that should refuse; fails fast (instead of a 60 s timeout) if it becomes ready. */
async function refusal(x: XlbdInstance, args: string[] = []): Promise<{ code: number | null; output: string }> {
  const proc = lab.spawn(x.node, x.argv(args), { keepMounts: true, description: `xlbd ${x.instance} (expected to refuse)` });
  const outcome = await Promise.race([
    proc.exited.then((s) => ({ exited: s })),
    // An exit rejects this one: the other branch then tells the outcome.
    proc.waitForOutput(/xlbd info: ready: /, 60_000).then(() => ({ ready: true }), () => new Promise<never>(() => {})),
  ]);
  if ('ready' in outcome) {
    await proc.stop('SIGKILL', 1000);
    throw new Error(`xlbd started instead of refusing:\n${proc.stdout}${proc.stderr}`);
  }
  return { code: outcome.exited.code, output: `${proc.stdout}${proc.stderr}` };
}

async function trafficFlows(): Promise<void> {
  const load = await lab.httpLoad('c1', { url: lab.url(VIP), connections: 30, concurrency: 4 });
  expect(load).toMatchObject({ ok: 30, failed: 0 });
}

beforeAll(async () => {
  lab = await Lab.create({ backends: 2, clients: 1, lbNodes: 1, ipv6: false });
  a = new XlbdInstance({ lab });
  await a.start();
  await a.client.call('CreateService', {
    service: { id: `${VIP}:80/tcp`, backends: lab.backends.map((b) => ({ address: b.ipv4 })) },
  });
  await trafficFlows();
}, 120_000);

afterAll(async () => {
  await a?.dispose();
  await lab?.destroy();
});

describe('one daemon per datapath', () => {
  it('a second xlbd on the same pin directory (another state directory) refuses and changes nothing', async () => {
    const b = new XlbdInstance({ lab, config: { bpffs_dir: a.pinDir } });
    try {
      const r = await refusal(b);
      expect(r.code).toBe(1);
      expect(r.output).toMatch(new RegExp(`bpffs_dir ${a.pinDir} is in use by xlbd pid ${a.proc!.pid}`));
      expect(existsSync(b.stateFile)).toBe(false);
    } finally {
      await b.dispose();
    }
    expect((await a.client.call('ListServices')).services).toHaveLength(1);
    await trafficFlows();
  });

  it('a pinned datapath with services but no state file: refused, naming the flag; traffic keeps flowing', async () => {
    await a.stop();
    rmSync(a.stateFile);
    const r = await refusal(a);
    expect(r.code).toBe(1);
    expect(r.output).toMatch(/holds 1 service .* but there is no state file at .*desired-state\.json/);
    expect(r.output).toMatch(/--discard-datapath-state/);
    await trafficFlows();

    // Also when the pinned datapath would be replaced (changed load-time settings).
    a.writeConfig({ maglev: { table_size: 4093, seed: 8 } });
    const replaced = await refusal(a);
    expect(replaced.output).toMatch(/holds 1 service \(replaced\) .*--discard-datapath-state/);
    a.writeConfig({});

    // The operator decides: the flag empties the datapath to the (empty) desired state.
    await a.start(['--discard-datapath-state']);
    expect(a.output).toMatch(/--discard-datapath-state: the 1 service in the pinned datapath is removed/);
    expect((await a.client.call('ListServices')).services).toHaveLength(0);
    expect((await a.client.call('GetStatus')).services).toBe(0);
  });
});
