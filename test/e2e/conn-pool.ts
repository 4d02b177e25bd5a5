// Test-side handle on conn-pool.mjs: N keep-alive HTTP connections held open in a client namespace,
// each asked for one request per round, so a test sees what every single TCP connection went
// through while it changes the LB (backend set, weights, which LB node gets the VIP).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot } from '../lab/paths.js';

const SCRIPT = join(repoRoot, 'test', 'e2e', 'conn-pool.mjs');

export interface PoolConn {
  id: number;
  localAddress: string;
  localPort: number;
  /** Backend that answered the opening request, or undefined on error */
  backend?: string;
  error?: string;
}

export interface RoundResult {
  id: number;
  backend?: string;
  error?: string;
}

export class ConnPool {
  private readonly lines: string[] = [];
  private readonly waiting: Array<(line: string) => void> = [];
  private stderr = '';
  private exited = false;

  private constructor(private readonly child: ChildProcess, private readonly description: string) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const w = this.waiting.shift();
      if (w) w(line);
      else this.lines.push(line);
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    child.on('close', () => {
      this.exited = true;
      for (const w of this.waiting.splice(0)) w('');
    });
  }

  /** Starts the pool process in a network namespace (nsenter: sockets live there). */
  static start(netnsPath: string, o: { timeoutMs?: number } = {}): ConnPool {
    const child = spawn('nsenter', [`--net=${netnsPath}`, '--', process.execPath, SCRIPT], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, CONN_POOL_TIMEOUT_MS: String(o.timeoutMs ?? 3000) },
    });
    return new ConnPool(child, `conn-pool in ${netnsPath}`);
  }

  private async command<T>(cmd: object): Promise<T> {
    if (this.exited) throw new Error(`${this.description} has exited: ${this.stderr}`);
    this.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
    const line = this.lines.shift() ?? (await new Promise<string>((resolve) => this.waiting.push(resolve)));
    if (!line) throw new Error(`${this.description} exited during ${JSON.stringify(cmd)}: ${this.stderr}`);
    const answer = JSON.parse(line) as { op: string; error?: string };
    if (answer.op === 'error') throw new Error(`${this.description}: ${answer.error}`);
    return answer as T;
  }

  /** Opens `count` connections and makes one request on each. */
  async open(host: string, port: number, count: number): Promise<PoolConn[]> {
    return (await this.command<{ conns: PoolConn[] }>({ op: 'open', host, port, count })).conns;
  }

  /** One request on every connection opened so far (dead ones report their error). */
  async round(): Promise<RoundResult[]> {
    return (await this.command<{ results: RoundResult[] }>({ op: 'round' })).results;
  }

  /** Closes every connection and ends the process (killed if it does not exit in time). */
  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('close', () => resolve()));
    this.child.stdin!.end(`${JSON.stringify({ op: 'close' })}\n`);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(timer);
  }
}

/** Connections grouped by the backend that answered them. */
export function byBackend(conns: Array<{ id: number; backend?: string }>): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const c of conns) if (c.backend) out.set(c.backend, [...(out.get(c.backend) ?? []), c.id]);
  return out;
}
