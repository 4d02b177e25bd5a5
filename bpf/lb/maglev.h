// SPDX-License-Identifier: GPL-2.0
// Step 3b: place a flow with its service's Maglev table: slot = maglev_slot(flow hash, M). Consistent
// hashing keeps most flows on their backend when the backend set changes, and every LB node with
// the same seed and backends picks the same slot, so ECMP between LB nodes needs no shared state.
#ifndef XLB_MAGLEV_H
#define XLB_MAGLEV_H

#include "config.h"
#include "hash.h"
#include "maps.h"

// Slot value meaning "no backend" (lb/maglev MAGLEV_NO_BACKEND: every backend draining).
#define MAGLEV_NO_BACKEND 0xffffffffU

_Static_assert(sizeof(struct flow_key) % 4 == 0, "flow_key hashes as whole words");

// The hash that places the flow. Client-persistence services hash the client address only, so
// all of a client's connections land on one backend.
static __always_inline __u32 flow_hash(const struct flow_key *flow, bool client_only)
{
	if (client_only)
		return murmur3_words(flow->src, 4, cfg_hash_seed);
	return murmur3_words((const __u32 *)flow, sizeof(*flow) / 4, cfg_hash_seed);
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
