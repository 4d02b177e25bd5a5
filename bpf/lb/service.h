// SPDX-License-Identifier: GPL-2.0
// Step 2: is the destination a VIP, and which service owns the packet? A service is
// (VIP, port, protocol); a port-0 entry takes every port of the VIP ("all-ports" service). The
// exact port wins over the all-ports entry.
#ifndef XLB_SERVICE_H
#define XLB_SERVICE_H

#include "maps.h"

static __always_inline bool vip_exists(const struct flow_key *flow)
{
	struct vip_key key = {};

	__builtin_memcpy(key.addr, flow->dst, sizeof(key.addr));
	key.family = flow->family;
	return bpf_map_lookup_elem(&vips, &key) != NULL;
}

// Service for the destination of `flow` (VIP, dport, proto), or NULL. `*port` = the port of the
// entry that matched (dport, or 0 for an all-ports service).
static __always_inline struct service_value *service_lookup(const struct flow_key *flow,
							    __be16 *port)
{
	struct service_key key = {};
	struct service_value *svc;

	__builtin_memcpy(key.addr, flow->dst, sizeof(key.addr));
	key.port = flow->dport;
	key.proto = flow->proto;
	key.family = flow->family;
	*port = key.port;
	svc = bpf_map_lookup_elem(&services, &key);
	if (svc)
		return svc;
	key.port = 0;
	*port = 0;
	return bpf_map_lookup_elem(&services, &key);
}

#endif
