// SPDX-License-Identifier: GPL-2.0
// libbpf-ts test program: reads a value through an array of maps, so a test can swap the inner
// map from user space and see the datapath follow. Writes the value over the frame's first 4 bytes.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct inner_array {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct inner_array);
} outer SEC(".maps");

SEC("xdp")
int xdp_inner(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 zero = 0;
	__u32 *val;
	void *inner;

	if (data + 4 > end)
		return XDP_ABORTED;
	inner = bpf_map_lookup_elem(&outer, &zero);
	if (!inner)
		return XDP_DROP; // no inner map installed yet
	val = bpf_map_lookup_elem(inner, &zero);
	if (!val)
		return XDP_DROP;
	__builtin_memcpy(data, val, sizeof(*val));
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
