// SPDX-License-Identifier: GPL-2.0
// Benchmark sink: counts every frame it receives (per CPU, packets and bytes) and drops it. Put on
// the veth that receives the load balancer's XDP_TX'd frames, it is both the receiver the veth needs
// (XDP_TX into a veth is dropped unless the peer runs XDP) and the meter of the forwarding rate.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct sink_counter {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sink_counter);
} sink_stats SEC(".maps");

SEC("xdp")
int bench_xdp_count_drop(struct xdp_md *ctx)
{
	__u32 key = 0;
	struct sink_counter *c = bpf_map_lookup_elem(&sink_stats, &key);

	if (c) {
		c->packets++;
		c->bytes += ctx->data_end - ctx->data;
	}
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
