// SPDX-License-Identifier: GPL-2.0
// xlb XDP load balancer: the entry point. Each step of the packet path lives in its own header:
//   1. packet.h   parse L2 (802.1Q/802.1ad) and L3 into struct lb_pkt
//   2. service.h  is the destination a VIP (vip_filter, services, vips); which service
//      icmp.h     ICMP errors about a service flow are mapped back to that flow
//   3. flow.h     backend from the flow table, else maglev.h places the flow
//   4. icmp.h     too big for the tunnel → ICMP frag-needed / Packet Too Big from the VIP
//   5. encap.h    IPIP / IP6IP6 / 4in6 / 6in4 towards the backend, XDP_TX
// counters.h turns every outcome into a verdict plus one reason counter; maps.h holds every map.
// recorder.h: packets matching a recording's capture rules are copied to a ring buffer as received
// (after step 1) and as sent (after the verdict, for XDP_TX); a no-op while no recording runs.
// Traffic that is not for a VIP is passed untouched; traffic for a VIP that we cannot balance is
// dropped and counted (docs/datapath.md has the full verdict table).
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>

#include "config.h"
#include "maps.h"
#include "counters.h"
#include "packet.h"
#include "service.h"
#include "flow.h"
#include "icmp.h"
#include "encap.h"
#include "recorder.h"

// L3 problems of a VIP packet, as drop reasons.
static __always_inline enum lb_stat l3_status_reason(__u8 status)
{
	switch (status) {
	case L3_OK:
		return NEXT_STEP;
	case L3_FRAGMENT:
		return STAT_DROP_FRAGMENT;
	case L3_OPTIONS:
		return STAT_DROP_IP_OPTIONS;
	case L3_EXTHDR:
		return STAT_DROP_IPV6_EXT_HEADER;
	}
	return STAT_DROP_MALFORMED;
}

// Steps 3–5 for a packet of `flow` owned by `svc`: the client flow itself for data packets, or the
// flow an ICMP error is about (`is_error`), which is forwarded without touching the flow table or
// the MTU rule (an ICMP error is never answered with another one, RFC 1122 3.2.2). `svc_port` is
// the port of the service entry that matched (0: all-ports). `*backend_id` is set when the packet
// went to a backend (the caller counts it there; every other outcome counts for the service).
static __always_inline enum lb_stat balance_to(struct xdp_md *ctx, const struct lb_pkt *p,
					       struct lb_stats *st, const struct lb_config *cfg,
					       const struct flow_key *flow,
					       const struct service_value *svc, __be16 svc_port,
					       bool is_error, __u32 *backend_id)
{
	struct selection sel = {};
	struct flow_key client_key;
	const struct flow_key *key = flow;
	__u32 svc_id = svc->service_id, overhead;
	bool client_only = svc->flags & SVC_F_HASH_SRC_IP_ONLY;
	__u8 family;
	enum lb_stat r;

	if (client_only) {
		flow_table_key(&client_key, flow, svc_port);
		key = &client_key;
	}
	// Client-persistence services keep a client's new connections on its backend while present.
	if (!select_backend(key, flow, client_only, svc_id, svc->table_size, !is_error,
			    p->tcp_syn && !client_only, st, p->frame_len, &sel))
		return STAT_DROP_NO_BACKEND;

	family = sel.backend->family;
	if (!config_ready(cfg, family))
		return STAT_DROP_NO_CONFIG;
	overhead = encap_overhead(family);
	if (!is_error) {
		// Before the flow is recorded: a packet answered with ICMP leaves no state behind.
		r = mtu_check(ctx, p, overhead, st);
		if (r != NEXT_STEP)
			return r;
	} else if (p->l3_len + overhead > cfg_mtu) {
		count_stat(st, STAT_EVENT_ENCAP_OVER_MTU, p->frame_len);
	}
	if (sel.remember)
		flow_remember(key, svc_id, &sel, st, p->frame_len);
	r = encapsulate(ctx, p, sel.backend, sel.hash);
	if (r >= STAT_DROP_MALFORMED)
		return r;
	*backend_id = sel.backend_id;
	if (is_error)
		count_stat(st, STAT_EVENT_ICMP_FORWARDED, p->frame_len);
	// Last, with nothing else left to keep in registers across the call: the entry's clock.
	if (sel.refresh && sel.entry)
		flow_refresh(sel.entry);
	return r;
}

// Global functions (this one, encapsulate()) are checked by the verifier once, on
// their own, rather than once for every way the program can reach each call: without that, the
// verifier walked 30 times more instructions than the program has paths for.
// A global function takes at most five arguments: what balance() needs of the service entry, the
// matched port and whether the packet is an ICMP error travel as one word.
struct balance_args {
	__u64 service_id : 16; // < MAX_SERVICES (65536)
	__u64 table_size : 18;
	__u64 client_only : 1;
	__u64 is_error : 1;    // the packet is an ICMP error about `flow`
	__u64 svc_port : 16;   // the matched service entry's port (network order; 0: all-ports)
};

static __always_inline __u64 balance_args(const struct service_value *svc, __be16 svc_port,
					  bool is_error)
{
	union {
		struct balance_args a;
		__u64 word;
	} u = { .a = {
		.service_id = svc->service_id,
		.table_size = svc->table_size,
		.client_only = !!(svc->flags & SVC_F_HASH_SRC_IP_ONLY),
		.is_error = is_error,
		.svc_port = svc_port,
	} };

	return u.word;
}

// balance_to, and the packet counted for its backend, or else for its service. `args`:
// balance_args().
__noinline int balance(struct xdp_md *ctx, const struct lb_pkt *p, struct lb_stats *st,
		       const struct flow_key *flow, __u64 args)
{
	union {
		struct balance_args a;
		__u64 word;
	} u = { .word = args };
	struct service_value svc = {
		.service_id = u.a.service_id,
		.table_size = u.a.table_size,
		.flags = u.a.client_only ? SVC_F_HASH_SRC_IP_ONLY : 0,
	};
	__u32 backend_id = MAGLEV_NO_BACKEND;
	enum lb_stat r;

	if (!st || !p || !flow)
		return STAT_DROP_MALFORMED; // never: the callers pass their stack and a map value
	r = balance_to(ctx, p, st, &lb_config, flow, &svc, u.a.svc_port, u.a.is_error, &backend_id);

	if (backend_id != MAGLEV_NO_BACKEND)
		count_backend(backend_id, p->frame_len);
	else
		count_service(svc.service_id, p->frame_len);
	return r;
}

// A packet of an established flow — what most packets are: a TCP segment (not a SYN) or UDP
// datagram to an exact service that is not client-persistent, of a flow the table holds, whose
// backend is still there, short enough for the tunnel. The same steps as balance() for that case,
// as one straight path with little state, inlined into the entry point (no call, no spills around
// one). NEXT_STEP (nothing done, nothing counted) when anything else applies: place_flow() then.
// `plain4`: p is an untagged IPv4 frame (lb_fast4_fill), so its family and L2 length are
// constants here rather than loads and compares.
static __always_inline int established(struct xdp_md *ctx, const struct lb_pkt *p, struct lb_stats *st,
				       const struct service_value *svc, const bool plain4)
{
	const struct lb_config *cfg = &lb_config;
	struct flow_bucket *bucket;
	struct backend_value *be;
	struct flow_entry *e;
	__u8 client = plain4 ? LB_FAMILY_V4 : p->flow.family;
	__u32 id, tag;
	enum lb_stat r;
	__u64 hash;
	__u8 family;

	if (!p || !st || !svc)
		return NEXT_STEP;
	if (cfg_flags & LB_F_NO_FLOW_TABLE)
		return NEXT_STEP;
	hash = flow_hash_as(&p->flow, false, client);
	e = flow_locate_as(&p->flow, client, hash, &bucket, &tag);
	if (!e)
		return NEXT_STEP;
	id = e->backend_id;
	be = backend_get(id, svc->service_id);
	if (!be)
		return NEXT_STEP;
	family = be->family;
	// An IPv4 backend first, with constants (the compiler then folds this test into encap_fast's).
	if (family == LB_FAMILY_V4) {
		if (!config_ready(cfg, LB_FAMILY_V4) || p->l3_len + IPV4_HDR_LEN > cfg_mtu)
			return NEXT_STEP;
	} else if (!config_ready(cfg, family) || p->l3_len + encap_overhead(family) > cfg_mtu) {
		return NEXT_STEP;
	}
	r = encap_fast(ctx, p, be, cfg, hash, family, plain4);
	if (r >= STAT_DROP_MALFORMED) {
		count_service(svc->service_id, p->frame_len);
		return r;
	}
	count_stat(st, STAT_FLOW_HIT, p->frame_len);
	count_backend(id, p->frame_len);
	flow_refresh(e);
	return r;
}

// A new connection (a SYN) or a flow the table does not hold, of the same kind of service as
// established(): a flow the table holds stays on its backend (a SYN as flow_syn_keeps says), any
// other is placed by Maglev and recorded. The same steps, counters and outcomes as balance() for
// that case, inlined with little state (balance() is general: client persistence, ICMP errors, the
// MTU reply). NEXT_STEP (nothing done, nothing counted) when anything else
// applies: balance() then decides.
static __always_inline int place_flow(struct xdp_md *ctx, const struct lb_pkt *p,
				      struct lb_stats *st, const struct service_value *svc)
{
	const struct lb_config *cfg = &lb_config;
	__u32 id, tag, svc_id = svc->service_id;
	struct backend_value *be = NULL;
	struct flow_bucket *bucket;
	enum lb_stat miss = NEXT_STEP; // the flow-table event of a packet Maglev places
	struct flow_entry *e;
	enum lb_stat r;
	__u64 hash;
	__u8 family;

	if (cfg_flags & LB_F_NO_FLOW_TABLE)
		return NEXT_STEP;
	hash = flow_hash(&p->flow, false);
	e = flow_locate(&p->flow, hash, &bucket, &tag);
	if (!bucket)
		return NEXT_STEP;
	if (e) {
		id = e->backend_id;
		be = backend_get(id, svc_id);
		if (!be)
			miss = STAT_FLOW_RESELECT;
		else if (p->tcp_syn && !flow_syn_keeps(e, be))
			miss = STAT_FLOW_MISS;
	} else {
		miss = STAT_FLOW_MISS;
	}
	if (miss) {
		id = maglev_lookup(svc_id, svc->table_size, flow_hash32(hash));
		if (id == MAGLEV_NO_BACKEND)
			return NEXT_STEP;
		be = backend_get(id, svc_id);
		if (!be)
			return NEXT_STEP;
	}
	family = be->family;
	if (!config_ready(cfg, family) || p->l3_len + encap_overhead(family) > cfg_mtu)
		return NEXT_STEP;
	if (miss) {
		count_stat(st, miss, p->frame_len);
		flow_store(bucket, e, &p->flow, tag, svc_id, id, st, p->frame_len);
	}
	r = encap_fast(ctx, p, be, cfg, hash, family, false);
	if (r >= STAT_DROP_MALFORMED) {
		count_service(svc_id, p->frame_len);
		return r;
	}
	if (!miss) {
		count_stat(st, STAT_FLOW_HIT, p->frame_len);
		if (p->tcp_syn)
			count_stat(st, STAT_FLOW_SYN_KEPT, p->frame_len);
		flow_refresh(e);
	}
	count_backend(id, p->frame_len);
	return r;
}

static __always_inline enum lb_stat handle_icmp(struct xdp_md *ctx, const struct lb_pkt *p,
						struct lb_stats *st, const struct lb_config *cfg)
{
	struct service_value *svc;
	struct flow_key flow;
	__be16 svc_port;
	enum lb_stat r;

	if (p->flow.family == LB_FAMILY_V4)
		r = icmp4_error_flow(ctx, p, &flow);
	else
		r = icmp6_error_flow(ctx, p, &flow);
	if (r != NEXT_STEP)
		return r;
	svc = service_lookup(&flow, &svc_port);
	if (!svc)
		return STAT_PASS_VIP_ICMP;
	return balance(ctx, p, st, &flow, balance_args(svc, svc_port, true));
}

// A packet to a VIP that the fast path did not settle: headers to judge, ICMP, an all-ports
// service, or no service.
static __always_inline enum lb_stat judge(struct xdp_md *ctx, struct lb_pkt *p, struct lb_stats *st,
					  const struct lb_config *cfg)
{
	struct service_value *svc;
	__be16 svc_port;
	enum lb_stat r;
	__u8 proto;

	if (p->vlan_tags)
		count_stat(st, STAT_EVENT_VLAN, p->frame_len);
	r = l3_status_reason(p->l3_status);
	if (r != NEXT_STEP)
		return r;
	proto = p->flow.proto;
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP &&
	    proto != (p->flow.family == LB_FAMILY_V4 ? IPPROTO_ICMP : IPPROTO_ICMPV6))
		return STAT_DROP_UNSUPPORTED_PROTOCOL;
	r = lb_parse_l4(ctx, p);
	if (r != NEXT_STEP)
		return r;
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return handle_icmp(ctx, p, st, cfg);
	svc = service_lookup(&p->flow, &svc_port);
	if (!svc)
		return STAT_PASS_NO_SERVICE;
	return balance(ctx, p, st, &p->flow, balance_args(svc, svc_port, false));
}

// `recordings`: set to the recordings whose capture rules match the packet (recorder.h).
static __always_inline enum lb_stat process(struct xdp_md *ctx, struct lb_pkt *p, struct lb_stats *st,
					    __u64 *recordings)
{
	const struct lb_config *cfg = &lb_config;
	struct service_value *svc = NULL;
	enum lb_stat r;
	bool idle = recorder_idle();
	struct fast4 v;

	// Fast path: a clean TCP/UDP packet for an exact (VIP, port, protocol) service. Finding the
	// service proves the destination is a VIP; nothing else needs judging. Client-persistent
	// services key the table otherwise (balance()); a SYN goes to place_flow().
	// While no recording runs the hooks do nothing, and the common frame takes the one-pass parse
	// and an established() that knows its family and L2 length.
	// (r is set on each branch rather than initialised: a shared NEXT_STEP made the compiler
	// materialise it on every exit of lb_fast4_read.)
	if (idle && lb_fast4_read(ctx, &v)) {
		if (!vip_filter_test(cfg, v.daddr)) {
			p->frame_len = v.frame_len;
			return STAT_PASS_NOT_VIP;
		}
		lb_fast4_fill(p, &v);
		r = NEXT_STEP;
		svc = service_exact(&p->flow);
		if (svc && !(svc->flags & SVC_F_HASH_SRC_IP_ONLY) && !p->tcp_syn)
			r = established(ctx, p, st, svc, true);
	} else {
		// The general parse reads ctx again: kept from lb_fast4_read, its pointers cost a register
		// copy on every early return there.
		asm volatile("" ::: "memory");
		__builtin_memset(p, 0, sizeof(*p));
		r = lb_parse(ctx, p);
		if (r != NEXT_STEP)
			return r;
		// (Idle: the hook would return 0.)
		if (!idle)
			*recordings = recorder_ingress(ctx, p);
		if (!vip_filter_match(cfg, &p->flow))
			return STAT_PASS_NOT_VIP;
		lb_parse_ports(ctx, p);
		if (p->ports_ok)
			svc = service_exact(&p->flow);
		if (svc) {
			if (p->vlan_tags)
				count_stat(st, STAT_EVENT_VLAN, p->frame_len);
			if (!(svc->flags & SVC_F_HASH_SRC_IP_ONLY) && !p->tcp_syn)
				r = established(ctx, p, st, svc, false);
		}
	}
	if (r != NEXT_STEP)
		return r;
	if (svc) {
		if (!(svc->flags & SVC_F_HASH_SRC_IP_ONLY)) {
			r = place_flow(ctx, p, st, svc);
			if (r != NEXT_STEP)
				return r;
		}
		return balance(ctx, p, st, &p->flow, balance_args(svc, p->flow.dport, false));
	}
	if (!vip_exists(&p->flow))
		return STAT_PASS_NOT_VIP;
	return judge(ctx, p, st, cfg);
}

SEC("xdp")
int xlb_lb(struct xdp_md *ctx)
{
	struct lb_pkt p; // written whole by process() before any read
	__u64 recordings = 0;
	struct lb_stats *st = stats_get();
	int action;

	if (!st)
		return XDP_PASS; // never: stats has its one element from the start
	action = verdict(st, process(ctx, &p, st, &recordings), p.frame_len);
	// (No recording matched, the usual case: one compare instead of the hook's own tests.)
	if (recordings)
		recorder_egress(ctx, recordings, action);
	return action;
}

char LICENSE[] SEC("license") = "GPL";
