// SPDX-License-Identifier: GPL-2.0
// Every map of the XDP load balancer and the byte layout of its keys and values, in one place.
// lb/datapath/layout.ts mirrors these structs byte for byte (a test compares the sizes with the
// loaded object); change both together and bump LB_LAYOUT_VERSION when a layout changes, so a
// daemon never adopts pinned maps it would misread.
//
// Addresses are always 16 bytes in network order; IPv4 uses the first 4 and leaves the rest 0.
// The default max_entries below are placeholders: the loader sets real sizes at load time.
#ifndef XLB_MAPS_H
#define XLB_MAPS_H

#include <stdbool.h>
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

// 2: the recorder's maps (recorder.h) joined the pinned set
// 3: per-service Maglev table size (service_value.table_size); inner tables hold 16 slots per
//    element (struct maglev_group) and are mmapable
// 4: lb_config: MACs in Ethernet order, the VIP filter, mmapable; flow_key: service_key after src;
//    every global counter in one per-CPU value (struct lb_stats); service_stats count only the
//    packets of a service that no backend received
// 5: the flow table is xlb's own: an mmapable array of 4-way buckets (struct flow_bucket) instead
//    of an LRU hash; lb_meta records the requested flow table size
// 6: icmp_budget (the ICMP too-big reply budget); lb_meta records the ICMP rate and burst and the
//    SYN takeover idle time
// 7: the recorder's rule index (rec_masks, rec_index), a ring per recording (rec_rings), its
//    switch in the .data.rec section (pinned as rec_ctl); no rec_rules, no shared rec_ring
// 8: the recorder's rule shapes and rule filter in .data.rec (struct rec_ctl); no rec_masks
#define LB_LAYOUT_VERSION 8

#define LB_FAMILY_V4 4
#define LB_FAMILY_V6 6

// services: (VIP, port, protocol) → service. port 0 = the service takes every port of the VIP.
struct service_key {
	__be32 addr[4];
	__be16 port;
	__u8 proto;  // IPPROTO_TCP / IPPROTO_UDP
	__u8 family; // LB_FAMILY_V4 / LB_FAMILY_V6
};

// Client persistence: place flows by the client address alone, and remember one backend per
// (client, service) in the flow table instead of one per connection.
#define SVC_F_HASH_SRC_IP_ONLY (1U << 0)

struct service_value {
	__u32 service_id; // index into maglev_outer and service_stats; chosen by the control plane
	__u32 flags;      // SVC_F_*
	__u32 table_size; // M of this service's Maglev table (prime, lb/maglev ALLOWED_TABLE_SIZES)
};

// vips: every address that has at least one service. Lets the datapath tell "traffic for us that
// we must judge" (fragments, options, bad headers) from traffic it passes untouched.
struct vip_key {
	__be32 addr[4];
	__u8 family;
	__u8 pad[3];
};

struct vip_value {
	__u32 services; // how many services use this address (maintained by the control plane)
};

// backends[id]: ids are per (service, backend) pair. An entry whose family is 0, whose service_id
// differs from the service being served, or whose flags have neither bit set is "gone".
#define BE_F_ACTIVE (1U << 0)   // in the Maglev table
#define BE_F_DRAINING (1U << 1) // keeps its established flows, gets no new ones

struct backend_value {
	__be32 addr[4];
	__u8 family;
	__u8 flags;      // BE_F_*
	__u16 weight;    // unused by the datapath: recorded so a restarted daemon can list the set
	__u32 service_id;
};

// flows: the connection table. For client-persistence services sport is 0 and dport is the
// service's port (0 for all-ports), so the entry stands for (client, service).
// The members after src are laid out like struct service_key (dst = addr, then dport, proto,
// family): &flow->dst is the key of the flow's exact service, looked up without copying.
struct flow_key {
	__be32 src[4];
	__be32 dst[4];
	__be16 dport;
	__u8 proto;
	__u8 family;
	__be16 sport;
	__u8 pad[2];
} __attribute__((aligned(8))); // hashed, compared and copied as five 64-bit words

// The flow table: FLOW_WAYS entries per bucket, buckets an array shared by every CPU. A flow lives
// in the bucket the top bits of flow_bucket_hash(key) name (flow.h), in any of its ways. Why not the
// kernel's LRU hash: every insert there takes a per-CPU LRU lock and a bucket lock with interrupts
// disabled (and on replacing, the LRU lock again), which cost a new connection more than the rest
// of its packet; this table is read and written with plain loads and stores. The price: two CPUs
// writing the same way of the same bucket at the same instant can leave a mixed entry — which the
// datapath checks like any entry (its backend must still serve the service) and which only
// affects flows whose entries were being replaced anyway. Mapped by lb/datapath for reading,
// listing and clearing.
#define FLOW_WAYS 4

struct flow_entry {
	struct flow_key key;
	__u32 backend_id;
	__u32 service_id;
	__u64 last_seen_ns; // bpf_ktime_get_coarse_ns() at the last packet: CLOCK_MONOTONIC_COARSE,
			    // which moves once per scheduler tick — no clock read per packet
	__u32 tag;          // bucket hash bits, never 0 in a used entry: 0 = the way is free
	__u32 pad;
};

struct flow_bucket {
	struct flow_entry way[FLOW_WAYS];
};

// lb_config: runtime settings the control plane may change without a reload, and the VIP filter:
// one page every packet reads. A global variable in its own data section, so the program reads
// it at a fixed address (no lookup); libbpf makes that section a one-element mmapable array map,
// which the control plane maps and writes in place (each filter word with one aligned 64-bit
// store). lb/datapath pins it as "lb_config".
#define LB_CFG_MACS (1U << 0)   // if_mac and gw_mac are set
#define LB_CFG_SRC_V4 (1U << 1) // src_v4 is set: IPv4 outer headers can be built
#define LB_CFG_SRC_V6 (1U << 2) // src_v6 is set: IPv6 outer headers can be built
// Outer headers of a family can be built (MACs and that family's source set): bit 1 << family,
// so the datapath tests the backend's family without a table.
#define LB_CFG_READY_V4 (1U << LB_FAMILY_V4)
#define LB_CFG_READY_V6 (1U << LB_FAMILY_V6)

// The VIP filter: bit vip_filter_test() takes for an address (service.h) is set for every address in `vips`. A
// clear bit proves the destination is not a VIP without a hash-map lookup: traffic for the host
// itself is passed after one bit test. A set bit may be a collision; `vips` decides. 2^14 bits.
#define VIP_FILTER_BITS 16384
#define VIP_FILTER_WORDS (VIP_FILTER_BITS / 64)

// The MACs come first and in Ethernet order (destination, source): the 12 bytes are copied into
// an encapsulated frame's header as they are.
struct lb_config {
	__u8 gw_mac[6]; // next hop towards the backends: destination MAC of encapsulated frames
	__u8 if_mac[6]; // source MAC of encapsulated frames
	__be32 src_v4;  // outer source; with a non-zero hostmask the network part of a CIDR
	__be32 src_v4_hostmask;
	__be32 src_v6[4];
	__be32 src_v6_hostmask; // applies to the last 32 bits of src_v6
	__u32 flags;            // LB_CFG_*
	// One's-complement sum (as encap.h adds: 32-bit words as loaded) of the outer IPv4 header's
	// fixed part for an IPv4 packet with DF: version/IHL, DF, TTL, protocol 4, src_v4. The
	// datapath adds TOS, length and destination to get the checksum.
	__u32 ipip_sum;
	__u32 pad[4];           // the filter starts at a cache line
	__u64 vip_filter[VIP_FILTER_WORDS];
};

// lb_meta[0]: the load-time constants, recorded by the loader so a restarted daemon that adopts
// pinned maps knows them (.rodata is not pinned). The program never reads it.
struct lb_meta {
	__u32 layout_version;
	__u32 hash_seed;
	__u32 maglev_size; // the default table size of services that do not choose one
	__u32 mtu;
	__u32 flags;
	__u32 flow_table_size; // flows asked for (the table has buckets × FLOW_WAYS ≥ this)
	__u32 icmp_rate;       // ICMP too-big replies per second and CPU
	__u32 icmp_burst;
	__u32 syn_idle_ms;     // cfg_syn_idle_ns / 10^6
};

// Value of every per-CPU counter slot.
struct lb_counter {
	__u64 packets;
	__u64 bytes;
};

// stats[0]: every global counter, indexed by enum lb_stat (counters.h), in one per-CPU value so a
// packet finds all of them with one lookup.
#define LB_STATS_SLOTS 64

struct lb_stats {
	struct lb_counter c[LB_STATS_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct service_key);
	__type(value, struct service_value);
} services SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct vip_key);
	__type(value, struct vip_value);
} vips SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct backend_value);
} backends SEC(".maps");

// Inner Maglev tables: M slots of backend ids, MAGLEV_GROUP_SLOTS per array element. An array
// stores each value in a slot rounded up to 8 bytes, so one u32 per element would cost 8 bytes
// per slot; a 64-byte group costs 4 and is one cache line. Slot s is group s / 16, index s % 16,
// i.e. the element area is a plain u32[M] (rounded up to whole groups): BPF_F_MMAPABLE lets the
// control plane map it and rewrite single slots in place with one aligned 32-bit store each (a
// packet reads the old or the new id of a slot, never a mix). BPF_F_INNER_MAP lets the inner maps
// differ in max_entries (each service has its own M) although this template has 1. (Resizing the
// template instead crashes libbpf 1.1's bpf_map__set_max_entries, which dereferences the inner
// map's missing object pointer.)
#define MAGLEV_GROUP_SLOTS 16

struct maglev_group {
	__u32 slot[MAGLEV_GROUP_SLOTS];
};

// Sizes rather than __type(…): clang emits only a forward declaration of a type that an inner map
// definition alone refers to, which libbpf cannot size (and a key type without a value type makes
// the kernel refuse the map's BTF).
struct maglev_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct maglev_group));
};

// maglev_outer[service_id] → that service's table. The control plane either fills a fresh inner
// map and swaps it in with one update (a packet sees the old or the new table, never a mix), or
// rewrites changed slots of the current one in place (each slot old or new).
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__array(values, struct maglev_inner);
} maglev_outer SEC(".maps");

// max_entries = buckets, a power of two (the loader sets it and cfg_flow_shift together).
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct flow_bucket);
} flows SEC(".maps");

struct lb_config lb_config SEC(".data.lb_config");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lb_meta);
} lb_meta SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lb_stats);
} stats SEC(".maps");

// icmp_budget[0]: this CPU's budget of ICMP too-big replies (icmp.h), in nanoseconds of credit.
struct icmp_budget {
	__u64 credit_ns;
	__u64 last_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct icmp_budget);
} icmp_budget SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct lb_counter);
} service_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct lb_counter);
} backend_stats SEC(".maps");

#endif
