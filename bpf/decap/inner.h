// SPDX-License-Identifier: GPL-2.0
// What the inner packet of an accepted tunnel may be. The load balancer only ever tunnels a
// client's packet to a VIP that lives on this host, so anything else is an attempt to use the
// backend as a relay and is dropped before the outer header goes:
//  * an inner packet that is itself a tunnel (IPIP, IPv6-in-IP, GRE, EtherIP, MPLS-in-IP), or an
//    IPv6 one whose protocol hides behind an extension header (the LB never sends those);
//  * an inner destination the host would not deliver locally: non-unicast and loopback
//    destinations outright, and any destination the routing table would forward (asked with
//    bpf_fib_lookup, so VIPs added to lo later are local at once, with no map to refresh). With
//    forwarding off on the receiving interface the kernel never forwards, the helper cannot tell
//    (it answers "forwarding disabled" before looking), and the stack's own routing drops
//    non-local destinations.
//    cfg_allow_forwarded_inner (`xlb decap attach --allow-forwarded-inner`) skips the routing
//    question, for hosts that must forward the inner packet by design: Kubernetes nodes with
//    externalTrafficPolicy: Local, where kube-proxy (iptables/nftables mode) DNATs the Service's
//    ingress IP to a pod instead of holding it as a local address. The outright drops above and
//    the nested-tunnel and outer-source checks stay.
#ifndef XLB_DECAP_INNER_H
#define XLB_DECAP_INNER_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "lib/parse.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

// Load-time constant (set by lb/decap before load): 1 = an inner destination the host would
// forward is accepted (only the never-local-unicast drops apply to it).
const volatile __u8 cfg_allow_forwarded_inner = 0;

#define IPPROTO_ETHERIP_ 97
#define IPPROTO_MPLS_IN_IP 137

static __always_inline bool proto_is_tunnel(__u8 proto)
{
	switch (proto) {
	case IPPROTO_IPIP:
	case IPPROTO_IPV6:
	case IPPROTO_GRE:
	case IPPROTO_ETHERIP_:
	case IPPROTO_MPLS_IN_IP:
		return true;
	}
	return false;
}

static __always_inline bool inner_ipv4_is_tunnel(const struct iphdr *inner)
{
	return proto_is_tunnel(inner->protocol);
}

static __always_inline bool inner_ipv6_is_tunnel(const struct ipv6hdr *inner)
{
	__u8 nh = inner->nexthdr;

	return proto_is_tunnel(nh) || nh == IPPROTO_FRAGMENT || ipv6_is_ext_header(nh);
}

// 0.0.0.0/8, 127.0.0.0/8, 224.0.0.0/4 (multicast) and 240.0.0.0/4 (incl. broadcast).
static __always_inline bool ipv4_never_local_unicast(__be32 addr)
{
	__u8 first = bpf_ntohl(addr) >> 24;

	return first == 0 || first == 127 || first >= 224;
}

// ::, ::1, ff00::/8 (multicast), fe80::/10 (link-local), ::ffff:0:0/96 (IPv4-mapped).
static __always_inline bool ipv6_never_local_unicast(const struct in6_addr *a)
{
	__u32 w0 = bpf_ntohl(a->in6_u.u6_addr32[0]);
	__u32 w2 = bpf_ntohl(a->in6_u.u6_addr32[2]);
	__u32 w3 = bpf_ntohl(a->in6_u.u6_addr32[3]);

	if ((w0 >> 24) == 0xff || (w0 & 0xffc00000) == 0xfe800000)
		return true;
	if (w0 == 0 && a->in6_u.u6_addr32[1] == 0 && (w2 == 0 || w2 == 0xffff))
		return w2 == 0xffff || w3 <= 1;
	return false;
}

// Would the host forward a packet to this destination instead of delivering it?
static __always_inline bool fib_would_forward(struct __sk_buff *skb, struct bpf_fib_lookup *params)
{
	long rc = bpf_fib_lookup(skb, params, sizeof(*params), 0);

	// NOT_FWDED: a local (or broadcast) route, or no route at all; FWD_DISABLED: the interface
	// does not forward. Every other answer means a route out of the host (or a blackhole,
	// unreachable or prohibit route, which the stack would drop anyway).
	return rc != BPF_FIB_LKUP_RET_NOT_FWDED && rc != BPF_FIB_LKUP_RET_FWD_DISABLED;
}

// May the inner packet go to this destination: a unicast one the host delivers locally (or, with
// cfg_allow_forwarded_inner, any unicast one)?
static __always_inline bool inner_ipv4_dst_accepted(struct __sk_buff *skb, const struct iphdr *inner)
{
	struct bpf_fib_lookup params = {};

	if (ipv4_never_local_unicast(inner->daddr))
		return false;
	if (cfg_allow_forwarded_inner)
		return true;
	params.family = AF_INET;
	params.ifindex = skb->ifindex;
	params.l4_protocol = inner->protocol;
	params.tos = inner->tos;
	params.ipv4_src = inner->saddr;
	params.ipv4_dst = inner->daddr;
	return !fib_would_forward(skb, &params);
}

static __always_inline bool inner_ipv6_dst_accepted(struct __sk_buff *skb, const struct ipv6hdr *inner)
{
	struct bpf_fib_lookup params = {};

	if (ipv6_never_local_unicast(&inner->daddr))
		return false;
	if (cfg_allow_forwarded_inner)
		return true;
	params.family = AF_INET6;
	params.ifindex = skb->ifindex;
	params.l4_protocol = inner->nexthdr;
	__builtin_memcpy(params.ipv6_src, &inner->saddr, 16);
	__builtin_memcpy(params.ipv6_dst, &inner->daddr, 16);
	return !fib_would_forward(skb, &params);
}

#endif
