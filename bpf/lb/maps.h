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
#define LB_LAYOUT_VERSION 3

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
struct flow_key {
	__be32 src[4];
	__be32 dst[4];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 family;
	__u8 pad[2];
};

struct flow_value {
	__u32 backend_id;
	__u32 service_id;
	__u64 last_seen_ns; // bpf_ktime_get_ns() of the last packet (CLOCK_MONOTONIC)
};

// lb_config[0]: runtime settings the control plane may change without a reload.
#define LB_CFG_MACS (1U << 0)   // if_mac and gw_mac are set
#define LB_CFG_SRC_V4 (1U << 1) // src_v4 is set: IPv4 outer headers can be built
#define LB_CFG_SRC_V6 (1U << 2) // src_v6 is set: IPv6 outer headers can be built

struct lb_config {
	__u8 if_mac[6]; // source MAC of encapsulated frames
	__u8 gw_mac[6]; // next hop towards the backends
	__be32 src_v4;  // outer source; with a non-zero hostmask the network part of a CIDR
	__be32 src_v4_hostmask;
	__be32 src_v6[4];
	__be32 src_v6_hostmask; // applies to the last 32 bits of src_v6
	__u32 flags;            // LB_CFG_*
};

// lb_meta[0]: the load-time constants, recorded by the loader so a restarted daemon that adopts
// pinned maps knows them (.rodata is not pinned). The program never reads it.
struct lb_meta {
	__u32 layout_version;
	__u32 hash_seed;
	__u32 maglev_size; // the default table size of services that do not choose one
	__u32 mtu;
	__u32 flags;
};

// Value of every per-CPU counter slot.
struct lb_counter {
	__u64 packets;
	__u64 bytes;
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

// Per-CPU LRU lists (BPF_F_NO_COMMON_LRU): no cross-CPU lock on insert; RSS keeps a flow on one
// CPU anyway.
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct flow_key);
	__type(value, struct flow_value);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lb_config);
} lb_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lb_meta);
} lb_meta SEC(".maps");

// Global counters, indexed by enum lb_stat (counters.h).
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct lb_counter);
} stats SEC(".maps");

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
