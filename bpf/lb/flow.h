// SPDX-License-Identifier: GPL-2.0
// Step 3: choose the backend. An established flow stays on the backend the flow table remembers
// for as long as that backend still belongs to the service — active or draining — so weight
// changes, draining and Maglev churn never break a connection. New flows, and flows whose backend
// is gone, are placed by Maglev and (re)recorded.
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

struct selection {
	struct backend_value *backend;
	struct flow_value *entry; // the flow-table entry that placed the flow (its time to refresh)
	__u32 backend_id;
	__u32 hash;               // the flow hash, if has_hash
	bool has_hash;
	bool remember;            // record the choice in the flow table (flow_remember)
};

// Backend for a packet of service `svc_id` whose flow-table key is `key`. `update`: a data packet,
// whose choice is recorded (flow_remember); ICMP errors only look, so a stray error never creates
// or refreshes state. `new_conn` (a TCP SYN) skips the lookup: the entry of an earlier connection
// on the same 5-tuple (a reused client port) must not send a new connection to a backend that is
// draining or has changed; the choice overwrites it. Counts the flow-table events.
static __always_inline bool select_backend(const struct flow_key *key,
					   const struct flow_key *flow, bool client_only,
					   __u32 svc_id, __u32 table_size, bool update,
					   bool new_conn, struct lb_stats *st, __u32 bytes,
					   struct selection *sel)
{
	bool use_table = !(cfg_flags & LB_F_NO_FLOW_TABLE);
	struct flow_value *fv;
	__u32 id;

	if (use_table && !new_conn) {
		fv = bpf_map_lookup_elem(&flows, key);
		if (fv) {
			struct backend_value *be = backend_get(fv->backend_id, svc_id);

			if (be) {
				sel->backend = be;
				sel->backend_id = fv->backend_id;
				if (update) {
					sel->entry = fv;
					count_stat(st, STAT_FLOW_HIT, bytes);
				}
				return true;
			}
			if (update)
				count_stat(st, STAT_FLOW_RESELECT, bytes);
		} else if (update) {
			count_stat(st, STAT_FLOW_MISS, bytes);
		}
	} else if (use_table && update) {
		count_stat(st, STAT_FLOW_MISS, bytes);
	}

	sel->hash = flow_hash(flow, client_only);
	sel->has_hash = true;
	id = maglev_lookup(svc_id, table_size, sel->hash);
	if (id == MAGLEV_NO_BACKEND)
		return false;
	sel->backend = backend_get(id, svc_id);
	if (!sel->backend)
		return false;
	sel->backend_id = id;
	sel->remember = use_table && update;
	return true;
}

// Records a new or re-placed flow's backend.
static __always_inline void flow_remember(const struct flow_key *key, __u32 svc_id,
					  const struct selection *sel, struct lb_stats *st,
					  __u32 bytes)
{
	struct flow_value nv = {
		.backend_id = sel->backend_id,
		.service_id = svc_id,
		.last_seen_ns = bpf_ktime_get_coarse_ns(),
	};

	if (bpf_map_update_elem(&flows, key, &nv, BPF_ANY) == 0)
		count_stat(st, STAT_FLOW_NEW, bytes);
}

#endif
