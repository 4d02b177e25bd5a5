// SPDX-License-Identifier: GPL-2.0
// Step 1: turn a frame into the load balancer's view of it (struct lb_pkt): where the headers are,
// the flow 5-tuple as the client sent it, and the inner fields encapsulation copies (TOS, DF).
// Validation that depends on whether the packet is for a VIP happens in the entry file; this
// step only reports what it found.
#ifndef XLB_PACKET_H
#define XLB_PACKET_H

#include <linux/bpf.h>
#include "lib/parse.h"
#include "maps.h"
#include "counters.h"

// "No verdict yet, go on with the next step". 0 is a verdict slot of enum lb_stat, never a reason,
// so steps can return either a reason or NEXT_STEP.
#define NEXT_STEP ((enum lb_stat)0)

#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_ACK 0x10

struct lb_pkt {
	struct flow_key flow; // src = client, dst = VIP, ports of the client's packet
	__u32 frame_len;      // bytes as received, for byte counters
	__u16 l3_off;         // start of the IP header (after Ethernet + VLAN tags)
	__u16 l4_off;         // start of the transport header
	__u16 l3_len;         // IP packet length from its header (frame may carry padding beyond)
	__u8 tos;             // IPv4 TOS / IPv6 traffic class: DSCP + ECN
	__u8 df;              // IPv4 Don't Fragment
	__u8 vlan_tags;
	__u8 l3_status;       // enum l3_status
	__u8 tcp_syn;         // TCP SYN without ACK: the client opens a new connection
};

static __always_inline void *pkt_data(struct xdp_md *ctx)
{
	return (void *)(long)ctx->data;
}

static __always_inline void *pkt_end(struct xdp_md *ctx)
{
	return (void *)(long)ctx->data_end;
}

static __always_inline enum lb_stat parse_ipv4(void *data, void *data_end, struct lb_pkt *p)
{
	struct iphdr *iph = data + p->l3_off;

	if ((void *)(iph + 1) > data_end)
		return STAT_PASS_L3_SHORT;
	p->flow.family = LB_FAMILY_V4;
	p->flow.src[0] = iph->saddr;
	p->flow.dst[0] = iph->daddr;
	p->flow.proto = iph->protocol;
	p->tos = iph->tos;
	p->df = !!(iph->frag_off & bpf_htons(IPV4_DF));
	p->l3_status = ipv4_check(iph, data_end - (void *)iph);
	p->l3_len = bpf_ntohs(iph->tot_len);
	p->l4_off = p->l3_off + iph->ihl * 4;
	return NEXT_STEP;
}

static __always_inline enum lb_stat parse_ipv6(void *data, void *data_end, struct lb_pkt *p)
{
	struct ipv6hdr *ip6 = data + p->l3_off;

	if ((void *)(ip6 + 1) > data_end)
		return STAT_PASS_L3_SHORT;
	p->flow.family = LB_FAMILY_V6;
	__builtin_memcpy(p->flow.src, &ip6->saddr, 16);
	__builtin_memcpy(p->flow.dst, &ip6->daddr, 16);
	p->flow.proto = ip6->nexthdr;
	p->tos = ipv6_traffic_class(ip6);
	p->l3_status = ipv6_check(ip6, data_end - (void *)ip6);
	p->l3_len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	p->l4_off = p->l3_off + sizeof(*ip6);
	return NEXT_STEP;
}

// L2 and L3. Returns a PASS reason when the frame is not IP or too short to tell its destination.
static __always_inline enum lb_stat lb_parse(struct xdp_md *ctx, struct lb_pkt *p)
{
	void *data = pkt_data(ctx), *data_end = pkt_end(ctx);
	struct l2_info l2;

	p->frame_len = data_end - data;
	if (!parse_l2(data, data_end, &l2))
		return STAT_PASS_NOT_IP;
	p->l3_off = l2.l3_off;
	p->vlan_tags = l2.vlan_tags;
	if (l2.l3_proto == bpf_htons(ETH_P_IP))
		return parse_ipv4(data, data_end, p);
	if (l2.l3_proto == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(data, data_end, p);
	return STAT_PASS_NOT_IP;
}

// Transport header of a VIP packet whose L3 header passed its checks: TCP/UDP ports into the flow
// key. ICMP is left to icmp.h. The header must lie inside both the IP packet and the frame.
static __always_inline enum lb_stat lb_parse_l4(struct xdp_md *ctx, struct lb_pkt *p)
{
	void *data = pkt_data(ctx), *data_end = pkt_end(ctx);
	__u32 need = l4_min_len(p->flow.proto);
	struct l4_ports *ports;
	__u16 l4_off = p->l4_off;

	if (!need)
		return STAT_DROP_UNSUPPORTED_PROTOCOL;
	if (l4_off + need > (__u32)p->l3_off + p->l3_len)
		return STAT_DROP_MALFORMED;
	// Options were rejected, so this bound never bites; it gives the verifier a small range.
	if (l4_off > L2_MAX_LEN + IPV6_HDR_LEN)
		return STAT_DROP_MALFORMED;
	ports = data + l4_off;
	if ((void *)(ports + 1) > data_end)
		return STAT_DROP_MALFORMED;
	if (p->flow.proto == IPPROTO_TCP || p->flow.proto == IPPROTO_UDP) {
		p->flow.sport = ports->src;
		p->flow.dport = ports->dst;
	}
	if (p->flow.proto == IPPROTO_TCP) {
		// Byte 13 of the TCP header holds the flags; `need` (20) was checked against the IP
		// length above, the frame bound is checked here.
		__u8 *flags = data + l4_off + 13;

		if ((void *)(flags + 1) > data_end)
			return STAT_DROP_MALFORMED;
		p->tcp_syn = (*flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;
	}
	return NEXT_STEP;
}

#endif
