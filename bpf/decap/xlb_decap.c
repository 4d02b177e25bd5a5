// SPDX-License-Identifier: GPL-2.0
// Backend decapsulation at tc ingress. The LB forwards client packets to a backend wrapped in an
// outer IP header (IPIP, IP6IP6, 4in6, 6in4) addressed to the backend; this kernel has no ipip/ip6tnl
// devices, so this program removes the outer header and lets the stack deliver the inner packet to
// the VIP configured on lo. Replies then leave directly towards the client (DSR).
//
// Only packets whose outer destination is in decap_addrs (this host's addresses, filled by
// lb/decap at attach time) and whose outer source is in decap_sources (the load balancers) are
// decapsulated, and only when the inner packet is a plain packet for this host (inner.h). Tunnel
// packets for anyone else, from anyone else, relaying attempts and malformed ones are dropped and
// counted; everything that is not IP-in-IP passes untouched.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "structs.h"
#include "maps.h"
#include "tunnel.h"
#include "inner.h"
#include "strip.h"

static __always_inline int decap_verdict(__u32 stat, __u32 pkt_len, int verdict)
{
	decap_count(stat, pkt_len);
	return verdict;
}

// The inner header is complete (checked by the caller): may this packet be delivered here?
// DECAP_STAT_MAX = yes, else the drop reason.
static __always_inline __u32 inner_ipv4_reason(struct __sk_buff *skb, const struct iphdr *inner)
{
	if (inner_ipv4_is_tunnel(inner))
		return DECAP_STAT_INNER_TUNNEL;
	if (!inner_ipv4_dst_accepted(skb, inner))
		return DECAP_STAT_INNER_NOT_LOCAL;
	return DECAP_STAT_MAX;
}

static __always_inline __u32 inner_ipv6_reason(struct __sk_buff *skb, const struct ipv6hdr *inner)
{
	if (inner_ipv6_is_tunnel(inner))
		return DECAP_STAT_INNER_TUNNEL;
	if (!inner_ipv6_dst_accepted(skb, inner))
		return DECAP_STAT_INNER_NOT_LOCAL;
	return DECAP_STAT_MAX;
}

static __always_inline int decap_finish(struct __sk_buff *skb, int strip_ret, __u32 stat, __u32 pkt_len)
{
	if (strip_ret)
		return decap_verdict(DECAP_STAT_FAILED, pkt_len, TC_ACT_SHOT);
	return decap_verdict(stat, pkt_len, TC_ACT_OK);
}

static __always_inline int decap_outer_ipv4(struct __sk_buff *skb, __u32 pkt_len)
{
	struct decap_addr_key key;
	struct ipv6hdr *inner6;
	struct iphdr *outer;
	void *data, *data_end;
	__u32 outer_len, avail, reason;
	__u8 proto;

	if (decap_pull(skb, ETH_HLEN + sizeof(*outer)))
		return TC_ACT_OK;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	outer = data + ETH_HLEN;
	if ((void *)(outer + 1) > data_end)
		return TC_ACT_OK;
	proto = outer->protocol;
	if (outer->version != 4 || (proto != IPPROTO_IPIP && proto != IPPROTO_IPV6))
		return TC_ACT_OK;

	// From here on it is a tunnel packet: anything wrong with it is a drop, not a pass.
	outer_len = outer->ihl * 4;
	if (outer_len < sizeof(*outer) || (outer->frag_off & bpf_htons(IPV4_MF | IPV4_OFFSET_MASK)) ||
	    bpf_ntohs(outer->tot_len) < outer_len || bpf_ntohs(outer->tot_len) > pkt_len - ETH_HLEN)
		return decap_verdict(DECAP_STAT_MALFORMED, pkt_len, TC_ACT_SHOT);
	avail = bpf_ntohs(outer->tot_len) - outer_len;

	decap_key_from_ipv4(&key, outer->daddr);
	if (!decap_addr_is_local(&key))
		return decap_verdict(DECAP_STAT_NOT_LOCAL, pkt_len, TC_ACT_SHOT);
	if (!decap_source_allowed(4, &outer->saddr, 4))
		return decap_verdict(DECAP_STAT_SOURCE_DENIED, pkt_len, TC_ACT_SHOT);

	if (decap_pull(skb, ETH_HLEN + outer_len + sizeof(struct ipv6hdr) < pkt_len
				    ? ETH_HLEN + outer_len + sizeof(struct ipv6hdr)
				    : pkt_len))
		return decap_verdict(DECAP_STAT_MALFORMED, pkt_len, TC_ACT_SHOT);
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	outer = data + ETH_HLEN;
	if ((void *)(outer + 1) > data_end || !ipv4_header_csum_ok(outer, data_end))
		return decap_verdict(DECAP_STAT_MALFORMED, pkt_len, TC_ACT_SHOT);

	if (proto == IPPROTO_IPIP) {
		struct iphdr *inner = data + ETH_HLEN + outer_len;

		if (!inner_ipv4_ok(inner, avail, data_end))
			return decap_verdict(DECAP_STAT_MALFORMED, pkt_len, TC_ACT_SHOT);
		reason = inner_ipv4_reason(skb, inner);
		if (reason != DECAP_STAT_MAX)
			return decap_verdict(reason, pkt_len, TC_ACT_SHOT);
		return decap_finish(skb, decap_strip_same_family(skb, outer_len), DECAP_STAT_IPIP, pkt_len);
	}
	inner6 = data + ETH_HLEN + outer_len;
	if (!inner_ipv6_ok(inner6, avail, data_end))
		return decap_verdict(DECAP_STAT_MALFORMED, pkt_len, TC_ACT_SHOT);
	reason = inner_ipv6_reason(skb, inner6);
	if (reason != DECAP_STAT_MAX)
		return decap_verdict(reason, pkt_len, TC_ACT_SHOT);
	return decap_finish(skb, decap_strip_cross_family(skb, outer_len, ETH_P_IPV6), DECAP_STAT_6IN4,
			    pkt_len);
}

static __always_inline int decap_outer_ipv6(struct __sk_buff *skb, __u32 pkt_len)
{
	const __u32 outer_len = sizeof(struct ipv6hdr);
	struct decap_addr_key key;
	struct ipv6hdr *outer;
	struct iphdr *inner4;
	void *data, *data_end;
	__u32 avail, reason;
	__u8 nexthdr;

	// Outer header and the largest inner base header in one pull; shorter packets are checked below.
	if (decap_pull(skb, ETH_HLEN + outer_len))
		return TC_ACT_OK;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	outer = data + ETH_HLEN;
	if ((void *)(outer + 1) > data_end)
		return TC_ACT_OK;
	// Extension headers before the tunnel are not followed: such packets go to the stack as is.
	nexthdr = outer->nexthdr;
	if (outer->version != 6 || (nexthdr != IPPROTO_IPIP && nexthdr != IPPROTO_IPV6))
		return TC_ACT_OK;

	avail = bpf_ntohs(outer->payload_len);
	if (avail > pkt_len - ETH_HLEN - outer_len)
		return decap_verdict(DECAP_STAT_MALFORMED, pkt_len, TC_ACT_SHOT);

	decap_key_from_ipv6(&key, &outer->daddr);
	if (!decap_addr_is_local(&key))
		return decap_verdict(DECAP_STAT_NOT_LOCAL, pkt_len, TC_ACT_SHOT);
	if (!decap_source_allowed(6, &outer->saddr, 16))
		return decap_verdict(DECAP_STAT_SOURCE_DENIED, pkt_len, TC_ACT_SHOT);

	if (decap_pull(skb, ETH_HLEN + outer_len + sizeof(struct ipv6hdr) < pkt_len
				    ? ETH_HLEN + outer_len + sizeof(struct ipv6hdr)
				    : pkt_len))
		return decap_verdict(DECAP_STAT_MALFORMED, pkt_len, TC_ACT_SHOT);
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;

	if (nexthdr == IPPROTO_IPV6) {
		struct ipv6hdr *inner = data + ETH_HLEN + outer_len;

		if (!inner_ipv6_ok(inner, avail, data_end))
			return decap_verdict(DECAP_STAT_MALFORMED, pkt_len, TC_ACT_SHOT);
		reason = inner_ipv6_reason(skb, inner);
		if (reason != DECAP_STAT_MAX)
			return decap_verdict(reason, pkt_len, TC_ACT_SHOT);
		return decap_finish(skb, decap_strip_same_family(skb, outer_len), DECAP_STAT_IP6IP6,
				    pkt_len);
	}
	inner4 = data + ETH_HLEN + outer_len;
	if (!inner_ipv4_ok(inner4, avail, data_end))
		return decap_verdict(DECAP_STAT_MALFORMED, pkt_len, TC_ACT_SHOT);
	reason = inner_ipv4_reason(skb, inner4);
	if (reason != DECAP_STAT_MAX)
		return decap_verdict(reason, pkt_len, TC_ACT_SHOT);
	return decap_finish(skb, decap_strip_cross_family(skb, outer_len, ETH_P_IP), DECAP_STAT_4IN6,
			    pkt_len);
}

SEC("tc")
int xlb_decap(struct __sk_buff *skb)
{
	__u32 pkt_len = skb->len;
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if (decap_pull(skb, ETH_HLEN))
		return TC_ACT_OK;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return TC_ACT_OK;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		return decap_outer_ipv4(skb, pkt_len);
	if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		return decap_outer_ipv6(skb, pkt_len);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
