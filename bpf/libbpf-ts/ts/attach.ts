// XDP and tc attachment through netlink (outlives the process), interface names and network
// namespaces.
import { handleOf, native } from './native.js';
import type { BpfProgram } from './program.js';

export type XdpMode = 'native' | 'generic';
export const XDP_FLAGS_SKB_MODE = 1 << 1;
export const XDP_FLAGS_DRV_MODE = 1 << 2;

export interface XdpQueryResult {
  /** the attached program (0 if none) */
  progId: number;
  mode: XdpMode | 'offload' | 'multi' | 'none';
  nativeProgId: number;
  genericProgId: number;
  offloadProgId: number;
}

/**
 * Attaches through netlink; the attachment outlives the process (no pin needed).
 * replaceProgId: replace only if that program is the one attached (XDP_FLAGS_REPLACE) — otherwise
 * BpfError EEXIST and the current program stays. noReplace: fail (EBUSY) if any program is attached.
 */
export function xdpAttach(ifindex: number, prog: BpfProgram, o: { mode: XdpMode; replaceProgId?: number; noReplace?: boolean }): void {
  native.xdpAttach(ifindex, handleOf(prog), o?.mode, o?.replaceProgId ?? null, o?.noReplace ?? false);
}

/** Detaches the program of `mode`; with expectedProgId only if that program is attached (EEXIST otherwise). */
export function xdpDetach(ifindex: number, o: { mode: XdpMode; expectedProgId?: number }): void {
  native.xdpDetach(ifindex, o?.mode, o?.expectedProgId ?? null);
}

export function xdpQuery(ifindex: number): XdpQueryResult {
  return native.xdpQuery(ifindex);
}

export type TcDirection = 'ingress' | 'egress';
export interface TcHookOptions {
  direction: TcDirection;
  /** filter handle, default 1 */
  handle?: number;
  /** filter priority, default 1 */
  priority?: number;
}

/** Attaches a tc (sched_cls, direct-action) program; creates the clsact qdisc if missing and
 * replaces any filter at the same handle/priority. Returns the attached program id. */
export function tcAttach(ifindex: number, prog: BpfProgram, o: TcHookOptions): number {
  return native.tcAttach(ifindex, o?.direction, o?.handle ?? null, o?.priority ?? null, handleOf(prog));
}

export function tcDetach(ifindex: number, o: TcHookOptions): void {
  native.tcDetach(ifindex, o?.direction, o?.handle ?? null, o?.priority ?? null);
}

export function tcQuery(ifindex: number, o: TcHookOptions): { progId: number } | undefined {
  const id = native.tcQuery(ifindex, o?.direction, o?.handle ?? null, o?.priority ?? null);
  return id ? { progId: id } : undefined;
}

/** Removes the clsact qdisc (and all tc filters on it). Returns false if there was none. */
export function tcDestroyClsact(ifindex: number): boolean {
  return native.tcHookDestroy(ifindex);
}

/** ifindex of an interface in the current network namespace; BpfError ENODEV naming it if absent. */
export function ifNameToIndex(name: string): number {
  return native.ifNameToIndex(name);
}

/**
 * Runs a synchronous `fn` inside a network namespace (setns on the JS thread, then back, also when
 * fn throws). nsPath is a path such as '/run/netns/lab-x' or '/proc/<pid>/ns/net'; a bare name
 * means /run/netns/<name>. Everything fn does synchronously (ifNameToIndex, xdpAttach, tcAttach,
 * creating sockets) happens in that namespace; a Promise-returning fn is rejected with TypeError.
 */
export function withNetns<T>(nsPath: string, fn: () => T): T {
  const path = typeof nsPath === 'string' && !nsPath.includes('/') ? `/run/netns/${nsPath}` : nsPath;
  return native.withNetns(path, fn);
}
