// Commands as a person would run them on the lab's machines: `xlb` on a backend or on the LB node,
// curl on the client, tshark. Each one is printed as `node# command` and followed by its output, so
// whoever watches the demo learns the CLI. They run with `nsenter --net` (the node's network
// namespace, the host's mounts): pins made by `xlb decap attach` outlive the command, as on a host.
import { block, showCommand, shellWord } from './demo-print.js';
import type { XlbTools } from './demo-install.js';
import type { Lab, LabProcess } from './lab.js';
import type { RunResult } from './shell.js';

// tshark's advice not to capture as root: noise here (it only reads a file).
const NOISE = /^Running as user "root" and group "root"\. This could be dangerous\.$/;

export class DemoCommandError extends Error {
  constructor(readonly line: string, readonly result: RunResult) {
    super(`\`${line}\` failed (exit ${result.code}): ${(result.stderr || result.stdout).trim()}`);
    this.name = 'DemoCommandError';
  }
}

export interface ShowOptions {
  /** Print the command and its output (default true) */
  show?: boolean;
  /** What to print instead of the real command line (e.g. a pipeline run in two steps) */
  display?: string;
  /** Do not throw on a non-zero exit */
  check?: boolean;
  timeoutMs?: number;
}

export class DemoShell {
  /** XLB_SERVER for daemon commands, once the daemon runs */
  server: string | undefined;

  constructor(readonly lab: Lab, readonly tools: XlbTools) {}

  /** argv of `xlb ARGS` with the daemon's address in the environment. */
  xlbArgv(args: string[]): string[] {
    return [...(this.server ? ['env', `XLB_SERVER=${this.server}`] : []), ...this.tools.xlb, ...args];
  }

  /** `xlb ARGS` on a lab node; returns stdout. */
  async xlb(node: string, args: string[], o: ShowOptions = {}): Promise<string> {
    return (await this.run(node, this.xlbArgv(args), { display: ['xlb', ...args].map(shellWord).join(' '), ...o })).stdout;
  }

  /** `xlb ARGS -o json` on a lab node, not shown: what the demo checks its claims against. */
  async xlbJson<T>(node: string, args: string[]): Promise<T> {
    return JSON.parse(await this.xlb(node, [...args, '-o', 'json'], { show: false })) as T;
  }

  /** Any command on a lab node (argv, or a string for sh -c). */
  async run(node: string, cmd: string[] | string, o: ShowOptions = {}): Promise<RunResult> {
    const line = o.display ?? (typeof cmd === 'string' ? cmd : cmd.map(shellWord).join(' '));
    const show = o.show ?? true;
    if (show) showCommand(node, line);
    const r = await this.lab.exec(node, cmd, { keepMounts: true, check: false, timeoutMs: o.timeoutMs ?? 30_000 });
    if (show) {
      if (r.stdout.trim()) block(r.stdout);
      const stderr = r.stderr.split('\n').filter((l) => !NOISE.test(l)).join('\n');
      if (stderr.trim()) block(stderr);
    }
    if ((o.check ?? true) && r.code !== 0) throw new DemoCommandError(line, r);
    return r;
  }

  /** `xlb ARGS` left running on a node (like `xlb record ... &`); shown, output collected. */
  spawnXlb(node: string, args: string[]): LabProcess {
    showCommand(node, `${['xlb', ...args].map(shellWord).join(' ')} &`);
    return this.lab.spawn(node, this.xlbArgv(args), { keepMounts: true, description: `xlb ${args[0]}` });
  }
}
