// SPDX-License-Identifier: GPL-2.0
// Bounds-checked header parsing: Ethernet with up to two VLAN tags, IPv4 / IPv6 header sanity,
// L4 ports. Generic (no maps, no config) so any XDP or tc program can include it. Every read is
// preceded by a check against data_end: the verifier demands it, and a short frame must never be
// read past its end.
#ifndef XLB_PARSE_H
#define XLB_PARSE_H

#include <stdbool.h>
#include <linux/types.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

// 802.1ad outer tag + 802.1Q inner tag is the deepest stacking seen on real links.
#define VLAN_MAX_DEPTH 2
// Largest L2 header we accept: Ethernet + VLAN_MAX_DEPTH tags.
#define L2_MAX_LEN (ETH_HLEN + VLAN_MAX_DEPTH * 4)

#define IPV4_HDR_LEN 20 // without options
#define IPV6_HDR_LEN 40

#define IPV4_DF 0x4000
#define IPV4_MF 0x2000
#define IPV4_OFFSET_MASK 0x1fff

// The UAPI has no VLAN tag struct (if_vlan.h is kernel-internal).
struct vlan_tag {
	__be16 tci;
	__be16 encap_proto;
};

struct l2_info {
	__u16 l3_off;    // bytes from frame start to the L3 header
	__be16 l3_proto; // innermost ethertype (network order)
	__u8 vlan_tags;  // number of VLAN tags skipped
};

// Walk Ethernet and VLAN headers. False if the frame ends inside them; a frame with more tags than
// VLAN_MAX_DEPTH comes back with a VLAN ethertype, which callers treat as "not IP".
static __always_inline bool parse_l2(void *data, void *data_end, struct l2_info *l2)
{
	struct ethhdr *eth = data;
	__u16 off = sizeof(*eth);
	__be16 proto;

	if ((void *)(eth + 1) > data_end)
		return false;
	proto = eth->h_proto;
	l2->vlan_tags = 0;

#pragma unroll
	for (int i = 0; i < VLAN_MAX_DEPTH; i++) {
		struct vlan_tag *tag = data + off;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(tag + 1) > data_end)
			return false;
		proto = tag->encap_proto;
		off += sizeof(*tag);
		l2->vlan_tags++;
	}
	l2->l3_off = off;
	l2->l3_proto = proto;
	return true;
}

// Outcome of checking an L3 header whose fixed part is present. Ordered by precedence: a header
// that is malformed AND a fragment reports MALFORMED.
enum l3_status {
	L3_OK = 0,
	L3_MALFORMED, // version, header length or total length inconsistent with itself or the frame
	L3_FRAGMENT,  // IPv4 MF/offset set, IPv6 fragment header
	L3_OPTIONS,   // IPv4 header longer than 20 bytes
	L3_EXTHDR,    // IPv6 extension header before the transport header
};

// `avail` = bytes from the IPv4 header to the end of the frame (the frame may carry trailing
// Ethernet padding, so tot_len < avail is fine; tot_len > avail means truncated).
static __always_inline enum l3_status ipv4_check(const struct iphdr *iph, __u32 avail)
{
	__u32 hdr_len = iph->ihl * 4;
	__u32 tot_len = bpf_ntohs(iph->tot_len);

	if (iph->version != 4 || hdr_len < sizeof(*iph) || tot_len < hdr_len || tot_len > avail)
		return L3_MALFORMED;
	if (iph->frag_off & bpf_htons(IPV4_MF | IPV4_OFFSET_MASK))
		return L3_FRAGMENT;
	if (hdr_len != sizeof(*iph))
		return L3_OPTIONS;
	return L3_OK;
}

// Next-header values that are IPv6 extension headers (RFC 8200 §4, RFC 7045 list), other than
// the fragment header which ipv6_check reports separately.
static __always_inline bool ipv6_is_ext_header(__u8 nexthdr)
{
	switch (nexthdr) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_DSTOPTS:
	case IPPROTO_AH:
	case 135: // Mobility
	case 139: // HIP
	case 140: // Shim6
	case 253: // experimental
	case 254: // experimental
		return true;
	}
	return false;
}

static __always_inline enum l3_status ipv6_check(const struct ipv6hdr *ip6, __u32 avail)
{
	if (ip6->version != 6 || sizeof(*ip6) + bpf_ntohs(ip6->payload_len) > avail)
		return L3_MALFORMED;
	if (ip6->nexthdr == IPPROTO_FRAGMENT)
		return L3_FRAGMENT;
	if (ipv6_is_ext_header(ip6->nexthdr))
		return L3_EXTHDR;
	return L3_OK;
}

// Minimum transport header length we require before trusting ports / ICMP type; 0 = not a
// protocol we parse.
static __always_inline __u32 l4_min_len(__u8 proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return 20;
	case IPPROTO_UDP:
		return 8;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return 8;
	}
	return 0;
}

// Source and destination port: the first four bytes of both TCP and UDP headers.
struct l4_ports {
	__be16 src;
	__be16 dst;
};

// IPv4 TOS / IPv6 traffic class byte (DSCP + ECN).
static __always_inline __u8 ipv6_traffic_class(const struct ipv6hdr *ip6)
{
	return (ip6->priority << 4) | (ip6->flow_lbl[0] >> 4);
}

#endif
