// The smallest topology that can carry load-balanced traffic: two namespaces joined by one veth pair.
//
//   <tag>-gen  [g0] ─────── [l0]  <tag>-lb
//   trafgen sends out g0     the program under test runs natively on l0 and XDP_TX's every frame
//   a counting sink on g0    back out l0, so it arrives at g0, where the sink counts and drops it
//
// The sink doubles as the XDP program a veth needs on the receiving end of XDP_TX (platform notes).
// Nothing is routed, no address is configured, IPv6 is off: frames never leave the pair and the sink
// counts only the stream. Namespaces carry the
// process id and a random suffix; destroy() (also run on exit and on SIGINT/SIGTERM/SIGHUP) deletes
// them, which removes the veths and their XDP attachments with them.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { ifNameToIndex, withNetns, xdpAttach, type BpfProgram } from '../../bpf/libbpf-ts/index.js';
import { registerLive, unregisterLive, type SyncDestroyable } from '../../test/lab/index.js';

function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface LinkCounters {
  txPackets: number;
  txDropped: number;
  rxPackets: number;
  rxDropped: number;
}

export class VethPair implements SyncDestroyable {
  readonly genNs: string;
  readonly lbNs: string;
  readonly genIf = 'g0';
  readonly lbIf = 'l0';
  #destroyed = false;

  private constructor(tag: string) {
    this.genNs = `${tag}-gen`;
    this.lbNs = `${tag}-lb`;
  }

  /** Creates both namespaces and the pair, links up. `prefix` names the run (e.g. 'xbench'). */
  static create(prefix = 'xbench'): VethPair {
    const pair = new VethPair(`${prefix}-${process.pid}-${randomBytes(3).toString('hex')}`);
    registerLive(pair);
    try {
      for (const ns of [pair.genNs, pair.lbNs]) {
        ip(['netns', 'add', ns]);
        // No IPv6 on the pair: the stack's own router/listener solicitations would reach the sink and
        // be counted with the stream.
        ip(['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
      }
      ip(['-n', pair.genNs, 'link', 'add', pair.genIf, 'type', 'veth', 'peer', 'name', pair.lbIf, 'netns', pair.lbNs]);
      ip(['-n', pair.genNs, 'link', 'set', pair.genIf, 'up']);
      ip(['-n', pair.lbNs, 'link', 'set', pair.lbIf, 'up']);
      return pair;
    } catch (e) {
      pair.destroySync();
      throw e;
    }
  }

  /** Gives g0 `<prefix>.1/24` and l0 `<prefix>.2/24` and brings up the LB namespace's loopback: a
   *  daemon on l0 then has an interface address and a gateway that answers ARP. */
  addAddresses(prefix = '10.9.0'): { gen: string; lb: string } {
    ip(['-n', this.genNs, 'addr', 'add', `${prefix}.1/24`, 'dev', this.genIf]);
    ip(['-n', this.lbNs, 'addr', 'add', `${prefix}.2/24`, 'dev', this.lbIf]);
    ip(['-n', this.lbNs, 'link', 'set', 'lo', 'up']);
    return { gen: `${prefix}.1`, lb: `${prefix}.2` };
  }

  /** A permanent ARP entry for g0's address in the LB namespace: with a sink dropping everything g0
   *  receives (ARP requests included), the gateway would otherwise never resolve. */
  pinGatewayNeighbour(genAddress: string): void {
    ip(['-n', this.lbNs, 'neigh', 'replace', genAddress, 'lladdr', this.genMac, 'dev', this.lbIf, 'nud', 'permanent']);
  }

  netnsPath(ns: string): string {
    return `/run/netns/${ns}`;
  }

  mac(ns: string, ifname: string): string {
    const [link] = JSON.parse(ip(['-n', ns, '-j', 'link', 'show', ifname])) as { address: string }[];
    return link!.address;
  }

  get genMac(): string {
    return this.mac(this.genNs, this.genIf);
  }

  get lbMac(): string {
    return this.mac(this.lbNs, this.lbIf);
  }

  /** Attaches (or atomically replaces) a native XDP program on the generator's or the LB's veth. */
  attach(side: 'gen' | 'lb', prog: BpfProgram): void {
    const [ns, ifname] = side === 'gen' ? [this.genNs, this.genIf] : [this.lbNs, this.lbIf];
    withNetns(this.netnsPath(ns), () => xdpAttach(ifNameToIndex(ifname), prog, { mode: 'native' }));
  }

  counters(side: 'gen' | 'lb'): LinkCounters {
    const [ns, ifname] = side === 'gen' ? [this.genNs, this.genIf] : [this.lbNs, this.lbIf];
    const [link] = JSON.parse(ip(['-n', ns, '-j', '-s', 'link', 'show', ifname])) as {
      stats64: { tx: { packets: number; dropped: number }; rx: { packets: number; dropped: number } };
    }[];
    const s = link!.stats64;
    return { txPackets: s.tx.packets, txDropped: s.tx.dropped, rxPackets: s.rx.packets, rxDropped: s.rx.dropped };
  }

  destroySync(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    unregisterLive(this);
    for (const ns of [this.genNs, this.lbNs]) {
      try {
        ip(['netns', 'del', ns]);
      } catch {
        // not created (failed half-way) or already gone
      }
    }
  }

  destroy(): void {
    this.destroySync();
  }
}
