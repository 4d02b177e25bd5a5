// SPDX-License-Identifier: GPL-2.0
// libbpf-ts test program: load-time constants, a resizable array and a per-CPU run counter.
// Frame layout it expects (>= 16 bytes): [0..8) overwritten with `stamp`, [8..12) a slot index.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

const volatile __u32 verdict = XDP_PASS; // returned when the slot update succeeds
const volatile __u64 stamp = 0;          // written over the first 8 bytes of the frame

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} runs SEC(".maps");

SEC("xdp")
int xdp_basic(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 zero = 0, idx, val;
	__u64 *n = bpf_map_lookup_elem(&runs, &zero);
	__u64 s = stamp;

	if (n)
		*n += 1;
	if (data + 16 > end)
		return XDP_ABORTED;
	__builtin_memcpy(data, &s, sizeof(s));
	__builtin_memcpy(&idx, data + 8, sizeof(idx));
	val = idx + 1;
	// An index past max_entries fails the update: that is how a test observes the map's size.
	if (bpf_map_update_elem(&slots, &idx, &val, BPF_ANY))
		return XDP_DROP;
	return verdict;
}

char LICENSE[] SEC("license") = "GPL";
