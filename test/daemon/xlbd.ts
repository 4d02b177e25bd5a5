// Runs the real xlbd (lb/daemon/main.ts, transpiled on load by test/lab/ts-register.mjs) on a lab
// LB node. It runs with `nsenter --net` (the lab's keepMounts): the node's network namespace, the
// host's bpffs, so its pins outlive it exactly as in production. Every daemon gets its own instance
// name, state directory and pin directory (under the lab's pin dir, removed with the lab).
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { bpfObjectPath } from '../../bpf/objects.js';
import { repoRoot } from '../lab/paths.js';
import { LAB_SCRIPTS, type Lab, type LabProcess } from '../lab/lab.js';
import { TestClient } from './grpc.js';
import type { StateSnapshot } from '../../lb/model/index.js';
import { loadDesiredState } from '../../lb/state/index.js';

export const XLBD_MAIN = join(repoRoot, 'lb', 'daemon', 'main.ts');

export interface XlbdSetup {
  lab: Lab;
  node?: string;
  /** Extra/overriding YAML settings (snake_case, as in xlb.yaml). */
  config?: Record<string, unknown>;
  /** Extra command-line flags. */
  args?: string[];
}

/** A daemon's files and identity; survives restarts of the process. */
export class XlbdInstance {
  readonly instance: string;
  readonly dir: string;
  readonly socket: string;
  readonly configPath: string;
  readonly stateDir: string;
  readonly pinDir: string;
  readonly node: string;
  /** A private copy of the datapath object: a rebuild of build/ during the test cannot turn a
   *  restart into an upgrade. */
  readonly objectPath: string;
  /** Port of /metrics on 127.0.0.1 inside the node's namespace. */
  readonly metricsPort = 9700 + Math.floor(Math.random() * 200);
  proc: LabProcess | undefined;
  #client: TestClient | undefined;

  constructor(readonly setup: XlbdSetup) {
    this.node = setup.node ?? 'lb1';
    this.instance = `t${process.pid}-${randomBytes(3).toString('hex')}`;
    this.dir = mkdtempSync(join(tmpdir(), `xlbd-${this.instance}-`));
    this.socket = join(this.dir, 'run', 'xlb.sock');
    this.stateDir = join(this.dir, 'state');
    this.pinDir = join(setup.lab.pinDir, `xlbd-${this.instance}`);
    this.configPath = join(this.dir, 'xlb.yaml');
    this.objectPath = join(this.dir, 'xlb_lb.o');
    copyFileSync(bpfObjectPath('xlb_lb'), this.objectPath);
    this.writeConfig({});
  }

  /** The config file: lab defaults, then setup.config, then `extra` (top-level keys replace). */
  writeConfig(extra: Record<string, unknown>): void {
    const ctx = this.setup.lab.lbContext(this.node);
    const doc = {
      instance: this.instance,
      interfaces: ['eth0'],
      gateway: ctx.gatewayIpv4,
      maglev: { table_size: 4093, seed: 7 },
      maps: { services: 64, backends: 256, flows: 16384 },
      api: { listen: `unix://${this.socket}` },
      metrics: { listen: `127.0.0.1:${this.metricsPort}` },
      state_dir: this.stateDir,
      bpffs_dir: this.pinDir,
      ...this.setup.config,
      ...extra,
    };
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(this.configPath, stringify(doc));
  }

  get stateFile(): string {
    return join(this.stateDir, this.instance, 'desired-state.json');
  }

  /** The desired state on disk (snapshot + journal, as a restart would load it), in the state
   *  file's form; read without touching the files of the running daemon. */
  async savedState(): Promise<StateSnapshot> {
    const limits = { maxServices: 65535, maxBackends: (1 << 20) - 1, maxBackendsPerService: 65536 };
    return (await loadDesiredState(this.stateFile, { limits }, { readOnly: true })).state.toSnapshot();
  }

  get client(): TestClient {
    this.#client ??= new TestClient(`unix://${this.socket}`);
    return this.#client;
  }

  /** Environment for the next starts (e.g. NOTIFY_SOCKET, or XLBD_BPF_OBJECT for another build). */
  env: Record<string, string> = {};

  /** Starts the process; resolves once it logged "ready" (rejects with its output if it exits). */
  async start(args: string[] = this.setup.args ?? []): Promise<LabProcess> {
    if (this.proc?.running) throw new Error('xlbd already running');
    const argv = this.argv(args);
    this.proc = this.setup.lab.spawn(this.node, argv, { keepMounts: true, description: `xlbd ${this.instance}` });
    await this.proc.waitForOutput(/xlbd info: ready: /, 60_000);
    return this.proc;
  }

  /** Runs xlbd expecting it to fail at start; returns its exit code and output. */
  async startExpectingFailure(args: string[] = []): Promise<{ code: number | null; output: string }> {
    const argv = this.argv(args);
    const proc = this.setup.lab.spawn(this.node, argv, { keepMounts: true, description: `xlbd ${this.instance} (expected to fail)` });
    const status = await Promise.race([
      proc.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`xlbd did not exit\n${proc.tail()}`)), 60_000)),
    ]);
    return { code: status.code, output: `${proc.stdout}${proc.stderr}` };
  }

  argv(args: string[]): string[] {
    // env(1) execs node, so the pid the lab sees is still the daemon's.
    const env = Object.entries({ XLBD_BPF_OBJECT: this.objectPath, ...this.env }).map(([k, v]) => `${k}=${v}`);
    return ['env', ...env, process.execPath, '--import', LAB_SCRIPTS.tsRegister, XLBD_MAIN, '--config', this.configPath, ...args];
  }

  /** Sends a signal to the daemon (not its group: nsenter execs node, so pid is the daemon). */
  signal(sig: NodeJS.Signals): void {
    if (!this.proc?.pid) throw new Error('xlbd not started');
    process.kill(this.proc.pid, sig);
  }

  async kill9(): Promise<void> {
    this.signal('SIGKILL');
    await this.proc!.exited;
  }

  async stop(sig: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.proc?.running) return { code: null, signal: null };
    this.signal(sig);
    const status = await Promise.race([
      this.proc.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`xlbd did not stop\n${this.proc!.tail()}`)), 20_000)),
    ]);
    return status;
  }

  /** Everything the process printed. */
  get output(): string {
    return this.proc ? `${this.proc.stdout}${this.proc.stderr}` : '';
  }

  /** Closes the client, stops the process (SIGKILL if needed) and removes the files. */
  async dispose(): Promise<void> {
    this.#client?.close();
    this.#client = undefined;
    if (this.proc?.running) await this.proc.stop('SIGKILL', 1000);
    rmSync(this.dir, { recursive: true, force: true });
    rmSync(this.pinDir, { recursive: true, force: true });
  }
}
