// SPDX-License-Identifier: GPL-2.0
// Step 3: choose the backend. An established flow stays on the backend the flow table remembers
// for as long as that backend still belongs to the service — active or draining — so weight
// changes, draining and Maglev churn never break a connection. New flows, and flows whose backend
// is gone, are placed by Maglev and (re)recorded.
//
// The flow table (maps.h `flows`): buckets of FLOW_WAYS entries. A key's flow_hash (maglev.h)
// names its bucket, and the key may sit in any of its ways; the tag (other bits of the same hash)
// rejects a way with one compare before the key is compared. A new flow takes the way of its own stale entry, else the way seen
// longest ago (a free way has never been seen): least-recently-used within the bucket.
#ifndef XLB_FLOW_H
#define XLB_FLOW_H

#include "config.h"
#include "counters.h"
#include "maglev.h"
#include "maps.h"

// The backend entry for `id` if it still serves `service_id`, else NULL. Backend ids are per
// (service, backend) pair, so this also proves that a flow entry belongs to the service.
static __always_inline struct backend_value *backend_get(__u32 id, __u32 service_id)
{
	struct backend_value *be = bpf_map_lookup_elem(&backends, &id);

	if (!be || !be->family || be->service_id != service_id ||
	    !(be->flags & (BE_F_ACTIVE | BE_F_DRAINING)))
		return NULL;
	return be;
}

// The flow-table key: the 5-tuple, or (client, service) for client-persistence services so one
// entry pins all of a client's connections. `service_port` is the port of the matched service
// entry (0 for an all-ports service).
static __always_inline void flow_table_key(struct flow_key *key, const struct flow_key *flow,
					   __be16 service_port)
{
	*key = *flow;
	key->sport = 0;
	key->dport = service_port;
}

static __always_inline void flow_key_copy(struct flow_key *to, const struct flow_key *from)
{
	__u64 *t = (__u64 *)to;
	const __u64 *f = (const __u64 *)from;

	t[0] = f[0];
	t[1] = f[1];
	t[2] = f[2];
	t[3] = f[3];
	t[4] = f[4];
}

// `family`: b->family (or the constant the caller has proven it to be).
static __always_inline bool flow_key_equal(const struct flow_key *a, const struct flow_key *b,
					   __u8 family)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	// The last word holds the family: equal families make the zero words of IPv4 keys equal too.
	if (family == LB_FAMILY_V4)
		return x[4] == y[4] && a->src[0] == b->src[0] && a->dst[0] == b->dst[0];
	return x[4] == y[4] && x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3];
}

struct selection {
	struct backend_value *backend;
	struct flow_bucket *bucket; // the key's bucket (NULL without a flow table)
	struct flow_entry *entry;   // the key's entry in it, if any
	__u32 backend_id;
	__u32 tag;
	__u64 hash;                 // flow_hash of the flow (the client alone for client persistence)
	bool refresh;               // a hit of a data packet: the entry's time to update
	bool remember;              // record the choice in the flow table (flow_remember)
};

// The key's entry in the flow table, or NULL; `*bucket` its bucket, `*tag` its tag. `h`: the
// key's flow_hash; `family`: key->family (or the constant the caller has proven it to be). The
// bucket is the hash's top bits, the tag bits 16–47 (| 1: never 0).
static __always_inline struct flow_entry *flow_locate_as(const struct flow_key *key, __u8 family,
							 __u64 h, struct flow_bucket **bucket,
							 __u32 *tag)
{
	__u32 idx = h >> cfg_flow_shift, t = (__u32)(h >> 16) | 1;
	struct flow_bucket *b = bpf_map_lookup_elem(&flows, &idx);

	*bucket = b;
	*tag = t;
	if (!b)
		return NULL;
#pragma unroll
	for (int i = 0; i < FLOW_WAYS; i++) {
		struct flow_entry *e = &b->way[i];

		if (e->tag == t && flow_key_equal(&e->key, key, family))
			return e;
	}
	return NULL;
}

static __always_inline struct flow_entry *flow_locate(const struct flow_key *key, __u64 h,
						      struct flow_bucket **bucket, __u32 *tag)
{
	return flow_locate_as(key, key->family, h, bucket, tag);
}

static __always_inline void flow_find(const struct flow_key *key, __u64 h, struct selection *sel)
{
	sel->entry = flow_locate(key, h, &sel->bucket, &sel->tag);
}

// Whether a SYN for a 5-tuple whose entry points at `be` keeps that backend: only once the entry
// has been idle may a SYN move it (before that it may be a live connection, and a spoofed SYN of
// its 5-tuple must not move it), except from a draining backend: a drain promises no new
// connection, and clients reuse ports within seconds (NAT, tw_reuse); the price is that a spoofed
// SYN can move a live connection of a draining backend, for the drain's duration.
static __always_inline bool flow_syn_keeps(const struct flow_entry *e, const struct backend_value *be)
{
	return (be->flags & BE_F_ACTIVE) && bpf_ktime_get_coarse_ns() - e->last_seen_ns < cfg_syn_idle_ns;
}

// Backend for a packet of service `svc_id` whose flow-table key is `key`. `update`: a data packet,
// whose choice is recorded (flow_remember); ICMP errors only look, so a stray error never creates
// or refreshes state. `new_conn`: a TCP SYN (see below). Counts the flow-table events.
static __always_inline bool select_backend(const struct flow_key *key,
					   const struct flow_key *flow, bool client_only,
					   __u32 svc_id, __u32 table_size, bool update,
					   bool new_conn, struct lb_stats *st, __u32 bytes,
					   struct selection *sel)
{
	bool use_table = !(cfg_flags & LB_F_NO_FLOW_TABLE);
	// The key's hash; for a normal service the key is the flow, and its hash also places it.
	__u64 h = flow_hash(key, false);

	sel->hash = client_only ? flow_hash(flow, true) : h;
	struct flow_entry *e;
	__u32 id;

	if (use_table) {
		flow_find(key, h, sel);
		e = sel->entry;
		if (e) {
			struct backend_value *be = backend_get(e->backend_id, svc_id);

			// A SYN (new_conn) keeps the entry's backend as flow_syn_keeps says.
			if (be && (!new_conn || flow_syn_keeps(e, be))) {
				sel->backend = be;
				sel->backend_id = e->backend_id;
				if (update) {
					sel->refresh = true;
					count_stat(st, STAT_FLOW_HIT, bytes);
					if (new_conn)
						count_stat(st, STAT_FLOW_SYN_KEPT, bytes);
				}
				return true;
			}
			if (update)
				count_stat(st, be ? STAT_FLOW_MISS : STAT_FLOW_RESELECT, bytes);
		} else if (update) {
			count_stat(st, STAT_FLOW_MISS, bytes);
		}
	}

	id = maglev_lookup(svc_id, table_size, flow_hash32(sel->hash));
	if (id == MAGLEV_NO_BACKEND)
		return false;
	sel->backend = backend_get(id, svc_id);
	if (!sel->backend)
		return false;
	sel->backend_id = id;
	sel->remember = use_table && update;
	return true;
}

// Records a new or re-placed flow's backend in bucket `b`: in its own stale entry `e`, else (e NULL)
// in the way seen longest ago. The tag is cleared first and set last, so a reader on another CPU
// that catches the way half written finds no tag match (compiler barriers keep the store order;
// x86 keeps it).
static __always_inline void flow_store(struct flow_bucket *b, struct flow_entry *e,
				       const struct flow_key *key, __u32 tag, __u32 svc_id,
				       __u32 backend_id, struct lb_stats *st, __u32 bytes)
{
	if (!e) {
		// The oldest clock value and its way, in registers (not a pointer re-read per way).
		__u64 oldest = b->way[0].last_seen_ns;
		__u32 k = 0;

#pragma unroll
		for (int i = 1; i < FLOW_WAYS; i++) {
			__u64 seen = b->way[i].last_seen_ns;

			if (seen < oldest) {
				oldest = seen;
				k = i;
			}
		}
		e = &b->way[k & (FLOW_WAYS - 1)];
	}
	e->tag = 0;
	asm volatile("" ::: "memory");
	flow_key_copy(&e->key, key);
	e->backend_id = backend_id;
	e->service_id = svc_id;
	e->last_seen_ns = bpf_ktime_get_coarse_ns();
	asm volatile("" ::: "memory");
	e->tag = tag;
	count_stat(st, STAT_FLOW_NEW, bytes);
}

static __always_inline void flow_remember(const struct flow_key *key, __u32 svc_id,
					  const struct selection *sel, struct lb_stats *st,
					  __u32 bytes)
{
	if (sel->bucket)
		flow_store(sel->bucket, sel->entry, key, sel->tag, svc_id, sel->backend_id, st, bytes);
}

// A hit's entry was seen now (stored only when the coarse clock moved: most packets write nothing).
static __always_inline void flow_refresh(struct flow_entry *e)
{
	__u64 now = bpf_ktime_get_coarse_ns();

	if (e->last_seen_ns != now)
		e->last_seen_ns = now;
}

#endif
