// The real daemon (dist/lb/daemon/main.js) as a benchmark subject: its own instance name, state
// directory, API socket and bpffs pin directory, started in the LB namespace of a VethPair with
// `nsenter --net` (network namespace entered, host bpffs kept, as the platform notes require for
// pins that outlive the process). Restartable; dispose() removes everything it created.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { XlbClient } from '../../api/client/index.js';
import { registerLive, repoRoot, unregisterLive, type SyncDestroyable } from '../../test/lab/index.js';
import type { VethPair } from './veth-pair.js';

export const XLBD_MAIN = join(repoRoot, 'dist', 'lb', 'daemon', 'main.js');
export const XLB_CLI_MAIN = join(repoRoot, 'dist', 'api', 'cli', 'main.js');

export class XlbdProcess implements SyncDestroyable {
  readonly instance = `xb${process.pid}-${randomBytes(3).toString('hex')}`;
  readonly dir: string;
  readonly socket: string;
  readonly pinDir: string;
  readonly configPath: string;
  /** http://127.0.0.1:PORT/metrics inside the pair's LB namespace. */
  readonly metricsUrl: string;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #output = '';
  #client: XlbClient | undefined;

  constructor(
    readonly pair: VethPair,
    gateway: string,
    config: Record<string, unknown> = {},
    /** Node options for the daemon's process, e.g. ['--cpu-prof', '--cpu-prof-dir', dir]. */
    public nodeArgs: string[] = [],
  ) {
    this.dir = mkdtempSync(join(tmpdir(), `xbench-xlbd-`));
    this.socket = join(this.dir, 'xlb.sock');
    this.pinDir = `/sys/fs/bpf/xbench-${this.instance}`;
    this.configPath = join(this.dir, 'xlb.yaml');
    const metricsListen = `127.0.0.1:${20000 + Math.floor(Math.random() * 20000)}`;
    this.metricsUrl = `http://${metricsListen}/metrics`;
    registerLive(this);
    writeFileSync(
      this.configPath,
      stringify({
        instance: this.instance,
        interfaces: [pair.lbIf],
        gateway,
        api: { listen: `unix://${this.socket}` },
        state_dir: join(this.dir, 'state'),
        bpffs_dir: this.pinDir,
        ...config,
        // Other metrics settings (cache_ms) may be given; the listen address is this object's.
        metrics: { ...((config.metrics as object | undefined) ?? {}), listen: metricsListen },
      }),
    );
  }

  get stateDir(): string {
    return join(this.dir, 'state', this.instance);
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** The daemon's process id (nsenter execs node in place: the same process). */
  get pid(): number | undefined {
    return this.running ? this.#child!.pid : undefined;
  }

  get output(): string {
    return this.#output;
  }

  get client(): XlbClient {
    this.#client ??= XlbClient.connect({ server: `unix://${this.socket}`, timeoutMs: 120_000 });
    return this.#client;
  }

  /** Starts the daemon; resolves with the ms from spawn to its "ready" log line. */
  async start(args: string[] = [], timeoutMs = 300_000): Promise<number> {
    if (this.running) throw new Error('xlbd already running');
    mkdirSync(this.dir, { recursive: true });
    this.#output = '';
    const t0 = performance.now();
    const child = spawn('nsenter', [`--net=${this.pair.netnsPath(this.pair.lbNs)}`, process.execPath, ...this.nodeArgs, XLBD_MAIN, '--config', this.configPath, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, XLBD_LOG_LEVEL: 'info' },
    });
    this.#child = child;
    this.#exited = new Promise((resolve) => child.on('exit', () => resolve()));
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`xlbd not ready after ${timeoutMs} ms:\n${this.tail()}`)), timeoutMs);
      const onData = (d: Buffer) => {
        this.#output += d.toString();
        if (/ready: /.test(this.#output)) {
          clearTimeout(timer);
          resolve(performance.now() - t0);
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`xlbd exited (${code ?? signal}) before ready:\n${this.tail()}`));
      });
    });
  }

  tail(lines = 15): string {
    return this.#output.trim().split('\n').slice(-lines).join('\n');
  }

  /** SIGTERM and wait (the datapath stays pinned and attached unless started with --detach-on-exit). */
  async stop(): Promise<void> {
    this.#client?.close();
    this.#client = undefined;
    if (!this.running) return;
    this.#child!.kill('SIGTERM');
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 30_000).unref());
    if ((await Promise.race([this.#exited, timeout])) === 'timeout') {
      this.#child!.kill('SIGKILL');
      await this.#exited;
      throw new Error(`xlbd did not stop within 30 s:\n${this.tail()}`);
    }
  }

  /** Removes the pins (the datapath is gone once nothing holds it: the namespaces go with the pair). */
  removePins(): void {
    if (existsSync(this.pinDir)) rmSync(this.pinDir, { recursive: true, force: true });
  }

  destroySync(): void {
    unregisterLive(this);
    this.#client?.close();
    if (this.running) this.#child!.kill('SIGKILL');
    this.removePins();
    rmSync(this.dir, { recursive: true, force: true });
  }

  async dispose(): Promise<void> {
    await this.stop().catch(() => undefined);
    this.destroySync();
  }
}
