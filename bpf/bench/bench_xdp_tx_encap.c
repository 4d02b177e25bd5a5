// SPDX-License-Identifier: GPL-2.0
// Benchmark floor for encapsulating forwarders: what the kernel charges for an IPIP XDP_TX without
// any load-balancing work — grow the frame by a 20-byte IPv4 header (bpf_xdp_adjust_head), write
// Ethernet (MACs swapped) and a constant outer header, send it back out. The forwarding-rate
// benchmark runs it beside the XDP_TX + MAC swap floor: the gap between the two is the price of the
// larger frame and the head adjustment alone (veth, sink, helper), which no encapsulating load
// balancer avoids; xlb's own work is the gap between this floor and xlb.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("xdp")
int bench_xdp_tx_encap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 dst[ETH_ALEN], src[ETH_ALEN];
	__u32 *w;

	if (data + ETH_HLEN > data_end)
		return XDP_DROP;
	__builtin_memcpy(dst, data + ETH_ALEN, ETH_ALEN);
	__builtin_memcpy(src, data, ETH_ALEN);
	if (bpf_xdp_adjust_head(ctx, -20))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + ETH_HLEN + 20 > data_end)
		return XDP_DROP;
	__builtin_memcpy(data, dst, ETH_ALEN);
	__builtin_memcpy(data + ETH_ALEN, src, ETH_ALEN);
	*(__be16 *)(data + 12) = bpf_htons(ETH_P_IP);
	w = data + ETH_HLEN;
	// 10.255.0.1 → 10.3.0.2, IPIP, TTL 64, DF; the checksum is not computed (the sink only counts).
	w[0] = 0x45 | (bpf_htons(80 - ETH_HLEN) << 16);
	w[1] = bpf_htons(0x4000) << 16;
	w[2] = 64 | (IPPROTO_IPIP << 8);
	w[3] = bpf_htonl(0x0aff0001);
	w[4] = bpf_htonl(0x0a030002);
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
