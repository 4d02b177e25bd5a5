// The public door of next-hop resolution: the interface's own facts (MAC, addresses) and the
// gateway's MAC, read from the kernel through rtnetlink and watched for changes.
export { GatewayWatcher, usableMac, type GatewayOptions, type GatewayLogger, type NextHopFacts } from './resolver.js';
export { Rtnl, type LinkInfo, type InterfaceAddress, type RouteInfo, type NeighbourInfo, type NeighbourState } from './rtnetlink.js';
export { probeNeighbour, DISCARD_PORT } from './probe.js';
