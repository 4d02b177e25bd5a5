// Long-running commands inside lab namespaces (HTTP servers, tcpdump, load generators). Each runs in
// its own process group so stop() reaches whatever it started, and the lab can kill it
// synchronously from an exit handler.
import { spawn, type ChildProcess } from 'node:child_process';

const MAX_KEPT_OUTPUT = 1 << 20;

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class LabProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<ExitStatus>;
  stdout = '';
  stderr = '';
  private exitStatus: ExitStatus | undefined;
  private waiters: Array<() => void> = [];

  constructor(readonly description: string, argv: string[]) {
    this.child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.stdout = (this.stdout + d).slice(-MAX_KEPT_OUTPUT);
      this.notify();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-MAX_KEPT_OUTPUT);
      this.notify();
    });
    this.exited = new Promise((resolve) => {
      this.child.on('error', (err) => {
        this.stderr += `\nspawn error: ${err.message}`;
        this.exitStatus = { code: null, signal: null };
        this.notify();
        resolve(this.exitStatus);
      });
      this.child.on('close', (code, signal) => {
        this.exitStatus = { code, signal };
        this.notify();
        resolve(this.exitStatus);
      });
    });
  }

  get running(): boolean {
    return this.exitStatus === undefined;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves with the first stdout/stderr line matching re; rejects if the process exits first. */
  waitForOutput(re: RegExp, timeoutMs = 10_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.description}: no output matching ${re} within ${timeoutMs} ms\n${this.tail()}`));
      }, timeoutMs);
      let finished = false;
      const done = () => {
        finished = true;
        clearTimeout(timer);
      };
      const check = () => {
        if (finished) return;
        const line = `${this.stdout}\n${this.stderr}`.split('\n').find((l) => re.test(l));
        if (line !== undefined) {
          done();
          resolve(line);
        } else if (!this.running) {
          done();
          reject(new Error(`${this.description} exited (${JSON.stringify(this.exitStatus)}) before printing ${re}\n${this.tail()}`));
        } else {
          this.waiters.push(check);
        }
      };
      check();
    });
  }

  tail(): string {
    return `stdout: ${this.stdout.slice(-2000)}\nstderr: ${this.stderr.slice(-2000)}`;
  }

  /** Signal the whole process group; SIGKILL after graceMs. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 3000): Promise<ExitStatus> {
    if (!this.running) return this.exitStatus!;
    this.signalGroup(signal);
    const timer = setTimeout(() => this.signalGroup('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  killSync(): void {
    if (this.running) this.signalGroup('SIGKILL');
  }

  private signalGroup(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // Already gone.
    }
  }
}
