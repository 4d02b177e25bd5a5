// SPDX-License-Identifier: GPL-2.0
// ICMP in both directions:
//  * Step 4 (MTU, before the flow is recorded): a packet that would exceed the MTU once
//    encapsulated is answered, from the VIP, with ICMP "fragmentation needed" (IPv4 with DF) or
//    ICMPv6 "Packet Too Big" — at most at a configured rate per CPU and never to a source no ICMP
//    error may go to (spoofed packets must not make the LB a reflector) — reporting
//    MTU − encapsulation overhead, so the client's PMTU discovery shrinks its packets and the
//    tunnel never needs fragmenting. The reply quotes the start of the offending packet: 548
//    bytes for IPv4 (whole error = 576 bytes, RFC 1812 4.3.2.3), 1232 for IPv6 (whole error =
//    1280 bytes, RFC 4443 2.4(c)). The loader requires MTU ≥ 1320, so any too-big packet is
//    longer than the quote and the reported IPv6 MTU is never below 1280; fixed quote lengths
//    keep the checksum loop constant-sized for the verifier.
//  * ICMP errors addressed to a VIP (destination unreachable incl. frag-needed, PTB, time
//    exceeded, parameter problem) quote a packet the backend sent VIP → client. Reversing the
//    quoted tuple gives the client's flow, which is forwarded like a data packet of that flow so
//    the backend's PMTU/error handling sees it.
#ifndef XLB_ICMP_H
#define XLB_ICMP_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/icmpv6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include "config.h"
#include "lib/csum.h"
#include "l2.h"
#include "maps.h"
#include "packet.h"

// linux/icmp.h drags in libc's sys/socket.h, which does not build for the BPF target; the IPv4
// ICMP header and the few type codes needed are spelled out here.
#define ICMP_DEST_UNREACH 3
#define ICMP_FRAG_NEEDED 4
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12

struct icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 unused;
	__be16 mtu; // next-hop MTU for frag-needed (RFC 1191), else part of the rest-of-header
};

#define ICMP4_QUOTE_LEN 548  // 576 − 20 (IP) − 8 (ICMP)
#define ICMP6_QUOTE_LEN 1232 // 1280 − 40 (IPv6) − 8 (ICMPv6)
#define IPV6_MIN_MTU 1280
#define ICMP_REPLY_TTL 64

// Turn the frame into an L2 header + `hdr_len` bytes of new headers + the first `quote` bytes of
// the original IP packet, which stay where they are. Returns false if a resize failed.
static __always_inline bool reply_reshape(struct xdp_md *ctx, const struct lb_pkt *p, int hdr_len,
					  __u32 quote)
{
	__u16 l3_off = p->l3_off;
	struct ethhdr *eth;
	struct l2_copy l2;
	__u8 mac[ETH_ALEN];
	int excess;

	if (l3_off > L2_MAX_LEN || !l2_save(pkt_data(ctx), pkt_end(ctx), &l2))
		return false;
	// Reply to where the packet came from: swap the MACs, keep the VLAN tags.
	eth = (struct ethhdr *)l2.bytes;
	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);

	if (bpf_xdp_adjust_head(ctx, -hdr_len))
		return false;
	excess = (int)(pkt_end(ctx) - pkt_data(ctx)) - (int)(l3_off + hdr_len + quote);
	if (excess > 0 && bpf_xdp_adjust_tail(ctx, -excess))
		return false;
	return l2_restore(pkt_data(ctx), pkt_end(ctx), &l2);
}

// reply_reshape, then where the new headers go, checked for the verifier: hdr_len + quote bytes
// from the IP header's offset. NULL if the resize failed.
static __always_inline void *reply_l3(struct xdp_md *ctx, const struct lb_pkt *p, int hdr_len,
				      __u32 quote)
{
	void *l3;

	if (!reply_reshape(ctx, p, hdr_len, quote) || p->l3_off > L2_MAX_LEN)
		return NULL;
	l3 = pkt_data(ctx) + p->l3_off;
	if (l3 + hdr_len + quote > pkt_end(ctx))
		return NULL;
	return l3;
}

static __always_inline enum lb_stat icmp4_send_frag_needed(struct xdp_md *ctx,
							   const struct lb_pkt *p, __u32 mtu)
{
	const int hdr_len = sizeof(struct iphdr) + sizeof(struct icmphdr);
	struct iphdr ip = {};
	struct icmphdr icmp = {};
	void *l3;
	__u32 sum;

	if (p->l3_len < ICMP4_QUOTE_LEN)
		return STAT_DROP_TOO_BIG;
	l3 = reply_l3(ctx, p, hdr_len, ICMP4_QUOTE_LEN);
	if (!l3)
		return STAT_DROP_XDP_ADJUST;

	ip.version = 4;
	ip.ihl = 5;
	ip.tot_len = bpf_htons(hdr_len + ICMP4_QUOTE_LEN);
	ip.ttl = ICMP_REPLY_TTL;
	ip.protocol = IPPROTO_ICMP;
	ip.saddr = p->flow.dst[0]; // from the VIP the client was talking to
	ip.daddr = p->flow.src[0];
	ip.check = ipv4_hdr_csum(&ip);
	__builtin_memcpy(l3, &ip, sizeof(ip));

	icmp.type = ICMP_DEST_UNREACH;
	icmp.code = ICMP_FRAG_NEEDED;
	icmp.mtu = bpf_htons(mtu);
	__builtin_memcpy(l3 + sizeof(ip), &icmp, sizeof(icmp));

	// ICMP checksum over header + quote: 556 bytes = 512 + 44 (bpf_csum_diff takes ≤ 512).
	sum = csum_partial_chunk(l3 + sizeof(ip), 512, 0);
	sum = csum_partial_chunk(l3 + sizeof(ip) + 512, sizeof(icmp) + ICMP4_QUOTE_LEN - 512, sum);
	((struct icmphdr *)(l3 + sizeof(ip)))->checksum = csum_fold32(sum);
	return STAT_TX_ICMP_FRAG_NEEDED;
}

// ICMPv6 pseudo-header (RFC 8200 8.1) for the checksum.
struct ipv6_pseudo_hdr {
	struct in6_addr saddr;
	struct in6_addr daddr;
	__be32 len;
	__u8 zero[3];
	__u8 nexthdr;
};

static __always_inline enum lb_stat icmp6_send_packet_too_big(struct xdp_md *ctx,
							      const struct lb_pkt *p, __u32 mtu)
{
	const int hdr_len = sizeof(struct ipv6hdr) + sizeof(struct icmp6hdr);
	const __u32 icmp_len = sizeof(struct icmp6hdr) + ICMP6_QUOTE_LEN;
	struct ipv6_pseudo_hdr ph = {};
	struct ipv6hdr ip6 = {};
	struct icmp6hdr icmp6 = {};
	void *l3, *msg;
	__u32 sum;

	if (p->l3_len < ICMP6_QUOTE_LEN || mtu < IPV6_MIN_MTU)
		return STAT_DROP_TOO_BIG;
	l3 = reply_l3(ctx, p, hdr_len, ICMP6_QUOTE_LEN);
	if (!l3)
		return STAT_DROP_XDP_ADJUST;

	ip6.version = 6;
	ip6.payload_len = bpf_htons(icmp_len);
	ip6.nexthdr = IPPROTO_ICMPV6;
	ip6.hop_limit = ICMP_REPLY_TTL;
	__builtin_memcpy(&ip6.saddr, p->flow.dst, 16);
	__builtin_memcpy(&ip6.daddr, p->flow.src, 16);
	__builtin_memcpy(l3, &ip6, sizeof(ip6));

	icmp6.icmp6_type = ICMPV6_PKT_TOOBIG;
	icmp6.icmp6_mtu = bpf_htonl(mtu);
	msg = l3 + sizeof(ip6);
	__builtin_memcpy(msg, &icmp6, sizeof(icmp6));

	ph.saddr = ip6.saddr;
	ph.daddr = ip6.daddr;
	ph.len = bpf_htonl(icmp_len);
	ph.nexthdr = IPPROTO_ICMPV6;
	sum = csum_partial_chunk(&ph, sizeof(ph), 0);
	// 1240 bytes = 512 + 512 + 216.
	sum = csum_partial_chunk(msg, 512, sum);
	sum = csum_partial_chunk(msg + 512, 512, sum);
	sum = csum_partial_chunk(msg + 1024, icmp_len - 1024, sum);
	((struct icmp6hdr *)msg)->icmp6_cksum = csum_fold32(sum);
	return STAT_TX_ICMP6_PACKET_TOO_BIG;
}

// Sources no ICMP error may go to (RFC 1812 4.3.2.7, RFC 4443 2.4(e)): a reply there would be
// sent to a group, to nobody, or back into the host — and such sources are what spoofed packets
// carry. IPv4: 0.0.0.0/8 (incl. unspecified), 127.0.0.0/8, 224.0.0.0/4 (multicast), 240.0.0.0/4
// (reserved and 255.255.255.255). IPv6: ::, ::1, ff00::/8 (multicast).
static __always_inline bool icmp_source_ok(const struct flow_key *flow)
{
	const __u8 *a = (const __u8 *)flow->src;

	if (flow->family == LB_FAMILY_V4)
		return a[0] != 0 && a[0] != 127 && a[0] < 224;
	if (a[0] == 0xff)
		return false;
	// :: and ::1: the first 15 bytes zero, the last 0 or 1.
	return flow->src[0] || flow->src[1] || flow->src[2] || (bpf_ntohl(flow->src[3]) > 1);
}

// This CPU's reply budget (a token bucket counted in nanoseconds): true, and one reply's worth taken,
// if a reply may go out now. A spoofed stream of too-big packets gets at most the configured rate
// of replies per CPU; the rest are dropped and counted (STAT_DROP_ICMP_RATE_LIMITED).
static __always_inline bool icmp_budget_take(void)
{
	__u32 zero = 0;
	struct icmp_budget *b = bpf_map_lookup_elem(&icmp_budget, &zero);
	__u64 now = bpf_ktime_get_ns(), credit;

	if (!b)
		return false;
	credit = now - b->last_ns > cfg_icmp_cap_ns ? cfg_icmp_cap_ns : b->credit_ns + (now - b->last_ns);
	if (credit > cfg_icmp_cap_ns)
		credit = cfg_icmp_cap_ns;
	b->last_ns = now;
	if (credit < cfg_icmp_cost_ns) {
		b->credit_ns = credit;
		return false;
	}
	b->credit_ns = credit - cfg_icmp_cost_ns;
	return true;
}

// Would the packet, encapsulated with `overhead` bytes, exceed the MTU? NEXT_STEP if it may be
// sent; otherwise the ICMP reply's TX reason or a drop reason. An IPv4 packet without DF is
// encapsulated anyway with outer DF clear (a router may fragment the outer packet) — except into
// IPv6, which routers never fragment: that one is dropped. Replies go only to sources a reply may
// go to, and within this CPU's budget.
static __always_inline enum lb_stat mtu_check(struct xdp_md *ctx, const struct lb_pkt *p,
					      __u32 overhead, struct lb_stats *st)
{
	__u32 mtu = cfg_mtu;
	bool v6 = p->flow.family == LB_FAMILY_V6;

	if (p->l3_len + overhead <= mtu)
		return NEXT_STEP;
	if (!v6 && !p->df) {
		if (overhead == IPV6_HDR_LEN)
			return STAT_DROP_TOO_BIG;
		count_stat(st, STAT_EVENT_ENCAP_OVER_MTU, p->frame_len);
		return NEXT_STEP;
	}
	if (!icmp_source_ok(&p->flow))
		return STAT_DROP_ICMP_BAD_SOURCE;
	if (!icmp_budget_take())
		return STAT_DROP_ICMP_RATE_LIMITED;
	if (v6)
		return icmp6_send_packet_too_big(ctx, p, mtu - overhead);
	return icmp4_send_frag_needed(ctx, p, mtu - overhead);
}

static __always_inline bool icmp4_is_error(__u8 type)
{
	return type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED || type == ICMP_PARAMETERPROB;
}

static __always_inline bool icmp6_is_error(__u8 type)
{
	return type == ICMPV6_DEST_UNREACH || type == ICMPV6_PKT_TOOBIG ||
	       type == ICMPV6_TIME_EXCEED || type == ICMPV6_PARAMPROB;
}

// The quoted packet went VIP → client; the flow it belongs to is its reverse.
static __always_inline void flow_from_quote(struct flow_key *flow, const struct l4_ports *q,
					    __u8 proto)
{
	flow->sport = q->dst;
	flow->dport = q->src;
	flow->proto = proto;
}

// For an ICMP (IPv4) packet to a VIP: fill `flow` with the client flow an error message is about
// and return NEXT_STEP, or say why not (PASS_VIP_ICMP: not an error about TCP/UDP; MALFORMED:
// the quote is cut short).
static __always_inline enum lb_stat icmp4_error_flow(struct xdp_md *ctx, const struct lb_pkt *p,
						     struct flow_key *flow)
{
	void *data = pkt_data(ctx), *data_end = pkt_end(ctx);
	void *l3_end = data + p->l3_off + p->l3_len;
	struct icmphdr *icmp;
	struct iphdr *q;
	struct l4_ports *ports;
	__u32 q_hdr_len;

	if (p->l4_off > L2_MAX_LEN + IPV4_HDR_LEN)
		return STAT_DROP_MALFORMED;
	icmp = data + p->l4_off;
	if ((void *)(icmp + 1) > data_end || (void *)(icmp + 1) > l3_end)
		return STAT_DROP_MALFORMED;
	if (!icmp4_is_error(icmp->type))
		return STAT_PASS_VIP_ICMP;
	q = (void *)(icmp + 1);
	if ((void *)(q + 1) > data_end || (void *)(q + 1) > l3_end)
		return STAT_DROP_MALFORMED;
	if (q->version != 4 || q->ihl < 5)
		return STAT_DROP_MALFORMED;
	if ((q->protocol != IPPROTO_TCP && q->protocol != IPPROTO_UDP) ||
	    (q->frag_off & bpf_htons(IPV4_OFFSET_MASK)))
		return STAT_PASS_VIP_ICMP;
	q_hdr_len = q->ihl * 4;
	ports = (void *)q + q_hdr_len;
	if ((void *)(ports + 1) > data_end || (void *)(ports + 1) > l3_end)
		return STAT_DROP_MALFORMED;

	__builtin_memset(flow, 0, sizeof(*flow));
	flow->family = LB_FAMILY_V4;
	flow->src[0] = q->daddr;
	flow->dst[0] = q->saddr;
	flow_from_quote(flow, ports, q->protocol);
	return NEXT_STEP;
}

static __always_inline enum lb_stat icmp6_error_flow(struct xdp_md *ctx, const struct lb_pkt *p,
						     struct flow_key *flow)
{
	void *data = pkt_data(ctx), *data_end = pkt_end(ctx);
	void *l3_end = data + p->l3_off + p->l3_len;
	struct icmp6hdr *icmp6;
	struct ipv6hdr *q;
	struct l4_ports *ports;

	if (p->l4_off > L2_MAX_LEN + IPV6_HDR_LEN)
		return STAT_DROP_MALFORMED;
	icmp6 = data + p->l4_off;
	if ((void *)(icmp6 + 1) > data_end || (void *)(icmp6 + 1) > l3_end)
		return STAT_DROP_MALFORMED;
	if (!icmp6_is_error(icmp6->icmp6_type))
		return STAT_PASS_VIP_ICMP;
	q = (void *)(icmp6 + 1);
	if ((void *)(q + 1) > data_end || (void *)(q + 1) > l3_end)
		return STAT_DROP_MALFORMED;
	if (q->version != 6)
		return STAT_DROP_MALFORMED;
	if (q->nexthdr != IPPROTO_TCP && q->nexthdr != IPPROTO_UDP)
		return STAT_PASS_VIP_ICMP;
	ports = (void *)(q + 1);
	if ((void *)(ports + 1) > data_end || (void *)(ports + 1) > l3_end)
		return STAT_DROP_MALFORMED;

	__builtin_memset(flow, 0, sizeof(*flow));
	flow->family = LB_FAMILY_V6;
	__builtin_memcpy(flow->src, &q->daddr, 16);
	__builtin_memcpy(flow->dst, &q->saddr, 16);
	flow_from_quote(flow, ports, q->nexthdr);
	return NEXT_STEP;
}

#endif
