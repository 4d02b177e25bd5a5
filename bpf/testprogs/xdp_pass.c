// SPDX-License-Identifier: GPL-2.0
// XDP_PASS everywhere. Lab routers attach it to veths that receive XDP_TX'd frames: a veth drops
// frames redirected into it unless its peer end runs an XDP program. Also the benchmark floor.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
