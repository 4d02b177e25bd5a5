// Names and addresses of a lab run, as pure data: computed before anything is created, so a failed
// step can still tear down every namespace the plan names.
//
// Address plan (private ranges, only ever configured inside the lab's own namespaces):
//   client cN  ↔ router   10.1.N.0/24    fd00:1:N::/64   router .1 / ::1, node .2 / ::2
//   LB node lbN ↔ router  10.2.N.0/24    fd00:2:N::/64
//   backend bN ↔ router   10.3.N.0/24    fd00:3:N::/64
//   VIPs                  10.100.0.0/24  fd00:100::/64   routed by the router to the LB node(s);
//                                                        default VIPs 10.100.0.10 and fd00:100::10
// Inside every node namespace the link is called eth0; on the router it is called to-<node>.
import { randomBytes } from 'node:crypto';

export type Role = 'router' | 'client' | 'lb' | 'backend';

export interface NodePlan {
  /** Lab-local node name: r, c1, c2, lb1, lb2, b1..bN */
  name: string;
  role: Role;
  /** Network namespace name (unique per run) */
  ns: string;
  netnsPath: string;
  /** The node's interface towards the router (absent for the router itself) */
  ifname: string;
  /** The router's interface towards this node */
  routerIfname: string;
  ipv4: string;
  ipv6: string;
  routerIpv4: string;
  routerIpv6: string;
  prefix4: string;
  prefix6: string;
}

export interface LabPlan {
  runId: string;
  /** Common prefix of every namespace of this run */
  nsPrefix: string;
  router: NodePlan;
  clients: NodePlan[];
  lbs: NodePlan[];
  backends: NodePlan[];
  vips4: string[];
  vips6: string[];
  vipPrefix4: string;
  vipPrefix6: string;
  /** bpffs directory owned by this run (decap pins and anything tests pin) */
  pinDir: string;
}

export const LAB_NS_PREFIX = 'xlab';
export const LAB_PIN_ROOT = '/sys/fs/bpf/xlb-lab';
export const VIP_PREFIX4 = '10.100.0.0/24';
export const VIP_PREFIX6 = 'fd00:100::/64';
export const DEFAULT_VIPS4 = ['10.100.0.10'];
export const DEFAULT_VIPS6 = ['fd00:100::10'];
/** The LB nodes' subnets: the outer sources a lab backend's decap accepts tunnels from. */
export const LB_SOURCE_PREFIXES = ['10.2.0.0/16', 'fd00:2::/32'];
const SUBNET_BY_ROLE = { client: 1, lb: 2, backend: 3 } as const;

export interface PlanOptions {
  backends: number;
  lbNodes: number;
  clients: number;
  vips4: string[];
  vips6: string[];
}

/** Run id: pid (so a reaper can tell dead runs apart) plus randomness (two labs in one process). */
export function newRunId(): string {
  return `${process.pid}-${randomBytes(3).toString('hex')}`;
}

function nodePlan(nsPrefix: string, role: Exclude<Role, 'router'>, index: number): NodePlan {
  const name = `${role === 'client' ? 'c' : role === 'lb' ? 'lb' : 'b'}${index}`;
  const net = SUBNET_BY_ROLE[role];
  const ns = `${nsPrefix}-${name}`;
  return {
    name,
    role,
    ns,
    netnsPath: `/run/netns/${ns}`,
    ifname: 'eth0',
    routerIfname: `to-${name}`,
    ipv4: `10.${net}.${index}.2`,
    ipv6: `fd00:${net}:${index.toString(16)}::2`,
    routerIpv4: `10.${net}.${index}.1`,
    routerIpv6: `fd00:${net}:${index.toString(16)}::1`,
    prefix4: `10.${net}.${index}.0/24`,
    prefix6: `fd00:${net}:${index.toString(16)}::/64`,
  };
}

export function makePlan(o: PlanOptions, runId = newRunId()): LabPlan {
  const nsPrefix = `${LAB_NS_PREFIX}-${runId}`;
  const routerNs = `${nsPrefix}-r`;
  const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
  return {
    runId,
    nsPrefix,
    router: {
      name: 'r', role: 'router', ns: routerNs, netnsPath: `/run/netns/${routerNs}`,
      ifname: '', routerIfname: '', ipv4: '', ipv6: '', routerIpv4: '', routerIpv6: '', prefix4: '', prefix6: '',
    },
    clients: range(o.clients).map((i) => nodePlan(nsPrefix, 'client', i)),
    lbs: range(o.lbNodes).map((i) => nodePlan(nsPrefix, 'lb', i)),
    backends: range(o.backends).map((i) => nodePlan(nsPrefix, 'backend', i)),
    vips4: o.vips4,
    vips6: o.vips6,
    vipPrefix4: VIP_PREFIX4,
    vipPrefix6: VIP_PREFIX6,
    pinDir: `${LAB_PIN_ROOT}/${runId}`,
  };
}

export function allNodes(plan: LabPlan): NodePlan[] {
  return [plan.router, ...plan.clients, ...plan.lbs, ...plan.backends];
}
