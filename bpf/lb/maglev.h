// SPDX-License-Identifier: GPL-2.0
// Step 3b: place a flow with its service's Maglev table: slot = maglev_slot(flow_hash32, M). Consistent
// hashing keeps most flows on their backend when the backend set changes, and every LB node with
// the same seed and backends picks the same slot, so ECMP between LB nodes needs no shared state.
#ifndef XLB_MAGLEV_H
#define XLB_MAGLEV_H

#include "config.h"
#include "hash.h"
#include "maps.h"

// Slot value meaning "no backend" (lb/maglev MAGLEV_NO_BACKEND: every backend draining).
#define MAGLEV_NO_BACKEND 0xffffffffU

_Static_assert(sizeof(struct flow_key) == 40, "flow_key hashes as five 64-bit words");

// The flow hash (hash.h) of a flow-table key or a flow, 64 bits. Over the words that can be
// non-zero: IPv6 all five; IPv4 two — (src[0] << 32 | dst[0]) and the ports/proto/family word.
// `client_only` (client-persistence services): the client's address alone, so all of a client's
// connections land on one backend. The flow table takes its bucket from the top bits; everything
// else uses flow_hash32.
// `family`: k->family, or the constant the caller has proven it to be (the compiler then drops the
// load and the other family's branch).
static __always_inline __u64 flow_hash_as(const struct flow_key *k, bool client_only, __u8 family)
{
	const __u64 *w = (const __u64 *)k;
	__u64 v4[2];

	if (family == LB_FAMILY_V4) {
		v4[0] = (__u64)k->src[0] << 32 | k->dst[0];
		v4[1] = w[4];
		if (client_only)
			v4[0] = k->src[0];
		return client_only ? mul_hash(v4, 1, cfg_hash_seed) : mul_hash(v4, 2, cfg_hash_seed);
	}
	return client_only ? mul_hash(w, 2, cfg_hash_seed) : mul_hash(w, 5, cfg_hash_seed);
}

static __always_inline __u64 flow_hash(const struct flow_key *k, bool client_only)
{
	return flow_hash_as(k, client_only, k->family);
}

// The 32 bits that place a flow (Maglev slot) and vary its outer source and IPv6 flow label. The
// low bits of a product depend only on the low bits of its factors, and the outer source and flow
// label take low bits: one more xor-shift and multiply gives every bit all of the input.
static __always_inline __u32 flow_hash32(__u64 h)
{
	return ((h ^ (h >> 32)) * FLOW_HASH_K2) >> 32;
}

// The slot of a flow hash in a table of `size` slots: floor(hash × size / 2^32). Multiply-shift
// instead of hash % size: no run-time divide, and as uniform for a uniform hash. lb/datapath
// flowhash.ts maglevSlot() is the same function (placements must agree bit for bit).
static __always_inline __u32 maglev_slot(__u32 hash, __u32 size)
{
	return ((__u64)hash * size) >> 32;
}

// Backend id in the flow's slot of the service's table, or MAGLEV_NO_BACKEND when the service has
// no table (no active backend). `size` comes with the service entry (service_value.table_size), so
// finding it costs no lookup.
static __always_inline __u32 maglev_lookup(__u32 service_id, __u32 size, __u32 hash)
{
	void *table = bpf_map_lookup_elem(&maglev_outer, &service_id);
	struct maglev_group *group;
	__u32 slot, index;

	if (!table)
		return MAGLEV_NO_BACKEND;
	slot = maglev_slot(hash, size);
	index = slot / MAGLEV_GROUP_SLOTS;
	group = bpf_map_lookup_elem(table, &index);
	if (!group)
		return MAGLEV_NO_BACKEND;
	return group->slot[slot % MAGLEV_GROUP_SLOTS];
}

#endif
