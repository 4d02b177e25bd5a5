// SPDX-License-Identifier: GPL-2.0
// Step 1: turn a frame into the load balancer's view of it (struct lb_pkt): where the headers are,
// the flow 5-tuple as the client sent it, and the inner fields encapsulation copies (TOS, DF).
// Validation that depends on whether the packet is for a VIP happens in the entry file; this
// step only reports what it found.
//
// Cost: an untagged frame (by far the most common) is parsed with constant offsets; VLAN-tagged
// frames take the general walk over the tags. A plain IPv4 header (version 4, no options) is
// recognised from its first byte, before the general check that names what is wrong with others.
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

// 8-byte aligned: the flow key is hashed and copied as 64-bit words (stack accesses must be aligned).
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
	__u8 ports_ok;        // TCP/UDP with its minimal header in the packet: ports and SYN set
} __attribute__((aligned(8)));

static __always_inline void *pkt_data(struct xdp_md *ctx)
{
	return (void *)(long)ctx->data;
}

static __always_inline void *pkt_end(struct xdp_md *ctx)
{
	return (void *)(long)ctx->data_end;
}

// The ports (and the SYN flag) of a TCP/UDP packet: `l4` is the transport header, `l4_len` what
// the IP header says follows it.
static __always_inline void parse_ports(void *l4, void *data_end, __u32 l4_len, struct lb_pkt *p)
{
	struct l4_ports *ports = l4;

	if (p->flow.proto == IPPROTO_TCP) {
		if (l4_len < 20 || l4 + 20 > data_end)
			return;
		// Byte 13 of the TCP header holds the flags.
		p->tcp_syn = (((__u8 *)l4)[13] & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;
	} else if (p->flow.proto == IPPROTO_UDP) {
		if (l4_len < 8 || l4 + 8 > data_end)
			return;
	} else {
		return;
	}
	p->flow.sport = ports->src;
	p->flow.dport = ports->dst;
	p->ports_ok = 1;
}

static __always_inline enum lb_stat parse_ipv4(void *data, void *data_end, struct lb_pkt *p,
					       __u32 l3_off)
{
	struct iphdr *iph = data + l3_off;
	__u32 tot_len;
	__be16 frag;

	if ((void *)(iph + 1) > data_end)
		return STAT_PASS_L3_SHORT;
	p->flow.family = LB_FAMILY_V4;
	p->flow.src[0] = iph->saddr;
	p->flow.dst[0] = iph->daddr;
	p->flow.proto = iph->protocol;
	p->tos = iph->tos;
	frag = iph->frag_off;
	p->df = !!(frag & bpf_htons(IPV4_DF));
	tot_len = bpf_ntohs(iph->tot_len);
	p->l3_len = tot_len;
	// Version 4 without options, a length that fits the header and the frame, not a fragment.
	if (*(__u8 *)iph == 0x45 && tot_len >= IPV4_HDR_LEN && tot_len <= data_end - (void *)iph &&
	    !(frag & bpf_htons(IPV4_MF | IPV4_OFFSET_MASK))) {
		p->l3_status = L3_OK;
		p->l4_off = l3_off + IPV4_HDR_LEN;
		return NEXT_STEP;
	}
	p->l3_status = ipv4_check(iph, data_end - (void *)iph);
	p->l4_off = l3_off + iph->ihl * 4;
	return NEXT_STEP;
}

static __always_inline enum lb_stat parse_ipv6(void *data, void *data_end, struct lb_pkt *p,
					       __u32 l3_off)
{
	struct ipv6hdr *ip6 = data + l3_off;

	if ((void *)(ip6 + 1) > data_end)
		return STAT_PASS_L3_SHORT;
	p->flow.family = LB_FAMILY_V6;
	__builtin_memcpy(p->flow.src, &ip6->saddr, 16);
	__builtin_memcpy(p->flow.dst, &ip6->daddr, 16);
	p->flow.proto = ip6->nexthdr;
	p->tos = ipv6_traffic_class(ip6);
	p->l3_status = ipv6_check(ip6, data_end - (void *)ip6);
	p->l3_len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	p->l4_off = l3_off + sizeof(*ip6);
	return NEXT_STEP;
}

// L2 and L3. Returns a PASS reason when the frame is not IP or too short to tell its destination.
static __always_inline enum lb_stat lb_parse(struct xdp_md *ctx, struct lb_pkt *p)
{
	void *data = pkt_data(ctx), *data_end = pkt_end(ctx);
	struct ethhdr *eth = data;
	struct l2_info l2;

	p->frame_len = data_end - data;
	if ((void *)(eth + 1) > data_end)
		return STAT_PASS_NOT_IP;
	p->l3_off = ETH_HLEN;
	// struct ethhdr is packed (byte loads); the ethertype as one 16-bit load.
	if (*(__be16 *)(data + 12) == bpf_htons(ETH_P_IP))
		return parse_ipv4(data, data_end, p, ETH_HLEN);
	if (*(__be16 *)(data + 12) == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(data, data_end, p, ETH_HLEN);
	if (!parse_l2(data, data_end, &l2) || !l2.vlan_tags)
		return STAT_PASS_NOT_IP;
	p->l3_off = l2.l3_off;
	p->vlan_tags = l2.vlan_tags;
	if (l2.l3_proto == bpf_htons(ETH_P_IP))
		return parse_ipv4(data, data_end, p, l2.l3_off);
	if (l2.l3_proto == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(data, data_end, p, l2.l3_off);
	return STAT_PASS_NOT_IP;
}

// The transport header's first `need` bytes lie inside the IP packet and the frame? Returns them.
static __always_inline void *l4_header(void *data, void *data_end, const struct lb_pkt *p,
				       const __u32 need)
{
	__u16 l4_off = p->l4_off;
	void *l4;

	if (l4_off + need > (__u32)p->l3_off + p->l3_len)
		return NULL;
	// Options were rejected, so this bound never bites; it gives the verifier a small range.
	if (l4_off > L2_MAX_LEN + IPV6_HDR_LEN)
		return NULL;
	l4 = data + l4_off;
	if (l4 + need > data_end)
		return NULL;
	return l4;
}

// The ports of a TCP/UDP packet with a plain IP header (p->ports_ok). Untagged frames, nearly all of
// them, with constant offsets. Done after the recorder's hook: the paths that split here would
// otherwise each reach the hook (and the verifier would check the recorder once per path).
static __always_inline void lb_parse_ports(struct xdp_md *ctx, struct lb_pkt *p)
{
	void *data = pkt_data(ctx), *data_end = pkt_end(ctx);

	if (p->l3_status != L3_OK)
		return;
	if (p->l3_off == ETH_HLEN && p->flow.family == LB_FAMILY_V4)
		parse_ports(data + ETH_HLEN + IPV4_HDR_LEN, data_end, p->l3_len - IPV4_HDR_LEN, p);
	else if (p->l3_off == ETH_HLEN)
		parse_ports(data + ETH_HLEN + IPV6_HDR_LEN, data_end, p->l3_len - IPV6_HDR_LEN, p);
	else if (p->l4_off <= L2_MAX_LEN + IPV6_HDR_LEN)
		parse_ports(data + p->l4_off, data_end, p->l3_len - (p->l4_off - p->l3_off), p);
}

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "lb_fast4_fill builds words as little-endian");
_Static_assert(__builtin_offsetof(struct lb_pkt, frame_len) == 40 && __builtin_offsetof(struct lb_pkt, l3_off) == 44 &&
		       __builtin_offsetof(struct lb_pkt, l4_off) == 46 && __builtin_offsetof(struct lb_pkt, l3_len) == 48 && __builtin_offsetof(struct lb_pkt, tos) == 50 &&
		       __builtin_offsetof(struct lb_pkt, df) == 51 && __builtin_offsetof(struct lb_pkt, tcp_syn) == 54 &&
		       __builtin_offsetof(struct lb_pkt, vlan_tags) == 52 && __builtin_offsetof(struct lb_pkt, ports_ok) == 55 &&
		       sizeof(struct lb_pkt) == 56,
	       "lb_fast4_fill writes struct lb_pkt as whole words");

// The common frame, in registers: untagged IPv4 without options or fragmentation, TCP (20-byte
// header in the packet) or UDP (8 bytes). lb_fast4_read() checks the frame and reads these;
// lb_fast4_fill() then writes every byte of struct lb_pkt from them — exactly what lb_parse and
// lb_parse_ports would leave in a zeroed lb_pkt — as whole words. Why: the general path zeroes p,
// stores each field, then re-reads and re-checks them (status, L2 length, family, ports_ok); for
// this frame none of that is needed, and a packet that is not for a VIP is told so from `daddr`
// before anything is written.
struct fast4 {
	__u32 saddr, daddr; // network order
	__u32 ports;        // the transport header's first word: sport, dport as loaded
	__u32 frame_len;
	__u16 tot_len;
	__u16 frag;         // frag_off as loaded
	__u8 proto, tos, syn;
};

// False for any other frame (the general path parses it).
static __always_inline bool lb_fast4_read(struct xdp_md *ctx, struct fast4 *v)
{
	void *data = pkt_data(ctx), *data_end = pkt_end(ctx);
	struct iphdr *iph = data + ETH_HLEN;
	__u32 tot_len, proto;

	// The UDP minimum (Ethernet, IPv4, 8 bytes); TCP checks its 20 below.
	if (data + ETH_HLEN + IPV4_HDR_LEN + 8 > data_end)
		return false;
	if (*(__be16 *)(data + 12) != bpf_htons(ETH_P_IP) || *(__u8 *)iph != 0x45)
		return false;
	v->frag = iph->frag_off;
	if (v->frag & bpf_htons(IPV4_MF | IPV4_OFFSET_MASK))
		return false;
	tot_len = bpf_ntohs(iph->tot_len);
	if (tot_len > data_end - (void *)iph)
		return false;
	proto = iph->protocol;
	v->syn = 0;
	if (proto == IPPROTO_TCP) {
		if (tot_len < IPV4_HDR_LEN + 20 || data + ETH_HLEN + IPV4_HDR_LEN + 20 > data_end)
			return false;
		// Byte 13 of the TCP header holds the flags.
		v->syn = (((__u8 *)(iph + 1))[13] & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;
	} else if (proto != IPPROTO_UDP || tot_len < IPV4_HDR_LEN + 8) {
		return false;
	}
	v->saddr = iph->saddr;
	v->daddr = iph->daddr;
	v->ports = *(__u32 *)(iph + 1);
	v->frame_len = data_end - data;
	v->tot_len = tot_len;
	v->proto = proto;
	v->tos = iph->tos;
	return true;
}

static __always_inline void lb_fast4_fill(struct lb_pkt *p, const struct fast4 *v)
{
	__u32 *w32 = (__u32 *)p;
	__u64 *w64 = (__u64 *)p;

	// flow: src, dst (IPv4 in the first word, the rest 0), then dport | proto | family, sport | pad.
	w64[0] = v->saddr;
	w64[1] = 0;
	w64[2] = v->daddr;
	w64[3] = 0;
	w32[8] = v->ports >> 16 | (__u32)v->proto << 16 | LB_FAMILY_V4 << 24;
	w32[9] = v->ports & 0xffff;
	// frame_len; l3_off | l4_off
	w32[10] = v->frame_len;
	w32[11] = ETH_HLEN | (ETH_HLEN + IPV4_HDR_LEN) << 16;
	// l3_len | tos | df; vlan_tags 0, l3_status L3_OK (0), tcp_syn, ports_ok 1
	w32[12] = v->tot_len | (__u32)v->tos << 16 | (__u32)!!(v->frag & bpf_htons(IPV4_DF)) << 24;
	w32[13] = (__u32)v->syn << 16 | 1U << 24;
}

// Transport header of a VIP packet whose L3 header passed its checks: TCP/UDP ports (and the SYN
// flag) into the flow key; for ICMP only that its 8-byte header is there (icmp.h reads it).
static __always_inline enum lb_stat lb_parse_l4(struct xdp_md *ctx, struct lb_pkt *p)
{
	void *data = pkt_data(ctx), *data_end = pkt_end(ctx);
	struct l4_ports *ports;
	__u8 *tcp;

	switch (p->flow.proto) {
	case IPPROTO_TCP:
		tcp = l4_header(data, data_end, p, 20);
		if (!tcp)
			return STAT_DROP_MALFORMED;
		ports = (struct l4_ports *)tcp;
		p->flow.sport = ports->src;
		p->flow.dport = ports->dst;
		// Byte 13 of the TCP header holds the flags.
		p->tcp_syn = (tcp[13] & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;
		return NEXT_STEP;
	case IPPROTO_UDP:
		ports = l4_header(data, data_end, p, 8);
		if (!ports)
			return STAT_DROP_MALFORMED;
		p->flow.sport = ports->src;
		p->flow.dport = ports->dst;
		return NEXT_STEP;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return l4_header(data, data_end, p, 8) ? NEXT_STEP : STAT_DROP_MALFORMED;
	}
	return STAT_DROP_UNSUPPORTED_PROTOCOL;
}

#endif
