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
//
// Cost: one bpf_xdp_adjust_head, then whole-word stores. The Ethernet header is rewritten in
// place rather than saved and restored: its MACs come from lb_config, the ethertype is the outer
// family's, and only VLAN tags are carried over (moved by the header's growth). Ethernet padding
// after a short IP packet (a pure TCP ACK is padded to 60 bytes) stays behind the inner packet:
// the outer length fields cover the IP packet only, and receivers drop trailing bytes after an IP
// packet as they drop Ethernet padding, so no bpf_xdp_adjust_tail is needed.
#ifndef XLB_ENCAP_H
#define XLB_ENCAP_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include "maglev.h"
#include "maps.h"
#include "packet.h"

#define OUTER_TTL 64

static __always_inline __u32 encap_overhead(__u8 outer_family)
{
	return outer_family == LB_FAMILY_V4 ? IPV4_HDR_LEN : IPV6_HDR_LEN;
}

// Can lb_config build an outer header of this family?
static __always_inline bool config_ready(const struct lb_config *cfg, __u8 outer_family)
{
	return cfg->flags & (1U << (outer_family & 7));
}

// Folds a sum of at most 2^32 16-bit words (or 32-bit words, each counting as its two halves) to
// the 16-bit one's-complement checksum, complemented, in the low 16 bits (the caller takes those).
// Summing words as loaded (little-endian) gives the byte-swapped sum, whose fold stored the same
// way is the checksum in network order (RFC 1071 §2(B)). From a sum below 2^47: the first fold
// leaves less than 2^16 + 2^31, the second at most 0x17fff, and adding that one's carry to it puts
// the end-around sum in the low 16 bits (it cannot carry again below 0x1ffff).
static __always_inline __u32 csum_fold64(__u64 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~(sum + (sum >> 16));
}

// `inner_v4`: the client's packet is IPv4.
static __always_inline void write_outer_v4(__u32 *o, const struct lb_pkt *p,
					   const struct backend_value *t, const struct lb_config *cfg,
					   __u64 hash, bool inner_v4)
{
	// version 4, IHL 5 | TOS | total length
	__u32 w0 = 0x45 | ((__u32)p->tos << 8) | ((__u32)bpf_htons(p->l3_len + IPV4_HDR_LEN) << 16);
	__u32 w1, w2, src = cfg->src_v4, dst = t->addr[0];

	if (inner_v4 && p->df && !cfg->src_v4_hostmask) {
		// The common case: everything but TOS, length and destination is summed in ipip_sum.
		w1 = (__u32)bpf_htons(IPV4_DF) << 16;
		w2 = OUTER_TTL | (IPPROTO_IPIP << 8);
		w2 |= csum_fold64((__u64)cfg->ipip_sum + (w0 & ~0xffU) + dst) << 16;
	} else {
		bool df = inner_v4 ? p->df : true;

		if (cfg->src_v4_hostmask)
			src |= bpf_htonl(flow_hash32(hash)) & cfg->src_v4_hostmask;
		// With DF the packet is atomic and the ID unused (RFC 6864); without it a router may
		// fragment, and reassembly at the backend needs IDs that differ between packets.
		w1 = df ? (__u32)bpf_htons(IPV4_DF) << 16 : bpf_get_prandom_u32() & 0xffff;
		w2 = OUTER_TTL | ((inner_v4 ? IPPROTO_IPIP : IPPROTO_IPV6) << 8);
		w2 |= csum_fold64((__u64)w0 + w1 + w2 + src + dst) << 16;
	}
	o[0] = w0;
	o[1] = w1;
	o[2] = w2;
	o[3] = src;
	o[4] = dst;
}

static __always_inline void write_outer_v6(__u32 *o, const struct lb_pkt *p,
					   const struct backend_value *t, const struct lb_config *cfg,
					   __u64 hash)
{
	__u32 h = flow_hash32(hash);

	// version 6 | traffic class | flow label (low 20 bits of the flow hash)
	o[0] = bpf_htonl((6U << 28) | ((__u32)p->tos << 20) | (h & 0xfffff));
	// payload length | next header | hop limit
	o[1] = bpf_htons(p->l3_len) | ((p->flow.family == LB_FAMILY_V4 ? IPPROTO_IPIP : IPPROTO_IPV6) << 16) |
	       (OUTER_TTL << 24);
	o[2] = cfg->src_v6[0];
	o[3] = cfg->src_v6[1];
	o[4] = cfg->src_v6[2];
	o[5] = cfg->src_v6[3] | (bpf_htonl(h) & cfg->src_v6_hostmask);
	o[6] = t->addr[0];
	o[7] = t->addr[1];
	o[8] = t->addr[2];
	o[9] = t->addr[3];
}

// Encapsulation for an L2 header of exactly `l3_off` bytes (14, 18 or 22: a constant in each
// instance, so every offset below is one the verifier can check once). `inner_family`: the client's
// family (p->flow.family, or the constant the caller has proven it to be).
static __always_inline enum lb_stat encap_at(struct xdp_md *ctx, const struct lb_pkt *p,
					     const struct backend_value *t,
					     const struct lb_config *cfg, __u64 hash,
					     const __u32 l3_off, const bool outer_v4,
					     __u8 inner_family)
{
	const __u32 overhead = outer_v4 ? IPV4_HDR_LEN : IPV6_HDR_LEN;
	const __u32 *macs = (const __u32 *)cfg; // gw_mac, if_mac: the frame's first 12 bytes
	void *data, *data_end;
	__u32 *w;

	if (bpf_xdp_adjust_head(ctx, -(int)overhead))
		return STAT_DROP_XDP_ADJUST;
	data = pkt_data(ctx);
	data_end = pkt_end(ctx);
	if (data + l3_off + overhead > data_end)
		return STAT_DROP_XDP_ADJUST;
	w = data;
	// VLAN tags first: they moved `overhead` bytes into what becomes the outer header.
	if (l3_off >= ETH_HLEN + 4)
		w[3] = *(__u32 *)(data + overhead + 12);
	if (l3_off >= ETH_HLEN + 8)
		w[4] = *(__u32 *)(data + overhead + 16);
	w[0] = macs[0];
	w[1] = macs[1];
	w[2] = macs[2];
	*(__be16 *)(data + l3_off - 2) = bpf_htons(outer_v4 ? ETH_P_IP : ETH_P_IPV6);
	if (outer_v4) {
		write_outer_v4(data + l3_off, p, t, cfg, hash, inner_family == LB_FAMILY_V4);
		return inner_family == LB_FAMILY_V4 ? STAT_TX_IPIP : STAT_TX_IP6IN4;
	}
	write_outer_v6(data + l3_off, p, t, cfg, hash);
	return inner_family == LB_FAMILY_V4 ? STAT_TX_IP4IN6 : STAT_TX_IP6IP6;
}

// Push the outer header and set MACs for the next hop. Returns the TX reason, or
// STAT_DROP_XDP_ADJUST when the frame could not be resized. A global function: the verifier checks
// it once, on its own, instead of once for every way the caller can arrive at each call (that
// alone cost 95 % of the program's verification), and the caller's registers stay its own.
__noinline int encapsulate(struct xdp_md *ctx, const struct lb_pkt *p, const struct backend_value *t,
			   __u64 hash)
{
	const struct lb_config *cfg = &lb_config;

	if (!p || !t)
		return STAT_DROP_MALFORMED; // never: the callers pass their own stack and a map value

	// The backend entry is read in place: the control plane rewrites an entry only to remove it
	// or give it another address, and a word of an IPv6 address read mid-rewrite sends that one
	// packet to a wrong address — no worse than a copy taken the same way.
	bool v4 = t->family == LB_FAMILY_V4;
	__u8 inner = p->flow.family;

	// Untagged frames first (one compare), then the tagged ones.
	if (__builtin_expect(p->l3_off == ETH_HLEN, 1))
		return v4 ? encap_at(ctx, p, t, cfg, hash, ETH_HLEN, true, inner)
			  : encap_at(ctx, p, t, cfg, hash, ETH_HLEN, false, inner);
	if (p->l3_off == ETH_HLEN + 4)
		return v4 ? encap_at(ctx, p, t, cfg, hash, ETH_HLEN + 4, true, inner)
			  : encap_at(ctx, p, t, cfg, hash, ETH_HLEN + 4, false, inner);
	if (p->l3_off == ETH_HLEN + 8)
		return v4 ? encap_at(ctx, p, t, cfg, hash, ETH_HLEN + 8, true, inner)
			  : encap_at(ctx, p, t, cfg, hash, ETH_HLEN + 8, false, inner);
	return STAT_DROP_MALFORMED;
}

// The callers on the fast paths: the most common frame, untagged IPv4 to an IPv4 backend, is
// encapsulated inline (its fields are still in the caller's registers), every other through
// encapsulate(). `family`: the backend's. `plain4`: the caller has proven p an untagged IPv4 frame
// (lb_fast4_fill), so neither is read again.
static __always_inline enum lb_stat encap_fast(struct xdp_md *ctx, const struct lb_pkt *p,
					       const struct backend_value *be,
					       const struct lb_config *cfg, __u64 hash, __u8 family,
					       const bool plain4)
{
	if (plain4 && family == LB_FAMILY_V4)
		return encap_at(ctx, p, be, cfg, hash, ETH_HLEN, true, LB_FAMILY_V4);
	if (!plain4 && p->l3_off == ETH_HLEN && family == LB_FAMILY_V4)
		return encap_at(ctx, p, be, cfg, hash, ETH_HLEN, true, p->flow.family);
	return encapsulate(ctx, p, be, hash);
}

#endif
