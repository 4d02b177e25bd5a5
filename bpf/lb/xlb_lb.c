// SPDX-License-Identifier: GPL-2.0
// xlb XDP load balancer: the entry point. Each step of the packet path lives in its own header:
//   1. packet.h   parse L2 (802.1Q/802.1ad) and L3 into struct lb_pkt
//   2. service.h  is the destination a VIP; which service (exact port, then all-ports)
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

// Steps 2–5 for a packet of `flow`: the client flow itself for data packets, or the flow an ICMP
// error is about (`is_error`), which is forwarded without touching the flow table or the MTU rule
// (an ICMP error is never answered with another one, RFC 1122 3.2.2).
static __always_inline enum lb_stat balance(struct xdp_md *ctx, const struct lb_pkt *p,
					    const struct flow_key *flow, bool is_error)
{
	struct service_value *svc;
	struct selection sel = {};
	struct encap_target target = {};
	struct flow_key key;
	struct lb_config *cfg;
	__u32 svc_id, hash, zero = 0, overhead;
	__be16 svc_port;
	bool client_only;
	enum lb_stat r;

	svc = service_lookup(flow, &svc_port);
	if (!svc)
		return is_error ? STAT_PASS_VIP_ICMP : STAT_PASS_NO_SERVICE;
	svc_id = svc->service_id;
	client_only = svc->flags & SVC_F_HASH_SRC_IP_ONLY;
	count_service(svc_id, p->frame_len);

	flow_table_key(&key, flow, svc_port, client_only);
	hash = flow_hash(flow, client_only);
	// Client-persistence services keep a client's new connections on its backend while present.
	if (!select_backend(&key, svc_id, svc->table_size, hash, !is_error, p->tcp_syn && !client_only, p->frame_len,
			    &sel))
		return STAT_DROP_NO_BACKEND;
	__builtin_memcpy(target.addr, sel.backend->addr, sizeof(target.addr));
	target.family = sel.backend->family;
	target.id = sel.backend_id;

	cfg = bpf_map_lookup_elem(&lb_config, &zero);
	if (!cfg || !config_ready(cfg, target.family))
		return STAT_DROP_NO_CONFIG;

	overhead = encap_overhead(target.family);
	if (!is_error) {
		r = mtu_check(ctx, p, overhead);
		if (r != NEXT_STEP)
			return r;
	} else if (p->l3_len + overhead > cfg_mtu) {
		count_stat(STAT_EVENT_ENCAP_OVER_MTU, p->frame_len);
	}

	r = encapsulate(ctx, p, &target, cfg, hash);
	if (r < STAT_DROP_MALFORMED) {
		count_backend(target.id, p->frame_len);
		if (is_error)
			count_stat(STAT_EVENT_ICMP_FORWARDED, p->frame_len);
	}
	return r;
}

static __always_inline enum lb_stat handle_icmp(struct xdp_md *ctx, const struct lb_pkt *p)
{
	struct flow_key flow;
	enum lb_stat r;

	if (p->flow.family == LB_FAMILY_V4)
		r = icmp4_error_flow(ctx, p, &flow);
	else
		r = icmp6_error_flow(ctx, p, &flow);
	if (r != NEXT_STEP)
		return r;
	return balance(ctx, p, &flow, true);
}

// `recordings`: set to the recordings whose capture rules match the packet (recorder.h).
static __always_inline enum lb_stat process(struct xdp_md *ctx, struct lb_pkt *p, __u64 *recordings)
{
	enum lb_stat r;
	__u8 proto;

	r = lb_parse(ctx, p);
	if (r != NEXT_STEP)
		return r;
	*recordings = recorder_ingress(ctx, p);
	if (!vip_exists(&p->flow))
		return STAT_PASS_NOT_VIP;
	if (p->vlan_tags)
		count_stat(STAT_EVENT_VLAN, p->frame_len);
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
		return handle_icmp(ctx, p);
	return balance(ctx, p, &p->flow, false);
}

SEC("xdp")
int xlb_lb(struct xdp_md *ctx)
{
	struct lb_pkt p = {};
	__u64 recordings = 0;
	int action = verdict(process(ctx, &p, &recordings), p.frame_len);

	recorder_egress(ctx, recordings, action);
	return action;
}

char LICENSE[] SEC("license") = "GPL";
