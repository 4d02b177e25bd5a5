// SPDX-License-Identifier: GPL-2.0
// Header checks for the backend decap program: everything a tunnel packet must satisfy before its
// outer header is thrown away. Returning false means "malformed": the caller drops and counts it.
// The IP header rules themselves are the shared ones (lib/parse.h, lib/csum.h).
#ifndef XLB_DECAP_TUNNEL_H
#define XLB_DECAP_TUNNEL_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "lib/csum.h"
#include "lib/parse.h"
#include "structs.h"

// Make the first len bytes directly readable. veth and most drivers hand us linear headers already,
// so the helper (which may reallocate) only runs for paged skbs.
static __always_inline int decap_pull(struct __sk_buff *skb, __u32 len)
{
	if ((long)skb->data + len <= (long)skb->data_end)
		return 0;
	if (len > skb->len)
		return -1;
	return bpf_skb_pull_data(skb, len);
}

// The outer IPv4 checksum is checked by nobody else once the header is gone. A header with a
// correct checksum sums (with the checksum field) to 0xffff, i.e. folds to 0.
static __always_inline bool ipv4_header_csum_ok(const struct iphdr *iph, const void *data_end)
{
	const __u16 *word = (const __u16 *)iph;
	__u32 nwords = iph->ihl * 2;
	__u32 sum = 0;

#pragma unroll
	for (__u32 i = 0; i < 30; i++) {
		if (i < nwords) {
			if ((const void *)(word + i + 1) > data_end)
				return false;
			sum += word[i];
		}
	}
	return csum_fold32(sum) == 0;
}

// inner points at the first byte after the outer header; avail is what the outer header says
// follows it. The inner header must be complete and claim no more bytes than the tunnel carried.
static __always_inline bool inner_ipv4_ok(const struct iphdr *inner, __u32 avail, const void *data_end)
{
	if ((const void *)(inner + 1) > data_end)
		return false;
	return ipv4_check(inner, avail) != L3_MALFORMED;
}

static __always_inline bool inner_ipv6_ok(const struct ipv6hdr *inner, __u32 avail, const void *data_end)
{
	if ((const void *)(inner + 1) > data_end)
		return false;
	return ipv6_check(inner, avail) != L3_MALFORMED;
}

static __always_inline void decap_key_from_ipv4(struct decap_addr_key *key, __be32 addr)
{
	__builtin_memset(key, 0, sizeof(*key));
	key->addr[10] = 0xff;
	key->addr[11] = 0xff;
	__builtin_memcpy(&key->addr[12], &addr, sizeof(addr));
}

static __always_inline void decap_key_from_ipv6(struct decap_addr_key *key, const struct in6_addr *addr)
{
	__builtin_memcpy(key->addr, addr, sizeof(key->addr));
}

#endif
