// SPDX-License-Identifier: GPL-2.0
// The seeded flow hash: MurmurHash3 x86_32 over little-endian 32-bit words. It is the same
// function lb/maglev uses for backend keys (lb/maglev/hash.ts murmur3_32), so userspace can
// reproduce any placement exactly: murmur3_32(bytes of struct flow_key, seed) for normal services,
// murmur3_32(16 address bytes of the client, seed) for client-persistence services.
// Generic: callers pass words, no map or config dependency.
#ifndef XLB_HASH_H
#define XLB_HASH_H

#include <stdbool.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

static __always_inline __u32 rotl32(__u32 x, __u32 r)
{
	return (x << r) | (x >> (32 - r));
}

static __always_inline __u32 murmur3_mix(__u32 h, __u32 k)
{
	k *= 0xcc9e2d51;
	k = rotl32(k, 15);
	k *= 0x1b873593;
	h ^= k;
	h = rotl32(h, 13);
	return h * 5 + 0xe6546b64;
}

static __always_inline __u32 murmur3_finish(__u32 h, __u32 len)
{
	h ^= len;
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

// MurmurHash3 of `n_words` 32-bit words (n_words a compile-time constant, so the loop unrolls).
// `words` must be 4-byte aligned (stack accesses are strictly aligned in BPF).
static __always_inline __u32 murmur3_words(const __u32 *words, const int n_words, __u32 seed)
{
	__u32 h = seed;

#pragma unroll
	for (int i = 0; i < n_words; i++)
		h = murmur3_mix(h, words[i]);
	return murmur3_finish(h, n_words * 4);
}

#endif
