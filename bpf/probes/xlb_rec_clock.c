// SPDX-License-Identifier: GPL-2.0
// Clock probe for the recorder (recorder/clock.ts): ring records carry bpf_ktime_get_boot_ns()
// (CLOCK_BOOTTIME), which userspace cannot read from Node. One BPF_PROG_TEST_RUN of this program
// writes CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_MONOTONIC (three u64, little-endian) into the
// test packet: boot − monotonic, to within the few nanoseconds between the reads.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct clock_sample {
	__u64 mono_before;
	__u64 boot;
	__u64 mono_after;
};

SEC("xdp")
int xlb_rec_clock(struct xdp_md *ctx)
{
	struct clock_sample *s = (void *)(long)ctx->data;

	if ((void *)(s + 1) > (void *)(long)ctx->data_end)
		return XDP_ABORTED;
	s->mono_before = bpf_ktime_get_ns();
	s->boot = bpf_ktime_get_boot_ns();
	s->mono_after = bpf_ktime_get_ns();
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
