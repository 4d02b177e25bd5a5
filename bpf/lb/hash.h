// SPDX-License-Identifier: GPL-2.0
// The seeded flow hash: multiplicative hashing of a flow key's 64-bit words. Each word (the first
// XOR the seed) times an odd 64-bit constant, the products summed mod 2^64: every input bit reaches
// the top bits of the sum, which is where its users take their bits from — the flow table's bucket
// (the top log2(buckets) bits), the Maglev slot and the outer source / IPv6 flow label (the top 32
// bits: floor(h × M / 2^32) of those again uses their top bits). One multiply per word: the whole
// hash of an IPv4 flow is two. lb/datapath flowhash.ts computes the same value (placements must
// agree bit for bit between userspace, this program and every LB node with the same seed).
// Generic: callers pass words, no map or config dependency.
#ifndef XLB_HASH_H
#define XLB_HASH_H

#include <linux/types.h>

#define FLOW_HASH_K1 0x9e3779b97f4a7c15ULL
#define FLOW_HASH_K2 0xc2b2ae3d27d4eb4fULL

// h(w0 … wn-1) = (w0 ^ seed)·K1 + w1·K2 + w2·K1 + … (constants alternating), mod 2^64.
static __always_inline __u64 mul_hash(const __u64 *w, const int n_words, __u32 seed)
{
	__u64 h = (w[0] ^ seed) * FLOW_HASH_K1;

#pragma unroll
	for (int i = 1; i < n_words; i++)
		h += w[i] * (i % 2 ? FLOW_HASH_K2 : FLOW_HASH_K1);
	return h;
}

#endif
