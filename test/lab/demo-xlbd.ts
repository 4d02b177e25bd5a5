// xlbd on the demo's LB node, started the way an operator would: a config file, then
// `xlbd --config FILE --detach-on-exit` (the flag: this is a demo, so stopping the daemon must also
// remove the datapath; in production SIGTERM leaves it running for the next start to adopt).
// Everything that names the run is unique to it: the instance (hence the pid file and the API
// socket), the state directory (a temp dir) and the pin directory (inside the lab's own bpffs
// directory, so even a SIGKILLed demo leaves no pins once the lab is reaped).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { XlbTools } from './demo-install.js';
import { shellWord, showCommand } from './demo-print.js';
import type { Lab, LabProcess } from './lab.js';

export const DEMO_NODE = 'lb1';

export interface DaemonFiles {
  instance: string;
  /** this run's temp directory: config, state, socket, recordings */
  dir: string;
  configPath: string;
  configText: string;
  /** the API address, unix:///… */
  server: string;
  socketPath: string;
  pinDir: string;
  stateDir: string;
  metrics: string;
}

/** Writes the daemon's config file for this run (`bgp`: its bgp: section, if any). */
export function writeDaemonConfig(lab: Lab, bgp?: Record<string, unknown>): DaemonFiles {
  const ctx = lab.lbContext(DEMO_NODE);
  const instance = `demo-${process.pid}-${randomBytes(3).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), `xlb-demo-${process.pid}-`));
  const socketPath = join(dir, 'xlb.sock');
  const pinDir = join(lab.pinDir, 'xlbd');
  const stateDir = join(dir, 'state');
  // Inside lb1's network namespace: no other process on the machine can be using this port there.
  const metrics = '127.0.0.1:9641';
  const config = {
    instance,
    interfaces: [ctx.ifname],
    xdp_mode: 'native',
    gateway: ctx.gatewayIpv4,
    maglev: { table_size: 65537, seed: 7 },
    api: { listen: `unix://${socketPath}` },
    metrics: { listen: metrics },
    state_dir: stateDir,
    bpffs_dir: pinDir,
    ...(bgp ? { bgp } : {}),
  };
  const configPath = join(dir, 'xlb.yaml');
  const configText = stringify(config);
  writeFileSync(configPath, configText);
  return { instance, dir, configPath, configText, server: `unix://${socketPath}`, socketPath, pinDir, stateDir, metrics };
}

export class DemoDaemon {
  proc: LabProcess | undefined;
  readonly args: string[];

  constructor(readonly lab: Lab, readonly tools: XlbTools, readonly files: DaemonFiles) {
    this.args = ['--config', files.configPath, '--detach-on-exit'];
  }

  /** Starts xlbd in the background and waits for its "ready" log line (attached, API listening). */
  async start(): Promise<{ seconds: number }> {
    const t0 = Date.now();
    showCommand(DEMO_NODE, `${['xlbd', ...this.args].map(shellWord).join(' ')} &`);
    this.proc = this.lab.spawn(DEMO_NODE, [...this.tools.xlbd, ...this.args], { keepMounts: true, description: `xlbd ${this.files.instance}` });
    try {
      await this.proc.waitForOutput(/xlbd info: ready: /, 30_000);
    } catch (err) {
      if (this.proc.running) throw err;
      const st = await this.proc.exited;
      const reason = this.log.filter((l) => / error: /.test(l)).at(-1) ?? this.log.at(-1) ?? 'no output';
      throw new Error(`xlbd exited (${st.code ?? st.signal}) before it was ready: ${reason}`);
    }
    if (!existsSync(this.files.socketPath)) throw new Error(`xlbd said ready but its API socket ${this.files.socketPath} is missing`);
    return { seconds: (Date.now() - t0) / 1000 };
  }

  /** The daemon's log (stderr) so far, one entry per line. */
  get log(): string[] {
    return (this.proc?.stderr ?? '').split('\n').filter((l) => l.trim());
  }

  get running(): boolean {
    return this.proc?.running === true;
  }

  /** SIGTERM, as systemd stops it; with --detach-on-exit it detaches and unpins before exiting. */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.proc?.running) return { code: null, signal: null };
    process.kill(this.proc.pid!, 'SIGTERM');
    const timer = setTimeout(() => this.proc?.killSync(), 20_000);
    try {
      return await this.proc.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * For Ctrl-C, where nothing asynchronous runs any more: SIGTERM and wait (at most 5 s) until the
   * process has exited. It is our child, so it stays a zombie until Node reaps it: read its state.
   */
  stopSync(): void {
    const pid = this.proc?.pid;
    if (!pid || !this.proc?.running) return;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    const nap = new Int32Array(new SharedArrayBuffer(4));
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      let state = 'Z';
      try {
        state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] ?? 'Z';
      } catch {
        // gone
      }
      if (state === 'Z' || state === 'X') return;
      Atomics.wait(nap, 0, 0, 50);
    }
    this.proc.killSync();
  }

  removeFiles(): void {
    rmSync(this.files.dir, { recursive: true, force: true });
  }
}
