// SPDX-License-Identifier: GPL-2.0
// Maps of the backend decap program. The TS side pins them next to the program, fills decap_addrs
// and decap_sources at attach time and sums decap_stats across CPUs for `xlb decap status`.
#ifndef XLB_DECAP_MAPS_H
#define XLB_DECAP_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "structs.h"

// A backend has a handful of addresses; 64 leaves room for secondary ones without tuning.
#define DECAP_MAX_ADDRS 64

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DECAP_MAX_ADDRS);
	__type(key, struct decap_addr_key);
	__type(value, struct decap_addr_val);
} decap_addrs SEC(".maps");

// Outer sources tunnels are accepted from (the load balancers' encapsulation sources). Empty =
// nothing is accepted: `xlb decap attach` always fills it (--allow-source / --allow-any-source).
#define DECAP_MAX_SOURCES 256

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, DECAP_MAX_SOURCES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct decap_source_key);
	__type(value, struct decap_source_val);
} decap_sources SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DECAP_STAT_MAX);
	__type(key, __u32);
	__type(value, struct decap_counter);
} decap_stats SEC(".maps");

static __always_inline void decap_count(__u32 stat, __u32 bytes)
{
	struct decap_counter *c = bpf_map_lookup_elem(&decap_stats, &stat);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

static __always_inline bool decap_addr_is_local(const struct decap_addr_key *key)
{
	return bpf_map_lookup_elem(&decap_addrs, key) != NULL;
}

static __always_inline bool decap_source_allowed(__u8 family, const void *addr, __u32 addr_len)
{
	struct decap_source_key key = {};

	key.prefixlen = 8 + addr_len * 8;
	key.family = family;
	if (addr_len == 4)
		__builtin_memcpy(key.addr, addr, 4);
	else
		__builtin_memcpy(key.addr, addr, 16);
	return bpf_map_lookup_elem(&decap_sources, &key) != NULL;
}

#endif
