// The LB on a lab node, driven directly through LbDatapath (no daemon): load the XDP program, point
// its lb_config at the node's own NIC and gateway, attach it natively to the node's eth0, and take
// it away again. Used by the end-to-end tests and the demo.
import { existsSync } from 'node:fs';
import { withNetns } from '../../bpf/libbpf-ts/index.js';
import { LbDatapath, type DatapathBackend, type DatapathService, type LoadOptions } from '../../lb/datapath/index.js';
import type { Lab, LabNode, LbNodeContext } from '../lab/lab.js';

/** One seed for every LB node of a lab: ECMP across nodes relies on identical placement. */
export const E2E_SEED = 0x71b5eed;

export interface LbNode {
  name: string;
  ctx: LbNodeContext;
  dp: LbDatapath;
  /** Detaches (if the namespace still exists) and releases the program's file descriptors. */
  stop(): void;
}

export type LbNodeOptions = Partial<Omit<LoadOptions, 'objectPath'>>;

/** Loads the LB program, configures it for the node's link and attaches it to eth0 (native XDP). */
export async function startLbNode(lab: Lab, name: string, o: LbNodeOptions = {}): Promise<LbNode> {
  const dp = LbDatapath.load({ seed: E2E_SEED, tableSize: 65537, mtu: 1500, maxServices: 16, maxBackends: 256, flowTableSize: 65536, ...o });
  try {
    const ctx = await lab.attachLb(name, (c) => {
      // Outer sources are the node's own addresses: backends see the tunnel come from the LB node.
      dp.setConfig({ ifMac: c.mac, gatewayMac: c.gatewayMac, sourceV4: c.ipv4, ...(lab.ipv6 ? { sourceV6: c.ipv6 } : {}) });
      withNetns(c.netnsPath, () => dp.attach(c.ifindex, 'native'));
      return c;
    });
    let stopped = false;
    return {
      name,
      ctx,
      dp,
      stop() {
        if (stopped) return;
        stopped = true;
        try {
          if (existsSync(ctx.netnsPath)) withNetns(ctx.netnsPath, () => dp.detach());
        } finally {
          dp.close();
        }
      },
    };
  } catch (e) {
    dp.close();
    throw e;
  }
}

/** Backend id of (service, backend index): ids are per (service, backend) pair in the datapath. */
export function backendId(serviceId: number, backendIndex: number): number {
  return serviceId * 16 + backendIndex;
}

export interface BackendSpec {
  node: LabNode;
  weight?: number;
  state?: 'active' | 'draining';
}

/** Datapath backend entries for lab backend nodes, addressed by IPv4 or IPv6. */
export function backendsOf(serviceId: number, specs: BackendSpec[], family: 4 | 6): DatapathBackend[] {
  return specs.map((s) => ({
    id: backendId(serviceId, Number(s.node.name.slice(1))),
    address: family === 4 ? s.node.ipv4 : s.node.ipv6,
    weight: s.weight ?? 1,
    ...(s.state ? { state: s.state } : {}),
  }));
}

/** The same service and backend set on every given LB node (what a control plane would do). */
export function configureService(nodes: LbNode[], svc: DatapathService, backends: DatapathBackend[]): void {
  for (const n of nodes) {
    n.dp.upsertService(svc);
    n.dp.setBackends(svc.id, backends);
  }
}

/** Lab backend name of a datapath backend id (inverse of backendId). */
export function backendName(id: number): string {
  return `b${id % 16}`;
}
