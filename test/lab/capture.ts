// Packet capture inside a lab namespace: tcpdump writes a pcap, tshark summarises it. Used to prove
// DSR (replies never cross the LB) and to look at encapsulated packets on the wire.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LabProcess } from './processes.js';
import { run } from './shell.js';

export interface CapturedPacket {
  /** Frame length on the wire */
  length: number;
  /** IPv4/IPv6 source and destination per IP layer, outermost first (two entries for IP-in-IP) */
  src: string[];
  dst: string[];
  /** tshark's protocol stack, e.g. "eth:ethertype:ip:ip:tcp" */
  protocols: string;
  srcPort?: number;
  dstPort?: number;
  /** TCP flags as tshark's hex string, e.g. "0x0012" for SYN-ACK */
  tcpFlags?: string;
}

export interface CaptureResult {
  pcapPath: string;
  packets: CapturedPacket[];
}

const FIELDS = ['frame.len', 'ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst', 'frame.protocols',
  'tcp.srcport', 'tcp.dstport', 'udp.srcport', 'udp.dstport', 'tcp.flags'];

function splitList(s: string | undefined): string[] {
  return s ? s.split(',').filter(Boolean) : [];
}

export function parseTsharkFields(text: string): CapturedPacket[] {
  const packets: CapturedPacket[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const [len, ip4src, ip4dst, ip6src, ip6dst, protocols, tsport, tdport, usport, udport, flags] = line.split('\t');
    // tshark lists each field's occurrences in layer order; the two families are separate fields,
    // so order IPv6-outer (4in6) by where the families appear in the protocol stack.
    const v6First = (protocols ?? '').indexOf('ipv6') !== -1 &&
      ((protocols ?? '').indexOf(':ip:') === -1 || (protocols ?? '').indexOf('ipv6') < (protocols ?? '').indexOf(':ip:'));
    const src = v6First ? [...splitList(ip6src), ...splitList(ip4src)] : [...splitList(ip4src), ...splitList(ip6src)];
    const dst = v6First ? [...splitList(ip6dst), ...splitList(ip4dst)] : [...splitList(ip4dst), ...splitList(ip6dst)];
    const sport = tsport || usport;
    const dport = tdport || udport;
    packets.push({
      length: Number(len),
      src,
      dst,
      protocols: protocols ?? '',
      ...(sport ? { srcPort: Number(splitList(sport).at(-1)) } : {}),
      ...(dport ? { dstPort: Number(splitList(dport).at(-1)) } : {}),
      ...(flags ? { tcpFlags: flags } : {}),
    });
  }
  return packets;
}

export class Capture {
  private constructor(private readonly proc: LabProcess, private readonly dir: string, readonly pcapPath: string) {}

  /** argvPrefix runs a command inside the namespace (e.g. ['ip', 'netns', 'exec', ns]). */
  static async start(argvPrefix: string[], dev: string, filter: string, description: string): Promise<Capture> {
    const dir = mkdtempSync(join(tmpdir(), 'xlab-cap-'));
    const pcapPath = join(dir, 'capture.pcap');
    // -U and --immediate-mode: each packet reaches the file at once (TPACKET_V3 would otherwise hold
    // a block back until its timeout), so stop() right after the traffic loses nothing. -n: no DNS.
    // -B 16 MiB, -s 2 KiB: in immediate mode the kernel ring (TPACKET_V2) has one snaplen-sized slot
    // per frame when the interface has offloads, so the default 256 KiB snaplen left 64 slots and a
    // burst (300 quick connections) overflowed them whenever tcpdump was off the CPU for a moment.
    // 2 KiB slots: ~8000 frames; headers (all tshark is asked for) and full 1500-byte frames fit.
    const proc = new LabProcess(`tcpdump ${description}`, [...argvPrefix, 'tcpdump', '-i', dev, '-n', '-U', '--immediate-mode', '-B', '16384', '-s', '2048', '-w', pcapPath,
      ...(filter ? filter.split(/\s+/) : [])]);
    try {
      await proc.waitForOutput(/listening on/, 10_000);
    } catch (err) {
      await proc.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    return new Capture(proc, dir, pcapPath);
  }

  /** Stops tcpdump and returns the packets; the pcap stays until discard(). */
  async stop(): Promise<CaptureResult> {
    await this.drained();
    await this.proc.stop('SIGINT');
    const r = await run(['tshark', '-r', this.pcapPath, '-T', 'fields', ...FIELDS.flatMap((f) => ['-e', f])], { timeoutMs: 60_000 });
    return { pcapPath: this.pcapPath, packets: parseTsharkFields(r.stdout) };
  }

  /**
   * tcpdump exits on SIGINT without reading what is still in the kernel ring, and on a busy machine
   * it may lag the traffic: wait until the pcap has stopped growing for a moment (at most 5 s).
   */
  private async drained(quietMs = 100, maxMs = 5000): Promise<void> {
    const size = () => {
      try {
        return statSync(this.pcapPath).size;
      } catch {
        return -1;
      }
    };
    const end = Date.now() + maxMs;
    let last = size();
    while (Date.now() < end && this.proc.running) {
      await new Promise((r) => setTimeout(r, quietMs));
      const now = size();
      if (now === last) return;
      last = now;
    }
  }

  killSync(): void {
    this.proc.killSync();
  }

  discard(): void {
    this.proc.killSync();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
