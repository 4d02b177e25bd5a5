// The benchmark's side of lib/scraper.ts: a child process in the daemon's network namespace that
// scrapes /metrics when asked and reports the times it measured there.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createInterface, type Interface } from 'node:readline';
import { LAB_SCRIPTS } from '../../test/lab/index.js';

// Compiled (npm run bench runs dist/): scraper.js beside this file. From source (the benchmarks'
// smoke test under vitest): scraper.ts through the lab's TypeScript loader.
const COMPILED = fileURLToPath(new URL('./scraper.js', import.meta.url));
const SCRAPER_ARGS = existsSync(COMPILED)
  ? [COMPILED]
  : ['--import', LAB_SCRIPTS.tsRegister, fileURLToPath(new URL('./scraper.ts', import.meta.url))];

export class Scraper {
  readonly #child: ChildProcess;
  readonly #lines: Interface;
  readonly #waiting: ((line: string) => void)[] = [];

  constructor(netnsPath: string, url: string) {
    this.#child = spawn('nsenter', [`--net=${netnsPath}`, process.execPath, ...SCRAPER_ARGS, url], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.#lines = createInterface({ input: this.#child.stdout! });
    this.#lines.on('line', (l) => this.#waiting.shift()?.(l));
  }

  /** n scrapes, one after the other or all at once; the time of each (ms) and the body size. */
  async scrape(n: number, concurrent = false): Promise<{ ms: number[]; bytes: number }> {
    const line = new Promise<string>((resolve) => this.#waiting.push(resolve));
    this.#child.stdin!.write(`${JSON.stringify({ n, concurrent })}\n`);
    const r = JSON.parse(await line) as { ms: number[]; bytes: number; error?: string };
    if (r.error) throw new Error(`scrape failed: ${r.error}`);
    return r;
  }

  close(): void {
    this.#child.stdin!.end();
    this.#lines.close();
    this.#child.kill();
  }
}
