// SPDX-License-Identifier: GPL-2.0
// Load-time constants of the XDP load balancer. They live in .rodata as `const volatile` so the
// loader (lb/datapath) sets them per node before load, and the verifier then treats them as known
// values: branches on them are pruned and the hot path never pays for a map lookup to read them.
// Anything that must change without a reload (MACs, source addresses) lives in the lb_config map.
#ifndef XLB_CONFIG_H
#define XLB_CONFIG_H

#include <linux/types.h>

// Load-time flags (cfg_flags).
// LB_F_NO_FLOW_TABLE: stateless mode — every packet is placed by the Maglev table alone. Flows then
// move when the backend set changes; useful when memory is tight or to measure the table's cost.
#define LB_F_NO_FLOW_TABLE (1U << 0)
// LB_F_NO_RECORDER: both recorder hooks return at once. The flag is a constant on frozen .rodata,
// so the verifier prunes the recorder's calls as dead code and never checks its helpers: the
// program then loads on kernels without bpf_xdp_load_bytes (5.18) and bpf_loop (5.17). The
// loader sets it when the kernel lacks them (lb/datapath/recorder-probe.ts) or when asked to.
#define LB_F_NO_RECORDER (1U << 1)

// Seed of the flow hash. Every LB node behind the same ECMP group uses the same seed (and builds
// the same Maglev tables) so any node sends a given flow to the same backend without shared state.
const volatile __u32 cfg_hash_seed = 0;

// Largest IP packet (L3 bytes) the path from this LB to the backends carries. Encapsulated packets
// that would exceed it get ICMP frag-needed / Packet Too Big instead (see icmp.h).
const volatile __u32 cfg_mtu = 1500;

const volatile __u32 cfg_flags = 0;

// ICMP too-big replies (icmp.h): a per-CPU budget refilled by one reply every cfg_icmp_cost_ns
// (10^9 / the configured rate per second) and holding at most cfg_icmp_cap_ns (burst × cost).
const volatile __u64 cfg_icmp_cost_ns = 5000000;
const volatile __u64 cfg_icmp_cap_ns = 250000000;

// A TCP SYN for a 5-tuple the flow table holds takes a new backend only when the entry's backend
// is gone or the entry has seen no packet for this long (flow.h). 0: always.
const volatile __u64 cfg_syn_idle_ns = 60000000000ULL;

// 64 − log2(buckets of the flow table) (max_entries of `flows`, a power of two): the bucket is the
// bucket hash's top bits.
const volatile __u32 cfg_flow_shift = 54;

#endif
