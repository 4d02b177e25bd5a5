// SPDX-License-Identifier: GPL-2.0
// Removing the outer IP header of a tunnelled packet at tc ingress, so the stack receives the inner
// packet as if it had arrived plain. All helpers leave Ethernet in front; the caller has validated
// both headers and returns TC_ACT_SHOT when a helper fails (the packet may be half rewritten).
#ifndef XLB_DECAP_STRIP_H
#define XLB_DECAP_STRIP_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/errno.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

// Kernel >= 6.3 can switch skb->protocol while shrinking; the Debian 12 UAPI headers predate it.
#ifndef BPF_F_ADJ_ROOM_DECAP_L3_IPV4
#define BPF_F_ADJ_ROOM_DECAP_L3_IPV4 (1ULL << 7)
#define BPF_F_ADJ_ROOM_DECAP_L3_IPV6 (1ULL << 8)
#endif

// Load-time switch (tests): skip the 6.3+ flags and take the bpf_skb_change_proto() path that
// older kernels need, so that path is exercised on a new kernel too.
const volatile __u8 cfg_legacy_cross_family = 0;

// A GRO'd tunnel packet keeps its segment size: the MSS of the inner flow did not change.
#define DECAP_ADJ_FLAGS BPF_F_ADJ_ROOM_FIXED_GSO

static __always_inline int decap_set_eth_proto(struct __sk_buff *skb, __u16 eth_proto)
{
	__be16 proto = bpf_htons(eth_proto);

	// Only packet sockets (tcpdump) read it after tc, but they should see the truth.
	return bpf_skb_store_bytes(skb, offsetof(struct ethhdr, h_proto), &proto, sizeof(proto), 0);
}

// IPIP and IP6IP6: drop outer_len bytes right after the MAC header; skb->protocol stays.
static __always_inline int decap_strip_same_family(struct __sk_buff *skb, __u32 outer_len)
{
	return bpf_skb_adjust_room(skb, -(__s32)outer_len, BPF_ADJ_ROOM_MAC, DECAP_ADJ_FLAGS);
}

// 4in6 / 6in4: the family changes, so skb->protocol and the Ethernet type must change too.
static __always_inline int decap_strip_cross_family(struct __sk_buff *skb, __u32 outer_len,
						    __u16 inner_eth_proto)
{
	__u64 l3_flag = inner_eth_proto == ETH_P_IP ? BPF_F_ADJ_ROOM_DECAP_L3_IPV4
						    : BPF_F_ADJ_ROOM_DECAP_L3_IPV6;
	int ret = -EINVAL;

	if (!cfg_legacy_cross_family)
		ret = bpf_skb_adjust_room(skb, -(__s32)outer_len, BPF_ADJ_ROOM_MAC,
					  DECAP_ADJ_FLAGS | l3_flag);
	if (ret == -EINVAL) {
		// Pre-6.3 kernels reject the flag before touching the packet. bpf_skb_change_proto()
		// switches skb->protocol and moves the network header by the v4/v6 size difference
		// (20 bytes popped for 6->4, pushed for 4->6); adjust_room then removes the rest,
		// whose minimum-length check now applies to the inner family.
		const __s32 v6_v4_diff = sizeof(struct ipv6hdr) - sizeof(struct iphdr);
		__s32 rest = inner_eth_proto == ETH_P_IP ? (__s32)outer_len - v6_v4_diff
							 : (__s32)outer_len + v6_v4_diff;

		ret = bpf_skb_change_proto(skb, bpf_htons(inner_eth_proto), 0);
		if (ret)
			return ret;
		ret = bpf_skb_adjust_room(skb, -rest, BPF_ADJ_ROOM_MAC, DECAP_ADJ_FLAGS);
	}
	if (ret)
		return ret;
	return decap_set_eth_proto(skb, inner_eth_proto);
}

#endif
