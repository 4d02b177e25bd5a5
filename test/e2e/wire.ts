// Reading a capture as DSR evidence: which frames were client requests to the VIP, which were those
// requests inside a tunnel to a backend, and which were replies from the VIP.
import type { Capture, CapturedPacket, Lab } from '../lab/lab.js';

export interface WireSummary {
  /** client → VIP:port, not encapsulated */
  requests: CapturedPacket[];
  /** SYNs among the requests (one per new connection, plus retransmissions) */
  requestSyns: CapturedPacket[];
  /** client → VIP:port inside an outer IP header (two IP layers) */
  tunnelled: CapturedPacket[];
  /** tunnelled frames per outer destination (the backend's address) */
  tunnelledTo: Map<string, number>;
  /** VIP:port → anything, at any layer */
  replies: CapturedPacket[];
  /** SYN-ACKs among the replies */
  replySynAcks: CapturedPacket[];
}

const SYN = 0x02;
const ACK = 0x10;
const flags = (p: CapturedPacket) => (p.tcpFlags ? Number.parseInt(p.tcpFlags, 16) : 0);

export function summarize(packets: CapturedPacket[], vip: string, port: number): WireSummary {
  const requests = packets.filter((p) => p.dst.length === 1 && p.dst[0] === vip && p.dstPort === port);
  const tunnelled = packets.filter((p) => p.dst.length === 2 && p.dst[1] === vip && p.dstPort === port);
  const replies = packets.filter((p) => p.src.includes(vip) && p.srcPort === port);
  const tunnelledTo = new Map<string, number>();
  for (const p of tunnelled) tunnelledTo.set(p.dst[0]!, (tunnelledTo.get(p.dst[0]!) ?? 0) + 1);
  return {
    requests,
    requestSyns: requests.filter((p) => flags(p) === SYN),
    tunnelled,
    tunnelledTo,
    replies,
    replySynAcks: replies.filter((p) => flags(p) === (SYN | ACK)),
  };
}

export interface CapturePoint {
  node: string;
  dev: string;
  filter?: string;
}

/**
 * Runs fn with tcpdump on every capture point, and stops them all whatever happens (a failing run
 * leaves no tcpdump behind). Packets come back in the order of `points`.
 */
export async function captureDuring<T>(lab: Lab, points: CapturePoint[], fn: () => Promise<T>): Promise<{ result: T; packets: CapturedPacket[][] }> {
  const caps: Capture[] = [];
  try {
    for (const p of points) caps.push(await lab.captureStart(p.node, p.dev, p.filter ?? ''));
    const result = await fn();
    // tshark takes about a second per capture to start: read them side by side.
    const results = await Promise.all(caps.splice(0).map((c) => c.stop()));
    return { result, packets: results.map((r) => r.packets) };
  } finally {
    for (const c of caps) c.discard();
  }
}
