// trafgen (netsniff-ng) as a traffic source inside a namespace: a packet config written to a temp
// file, one worker process (`-P 1`, which trafgen pins to CPU 0 itself) unless told more, sending
// until stopped.
// It runs in its own process group so stop() — and the exit hook — end the worker it forks, too.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerLive, unregisterLive, type SyncDestroyable } from '../../test/lab/index.js';

export type TrafficKind = 'udp' | 'tcpSyn';

export interface StreamSpec {
  kind: TrafficKind;
  dstMac: string;
  srcMac: string;
  vip: string;
  /** Destination ports cycle through firstPort … firstPort + ports − 1 (one per service). */
  firstPort: number;
  ports: number;
  /** Frame size without FCS, ≥ 60; default 60. UDP streams only (SYNs stay 60 bytes). */
  frameBytes?: number;
  /** UDP streams: recurring flows (source ports 1024 …), 1 … 64000; default 64000. */
  flows?: number;
}

export interface TrafgenRun {
  /** Packets per second (trafgen -b); default: as fast as it can. */
  ratePps?: number;
  /** Packets to send, then exit (trafgen -n); default: until stopped. */
  count?: number;
  /** Worker processes (trafgen -P, each pinned to its CPU); default 1. Without a rate trafgen
   *  sends from its TX_RING at full speed: several workers are the fastest source this machine has. */
  workers?: number;
}

/**
 * 60-byte frames (the Ethernet minimum without FCS) unless frameBytes says otherwise.
 * udp: fixed client 10.1.0.2, source port cycling 1024 … 65023 (64000 flows unless `flows` says
 *   fewer, repeated: after the
 *   first pass every packet is a flow-table hit), destination port cycling over the services.
 * tcpSyn: SYNs from a random source address and port per packet: practically every packet is a new
 *   flow, and once the flow table is full every insert evicts (a SYN flood's steady state).
 */
export function trafgenConfig(s: StreamSpec): string {
  const dport = s.ports === 1 ? String(s.firstPort) : `dinc(${s.firstPort}, ${s.firstPort + s.ports - 1})`;
  const eth = `eth(da=${s.dstMac}, sa=${s.srcMac})`;
  if (s.kind === 'udp') {
    const fill = (s.frameBytes ?? 60) - 42;
    if (!Number.isInteger(fill) || fill < 18 || fill > 1500 - 28) throw new RangeError(`frameBytes: ${s.frameBytes} is not an integer 60 … 1514`);
    const flows = s.flows ?? 64000;
    if (!Number.isInteger(flows) || flows < 1 || flows > 64000) throw new RangeError(`flows: ${s.flows} is not an integer 1 … 64000`);
    const sport = flows === 1 ? '1024' : `dinc(1024, ${1024 + flows - 1})`;
    return `{ ${eth}, ipv4(saddr=10.1.0.2, daddr=${s.vip}, ttl=64), udp(sp=${sport}, dp=${dport}), fill(0, ${fill}) }\n`;
  }
  return `{ ${eth}, ipv4(saddr=drnd(), daddr=${s.vip}, ttl=64), tcp(sp=drnd(), dp=${dport}, syn), fill(0, 6) }\n`;
}

export class Trafgen implements SyncDestroyable {
  readonly #child: ChildProcess;
  readonly #dir: string;
  #output = '';
  #exited = false;
  #exit: Promise<void>;

  private constructor(child: ChildProcess, dir: string) {
    this.#child = child;
    this.#dir = dir;
    child.stdout?.on('data', (d: Buffer) => (this.#output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.#output += d.toString()));
    this.#exit = new Promise((resolve) =>
      child.on('exit', () => {
        this.#exited = true;
        resolve();
      }),
    );
  }

  static start(netns: string, ifname: string, spec: StreamSpec, run: TrafgenRun = {}): Trafgen {
    const dir = mkdtempSync(join(tmpdir(), 'xbench-trafgen-'));
    const cfg = join(dir, 'stream.cfg');
    writeFileSync(cfg, trafgenConfig(spec));
    const extra = [...(run.ratePps ? ['-b', `${Math.round(run.ratePps)}pps`] : []), ...(run.count ? ['-n', String(run.count)] : [])];
    // -Q: leave IRQ affinity alone; --no-sock-mem: leave the socket memory sysctls alone.
    const child = spawn('ip', ['netns', 'exec', netns, 'trafgen', '-o', ifname, '-i', cfg, '-P', String(run.workers ?? 1), '-Q', '--no-sock-mem', ...extra], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const t = new Trafgen(child, dir);
    registerLive(t);
    return t;
  }

  get alive(): boolean {
    return !this.#exited;
  }

  /** Resolves when trafgen has exited (by itself with a count, or stopped). */
  get exited(): Promise<void> {
    return this.#exit;
  }

  get output(): string {
    return this.#output;
  }

  #signalGroup(signal: NodeJS.Signals): void {
    if (this.#child.pid === undefined) return;
    try {
      process.kill(-this.#child.pid, signal);
    } catch {
      // group already gone
    }
  }

  /** SIGINT (trafgen prints its totals), then SIGKILL if it lingers. */
  async stop(): Promise<string> {
    this.#signalGroup('SIGINT');
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 3000).unref());
    if ((await Promise.race([this.#exit, timeout])) === 'timeout') {
      this.#signalGroup('SIGKILL');
      await this.#exit;
    }
    this.destroySync();
    return this.#output;
  }

  destroySync(): void {
    unregisterLive(this);
    if (!this.#exited) this.#signalGroup('SIGKILL');
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
