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

// The backend entry for `id` if it still serves `service_id`, else NULL.
static __always_inline struct backend_value *backend_get(__u32 id, __u32 service_id)
{
	struct backend_value *be = bpf_map_lookup_elem(&backends, &id);

	if (!be || !be->family || be->service_id != service_id ||
	    !(be->flags & (BE_F_ACTIVE | BE_F_DRAINING)))
		return NULL;
	return be;
}

// The flow-table key: the 5-tuple, or (client, service) for client-persistence services so one
// entry pins all of a client's connections.
// `service_port` is the port of the matched service entry (0 for an all-ports service).
static __always_inline void flow_table_key(struct flow_key *key, const struct flow_key *flow,
					   __be16 service_port, bool client_only)
{
	*key = *flow;
	if (client_only) {
		key->sport = 0;
		key->dport = service_port;
	}
}

struct selection {
	struct backend_value *backend;
	__u32 backend_id;
};

// Backend for a packet of `svc_id`. `update` = record the choice (data packets); ICMP errors only
// look, so a stray error never creates or refreshes state. `new_conn` (a TCP SYN) skips the
// lookup: the entry of an earlier connection on the same 5-tuple (a reused client port) must not
// send a new connection to a backend that is draining or has changed; the choice overwrites it.
// Counts the flow-table events.
static __always_inline bool select_backend(const struct flow_key *key, __u32 svc_id,
					   __u32 table_size, __u32 hash,
					   bool update, bool new_conn, __u32 bytes,
					   struct selection *sel)
{
	bool use_table = !(cfg_flags & LB_F_NO_FLOW_TABLE);
	struct flow_value *fv = NULL;
	struct flow_value nv = {};
	__u64 now = 0;
	__u32 id;

	if (use_table) {
		now = bpf_ktime_get_ns();
		if (!new_conn)
			fv = bpf_map_lookup_elem(&flows, key);
		if (fv) {
			struct backend_value *be = NULL;

			if (fv->service_id == svc_id)
				be = backend_get(fv->backend_id, svc_id);
			if (be) {
				sel->backend = be;
				sel->backend_id = fv->backend_id;
				if (update) {
					fv->last_seen_ns = now;
					count_stat(STAT_FLOW_HIT, bytes);
				}
				return true;
			}
			if (update)
				count_stat(STAT_FLOW_RESELECT, bytes);
		} else if (update) {
			count_stat(STAT_FLOW_MISS, bytes);
		}
	}

	id = maglev_lookup(svc_id, table_size, hash);
	if (id == MAGLEV_NO_BACKEND)
		return false;
	sel->backend = backend_get(id, svc_id);
	if (!sel->backend)
		return false;
	sel->backend_id = id;

	if (use_table && update) {
		nv.backend_id = id;
		nv.service_id = svc_id;
		nv.last_seen_ns = now;
		if (bpf_map_update_elem(&flows, key, &nv, BPF_ANY) == 0)
			count_stat(STAT_FLOW_NEW, bytes);
	}
	return true;
}

#endif
