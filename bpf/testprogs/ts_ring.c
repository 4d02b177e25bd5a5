// SPDX-License-Identifier: GPL-2.0
// libbpf-ts test program: every run emits `events_per_run` ring buffer records (bpf_loop), each
// carrying a global sequence number. Records the ring cannot take are counted in `lost`
// (per-CPU u64 at key 0), the convention RingBufferConsumer's lostCounter expects.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

const volatile __u32 events_per_run = 1000;

struct event {
	__u64 seq;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

__u64 next_seq = 0; // test runs are serialised by the test, so a plain global is enough

static long emit_one(__u32 index, void *unused)
{
	struct event ev = { .seq = next_seq++ };
	__u32 zero = 0;

	if (bpf_ringbuf_output(&events, &ev, sizeof(ev), 0)) {
		__u64 *n = bpf_map_lookup_elem(&lost, &zero);
		if (n)
			*n += 1;
	}
	return 0;
}

SEC("xdp")
int xdp_ring(struct xdp_md *ctx)
{
	bpf_loop(events_per_run, emit_one, NULL, 0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
