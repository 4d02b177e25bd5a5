// SPDX-License-Identifier: GPL-2.0
// Keeping the L2 header (Ethernet + VLAN tags) across bpf_xdp_adjust_head: the helper moves the
// frame start, so the old L2 header must be copied to the new front. Copies are a fixed
// L2_MAX_LEN bytes so the verifier sees constant sizes; bytes past the real L2 header are garbage
// that the caller overwrites with the new L3 header right after restoring.
#ifndef XLB_L2_H
#define XLB_L2_H

#include <stdbool.h>
#include <linux/types.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include "lib/parse.h"

struct l2_copy {
	__u8 bytes[L2_MAX_LEN];
};

// Every frame that reaches a resize has at least an L2 header and a 20-byte IP header, i.e. more
// than L2_MAX_LEN bytes; the check is for the verifier.
static __always_inline bool l2_save(void *data, void *data_end, struct l2_copy *c)
{
	if (data + L2_MAX_LEN > data_end)
		return false;
	__builtin_memcpy(c->bytes, data, L2_MAX_LEN);
	return true;
}

static __always_inline bool l2_restore(void *data, void *data_end, const struct l2_copy *c)
{
	if (data + L2_MAX_LEN > data_end)
		return false;
	__builtin_memcpy(data, c->bytes, L2_MAX_LEN);
	return true;
}

// Set the MACs and the innermost ethertype (just before the L3 header at l3_off).
static __always_inline bool l2_set(void *data, void *data_end, __u16 l3_off, const __u8 *dst,
				   const __u8 *src, __be16 l3_proto)
{
	struct ethhdr *eth = data;
	__u32 proto_off;
	__be16 *proto;

	if (l3_off > L2_MAX_LEN || l3_off < ETH_HLEN)
		return false;
	proto_off = l3_off - sizeof(*proto);
	// Keep the compiler from folding "- 2" into the bounds check below: the verifier only
	// accepts accesses at or after the pointer it checked, not 2 bytes before it.
	asm volatile("" : "+r"(proto_off));
	proto = data + proto_off;
	if ((void *)(eth + 1) > data_end || (void *)(proto + 1) > data_end)
		return false;
	__builtin_memcpy(eth->h_dest, dst, ETH_ALEN);
	__builtin_memcpy(eth->h_source, src, ETH_ALEN);
	*proto = l3_proto;
	return true;
}

#endif
