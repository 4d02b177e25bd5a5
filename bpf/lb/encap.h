// SPDX-License-Identifier: GPL-2.0
// Step 5: wrap the client's packet, untouched, in an outer IP header addressed to the backend
// (DSR: the backend decapsulates and answers the client directly from the VIP).
//   IPv4 VIP → IPv4 backend: IPIP   (protocol 4)
//   IPv6 VIP → IPv6 backend: IP6IP6 (next header 41)
//   IPv4 VIP → IPv6 backend: 4in6   (next header 4)
//   IPv6 VIP → IPv4 backend: 6in4   (protocol 41)
// Outer header rules: TTL / hop limit 64; the inner DSCP+ECN byte copied to the outer TOS /
// traffic class (RFC 6040 normal mode, so congestion marks survive decapsulation); IPv4 outer DF
// copied from an IPv4 inner packet and always set over IPv6 (IPv6 is never fragmented en route);
// IPv6 flow label = low 20 bits of the flow hash (RFC 6438) so the network and the backend's RSS
// spread tunnelled flows; source = the configured address, or base | (flow hash & host mask) in
// source-CIDR mode, which spreads flows over backend queues that hash only the outer header.
#ifndef XLB_ENCAP_H
#define XLB_ENCAP_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include "lib/csum.h"
#include "l2.h"
#include "maps.h"
#include "packet.h"

#define OUTER_TTL 64

// What encapsulation needs to know about the chosen backend, copied out of the map so a
// concurrent control-plane write cannot change it halfway through.
struct encap_target {
	__be32 addr[4];
	__u32 id;
	__u8 family;
};

static __always_inline __u32 encap_overhead(__u8 outer_family)
{
	return outer_family == LB_FAMILY_V4 ? IPV4_HDR_LEN : IPV6_HDR_LEN;
}

// Can lb_config build an outer header of this family?
static __always_inline bool config_ready(const struct lb_config *cfg, __u8 outer_family)
{
	__u32 need = LB_CFG_MACS | (outer_family == LB_FAMILY_V4 ? LB_CFG_SRC_V4 : LB_CFG_SRC_V6);

	return (cfg->flags & need) == need;
}

// Drop bytes after the IP packet (Ethernet padding of short frames) so the outer length fields
// and the frame agree.
static __always_inline bool trim_padding(struct xdp_md *ctx, const struct lb_pkt *p)
{
	int excess = (int)(pkt_end(ctx) - pkt_data(ctx)) - (int)(p->l3_off + p->l3_len);

	return excess <= 0 || bpf_xdp_adjust_tail(ctx, -excess) == 0;
}

static __always_inline void build_outer_v4(struct iphdr *o, const struct lb_pkt *p,
					   const struct encap_target *t, const struct lb_config *cfg,
					   __u32 hash)
{
	bool inner_v4 = p->flow.family == LB_FAMILY_V4;
	bool df = inner_v4 ? p->df : true;

	o->version = 4;
	o->ihl = 5;
	o->tos = p->tos;
	o->tot_len = bpf_htons(p->l3_len + IPV4_HDR_LEN);
	// With DF the packet is atomic and the ID unused (RFC 6864); without it a router may
	// fragment, and reassembly at the backend needs IDs that differ between packets.
	o->id = df ? 0 : (__be16)bpf_get_prandom_u32();
	o->frag_off = df ? bpf_htons(IPV4_DF) : 0;
	o->ttl = OUTER_TTL;
	o->protocol = inner_v4 ? IPPROTO_IPIP : IPPROTO_IPV6;
	o->saddr = cfg->src_v4 | (bpf_htonl(hash) & cfg->src_v4_hostmask);
	o->daddr = t->addr[0];
	o->check = 0;
	o->check = ipv4_hdr_csum(o);
}

static __always_inline void build_outer_v6(struct ipv6hdr *o, const struct lb_pkt *p,
					   const struct encap_target *t, const struct lb_config *cfg,
					   __u32 hash)
{
	o->version = 6;
	o->priority = p->tos >> 4;
	o->flow_lbl[0] = ((p->tos & 0x0f) << 4) | ((hash >> 16) & 0x0f);
	o->flow_lbl[1] = (hash >> 8) & 0xff;
	o->flow_lbl[2] = hash & 0xff;
	o->payload_len = bpf_htons(p->l3_len);
	o->nexthdr = p->flow.family == LB_FAMILY_V4 ? IPPROTO_IPIP : IPPROTO_IPV6;
	o->hop_limit = OUTER_TTL;
	__builtin_memcpy(&o->saddr, cfg->src_v6, 16);
	o->saddr.in6_u.u6_addr32[3] |= bpf_htonl(hash) & cfg->src_v6_hostmask;
	__builtin_memcpy(&o->daddr, t->addr, 16);
}

// Push the outer header and set MACs for the next hop. Returns the TX reason, or
// STAT_DROP_XDP_ADJUST when the frame could not be resized.
static __always_inline enum lb_stat encapsulate(struct xdp_md *ctx, const struct lb_pkt *p,
						const struct encap_target *t,
						const struct lb_config *cfg, __u32 hash)
{
	bool outer_v4 = t->family == LB_FAMILY_V4;
	int overhead = encap_overhead(t->family);
	__u16 l3_off = p->l3_off;
	struct l2_copy l2;
	void *data, *data_end, *outer;

	if (l3_off > L2_MAX_LEN)
		return STAT_DROP_MALFORMED;
	if (!trim_padding(ctx, p))
		return STAT_DROP_XDP_ADJUST;
	if (!l2_save(pkt_data(ctx), pkt_end(ctx), &l2))
		return STAT_DROP_MALFORMED;
	if (bpf_xdp_adjust_head(ctx, -overhead))
		return STAT_DROP_XDP_ADJUST;

	data = pkt_data(ctx);
	data_end = pkt_end(ctx);
	if (!l2_restore(data, data_end, &l2) ||
	    !l2_set(data, data_end, l3_off, cfg->gw_mac, cfg->if_mac,
		    bpf_htons(outer_v4 ? ETH_P_IP : ETH_P_IPV6)))
		return STAT_DROP_XDP_ADJUST;

	outer = data + l3_off;
	if (outer_v4) {
		struct iphdr o = {};

		if (outer + sizeof(o) > data_end)
			return STAT_DROP_XDP_ADJUST;
		build_outer_v4(&o, p, t, cfg, hash);
		__builtin_memcpy(outer, &o, sizeof(o));
		return p->flow.family == LB_FAMILY_V4 ? STAT_TX_IPIP : STAT_TX_IP6IN4;
	} else {
		struct ipv6hdr o = {};

		if (outer + sizeof(o) > data_end)
			return STAT_DROP_XDP_ADJUST;
		build_outer_v6(&o, p, t, cfg, hash);
		__builtin_memcpy(outer, &o, sizeof(o));
		return p->flow.family == LB_FAMILY_V4 ? STAT_TX_IP4IN6 : STAT_TX_IP6IP6;
	}
}

#endif
