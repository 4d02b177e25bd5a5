// SPDX-License-Identifier: GPL-2.0
// Internet checksums (RFC 1071) for headers the datapath writes. Generic: no map or config
// dependencies, so other XDP/tc programs can include it.
#ifndef XLB_CSUM_H
#define XLB_CSUM_H

#include <linux/types.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>

// Fold a 32-bit one's-complement sum to 16 bits and complement it. Two folds suffice: the first
// leaves at most 0x1fffe, the second at most 0xffff.
static __always_inline __u16 csum_fold32(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

// One's-complement addition of two 32-bit partial sums (end-around carry).
static __always_inline __u32 csum_add32(__u32 a, __u32 b)
{
	__u32 sum = a + b;

	return sum + (sum < a);
}

// Checksum of a 20-byte IPv4 header built on the stack (check field must be 0). Summing the ten
// 16-bit words directly keeps it independent of helpers and exact for any header content.
static __always_inline __u16 ipv4_hdr_csum(const struct iphdr *iph)
{
	const __u16 *w = (const __u16 *)iph;
	__u32 sum = 0;

#pragma unroll
	for (int i = 0; i < (int)(sizeof(*iph) / 2); i++)
		sum += w[i];
	return csum_fold32(sum);
}

// Partial sum of `len` bytes (a multiple of 4, at most 512: bpf_csum_diff's limits) at `p`, added
// to `seed`. `p` may point into the packet; the caller has bounds-checked p + len.
static __always_inline __u32 csum_partial_chunk(void *p, __u32 len, __u32 seed)
{
	return (__u32)bpf_csum_diff(NULL, 0, p, len, seed);
}

#endif
