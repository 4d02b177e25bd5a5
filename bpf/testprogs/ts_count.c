// SPDX-License-Identifier: GPL-2.0
// libbpf-ts test programs for real attachment: count the frames an XDP hook and a tc ingress hook
// see on a veth, and let everything pass. counters[0] = XDP, counters[1] = tc.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void count(__u32 slot)
{
	__u64 *n = bpf_map_lookup_elem(&counters, &slot);

	if (n)
		__sync_fetch_and_add(n, 1);
}

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	count(0);
	return XDP_PASS;
}

SEC("tc")
int tc_count(struct __sk_buff *skb)
{
	count(1);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
