// SPDX-License-Identifier: GPL-2.0
// libbpf-ts test program that compiles cleanly but MUST be rejected by the verifier: it reads
// packet byte 20 without first checking it against data_end. The test asserts that load()
// throws with the verifier's complaint attached.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_oob(struct xdp_md *ctx)
{
	__u8 *data = (__u8 *)(long)ctx->data;

	return data[20] == 0x42 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
