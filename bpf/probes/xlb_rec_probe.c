// SPDX-License-Identifier: GPL-2.0
// Kernel probe for the packet recorder (lb/datapath/recorder-probe.ts): the load balancer's own
// helpers are all in 5.15, the recorder's newest are not. If this program loads, the kernel has
// what bpf/lb/recorder.h calls beyond that: bpf_xdp_load_bytes (5.18) and bpf_loop (5.17). A
// load that fails means the LB is loaded with LB_F_NO_RECORDER. It is loaded once, never run.
// Probing by loading, not by version number, also gets distribution kernels with backports right.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

static long probe_step(__u32 index, void *data)
{
	return 1;
}

SEC("xdp")
int xlb_rec_probe(struct xdp_md *ctx)
{
	__u8 first[4];

	bpf_loop(1, probe_step, NULL, 0);
	if (bpf_xdp_load_bytes(ctx, 0, first, sizeof(first)))
		return XDP_PASS;
	return bpf_ktime_get_boot_ns() ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
