// SPDX-License-Identifier: GPL-2.0
// Maps of the backend decap program. The TS side pins both next to the program, fills decap_addrs
// at attach time and sums decap_stats across CPUs for `xlb decap status`.
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

#endif
