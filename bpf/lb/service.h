// SPDX-License-Identifier: GPL-2.0
// Step 2: is the destination a VIP, and which service owns the packet? A service is
// (VIP, port, protocol); a port-0 entry takes every port of the VIP ("all-ports" service). The
// exact port wins over the all-ports entry.
//
// Cost: traffic for the host itself (not a VIP) is told apart by one bit of the VIP filter (in
// lb_config, which every packet reads anyway), without a
// hash lookup; a clean TCP/UDP packet to a VIP finds its exact service with one hash lookup and
// needs no other proof that its destination is a VIP. Only packets that must be judged (a filter
// collision, headers we cannot balance, an all-ports service, no service) consult `vips`.
#ifndef XLB_SERVICE_H
#define XLB_SERVICE_H

#include "maps.h"

// The VIP filter (lb_config.vip_filter) at the bit of an address folded to `a`: its four words
// XORed (IPv4: the first word; the rest are zero), then multiplicative hashing to 14 bits.
// lb/datapath computes the same bits. False only if no VIP folds to that bit.
static __always_inline bool vip_filter_test(const struct lb_config *cfg, __u32 a)
{
	__u32 bit = (a * 0x9e3779b1U) >> (32 - 14);

	return (cfg->vip_filter[(bit / 64) % VIP_FILTER_WORDS] >> (bit % 64)) & 1;
}

// False only if the destination is certainly not a VIP.
static __always_inline bool vip_filter_match(const struct lb_config *cfg, const struct flow_key *flow)
{
	__u32 a = flow->dst[0];

	if (flow->family != LB_FAMILY_V4)
		a ^= flow->dst[1] ^ flow->dst[2] ^ flow->dst[3];
	return vip_filter_test(cfg, a);
}

static __always_inline bool vip_exists(const struct flow_key *flow)
{
	struct vip_key key = {};

	__builtin_memcpy(key.addr, flow->dst, sizeof(key.addr));
	key.family = flow->family;
	return bpf_map_lookup_elem(&vips, &key) != NULL;
}

_Static_assert(__builtin_offsetof(struct flow_key, dst) + sizeof(struct service_key) ==
		       __builtin_offsetof(struct flow_key, sport) &&
		       __builtin_offsetof(struct flow_key, dport) - __builtin_offsetof(struct flow_key, dst) ==
		       __builtin_offsetof(struct service_key, port) &&
		       __builtin_offsetof(struct flow_key, family) - __builtin_offsetof(struct flow_key, dst) ==
		       __builtin_offsetof(struct service_key, family),
	       "flow_key from dst on is a service_key");

// The exact service of the flow (VIP, dport, proto): the flow key itself, from dst on, is the key.
static __always_inline struct service_value *service_exact(const struct flow_key *flow)
{
	return bpf_map_lookup_elem(&services, &flow->dst);
}

// Service for the destination of `flow` (VIP, dport, proto), or NULL. `*port` = the port of the
// entry that matched (dport, or 0 for an all-ports service).
static __always_inline struct service_value *service_lookup(const struct flow_key *flow,
							    __be16 *port)
{
	struct service_value *svc = service_exact(flow);
	struct service_key key;

	*port = flow->dport;
	if (svc)
		return svc;
	__builtin_memcpy(&key, &flow->dst, sizeof(key));
	key.port = 0;
	*port = 0;
	return bpf_map_lookup_elem(&services, &key);
}

#endif
