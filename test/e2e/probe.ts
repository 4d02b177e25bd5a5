// TypeScript side of probe.py: ICMP echo without a ping binary, and TCP segments of exact sizes
// (PMTU tests), sent from a lab node.
import { join } from 'node:path';
import { repoRoot } from '../lab/paths.js';
import type { Lab } from '../lab/lab.js';

const SCRIPT = join(repoRoot, 'test', 'e2e', 'probe.py');
/** Debian's python: the one that sees python3-scapy (platform notes). */
const PYTHON = '/usr/bin/python3';

async function probe<T>(lab: Lab, node: string, req: object): Promise<T> {
  const r = await lab.exec(node, [PYTHON, SCRIPT, JSON.stringify(req)], { timeoutMs: 30_000 });
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as T;
}

export function echo(lab: Lab, node: string, dst: string, count = 3): Promise<{ sent: number; received: number }> {
  return probe(lab, node, { op: 'echo', dst, count });
}

export interface TcpProbe {
  sport: number;
  /** IP total length (IPv4: DF set) */
  length: number;
}

export function sendTcpProbes(lab: Lab, node: string, dst: string, dport: number, probes: TcpProbe[]): Promise<{ sent: number }> {
  return probe(lab, node, { op: 'tcp', dst, dport, probes });
}
