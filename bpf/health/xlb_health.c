// SPDX-License-Identifier: GPL-2.0
// Health probes through the tunnel, at tc egress of the LB's interface. xlbd probes a backend the
// way clients reach it: a real TCP/HTTP/UDP exchange with VIP:port, which this program wraps in an
// outer IP header addressed to that one backend — the same IPIP / IP6IP6 / 4in6 the XDP program
// uses for client packets. The backend decapsulates, its stack answers from the VIP (DSR), and the
// answer comes straight back to the prober's socket.
//
// A probe socket is recognised by its local port (a range reserved for probes, the load-time
// constants below) and protocol: xlbd writes health_probes[{port, proto, family}] before the
// socket sends anything. Packets on other ports are not looked at beyond their headers, and
// packets of a probe port that are not addressed to the probe's VIP:port pass unchanged.
//
// Locally generated packets usually carry CHECKSUM_PARTIAL (the L4 checksum is finished by the
// device or by the stack's software fallback). The outer header is inserted behind the MAC header
// with bpf_skb_adjust_room, which keeps the inner checksum offsets valid and marks the skb as
// encapsulated, so the checksum is still finished correctly afterwards.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "lib/csum.h"
#include "lib/parse.h"
#include "structs.h"
#include "maps.h"

// Probe source ports, host order (the daemon's health.source_ports).
const volatile __u16 cfg_port_min = 0;
const volatile __u16 cfg_port_max = 0;

#define OUTER_TTL 64

struct probe_packet {
	__u32 inner_len; // inner IP packet, header included
	__u8 tos;        // DSCP + ECN (IPv6: traffic class)
	bool df;
	__u8 family;
};

static __always_inline int health_verdict(__u32 stat, __u32 len, int verdict)
{
	health_count(stat, len);
	return verdict;
}

static __always_inline bool is_probe_port(__be16 sport)
{
	__u16 port = bpf_ntohs(sport);

	return port >= cfg_port_min && port <= cfg_port_max;
}

static __always_inline bool same_addr6(const __be32 *a, const __be32 *b)
{
	return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3])) == 0;
}

static __always_inline int push_outer_v4(struct __sk_buff *skb, const struct probe_packet *p,
					 const struct health_probe_target *t)
{
	struct iphdr o = {};

	if (bpf_skb_adjust_room(skb, sizeof(o), BPF_ADJ_ROOM_MAC, BPF_F_ADJ_ROOM_ENCAP_L3_IPV4))
		return -1;
	o.version = 4;
	o.ihl = 5;
	o.tos = p->tos;
	o.tot_len = bpf_htons(p->inner_len + sizeof(o));
	o.frag_off = p->df ? bpf_htons(IPV4_DF) : 0;
	o.id = p->df ? 0 : (__be16)bpf_get_prandom_u32();
	o.ttl = OUTER_TTL;
	o.protocol = IPPROTO_IPIP; // 6in4 is not offered: an IPv6 VIP has IPv6 backends
	o.saddr = t->outer_src[0];
	o.daddr = t->backend[0];
	o.check = ipv4_hdr_csum(&o);
	return bpf_skb_store_bytes(skb, ETH_HLEN, &o, sizeof(o), 0);
}

static __always_inline int push_outer_v6(struct __sk_buff *skb, const struct probe_packet *p,
					 const struct health_probe_target *t)
{
	struct ipv6hdr o = {};
	__be16 eth_proto = bpf_htons(ETH_P_IPV6);

	if (bpf_skb_adjust_room(skb, sizeof(o), BPF_ADJ_ROOM_MAC, BPF_F_ADJ_ROOM_ENCAP_L3_IPV6))
		return -1;
	o.version = 6;
	o.priority = p->tos >> 4;
	o.flow_lbl[0] = (p->tos & 0x0f) << 4;
	o.payload_len = bpf_htons(p->inner_len);
	o.nexthdr = p->family == HEALTH_FAMILY_V4 ? IPPROTO_IPIP : IPPROTO_IPV6;
	o.hop_limit = OUTER_TTL;
	__builtin_memcpy(&o.saddr, t->outer_src, 16);
	__builtin_memcpy(&o.daddr, t->backend, 16);
	if (bpf_skb_store_bytes(skb, ETH_HLEN, &o, sizeof(o), 0))
		return -1;
	// 4in6: the frame becomes an IPv6 one (adjust_room already switched skb->protocol).
	if (p->family == HEALTH_FAMILY_V4)
		return bpf_skb_store_bytes(skb, offsetof(struct ethhdr, h_proto), &eth_proto,
					   sizeof(eth_proto), 0);
	return 0;
}

static __always_inline int encapsulate(struct __sk_buff *skb, const struct probe_packet *p,
				       const struct health_probe_target *target)
{
	struct health_probe_target t = *target; // the daemon may rewrite the entry concurrently
	__u32 len = skb->len;
	__u32 stat;
	int ret;

	if (t.backend_family == HEALTH_FAMILY_V4) {
		if (p->family != HEALTH_FAMILY_V4)
			return health_verdict(HEALTH_STAT_FAILED, len, TC_ACT_SHOT);
		ret = push_outer_v4(skb, p, &t);
		stat = HEALTH_STAT_IPIP;
	} else {
		ret = push_outer_v6(skb, p, &t);
		stat = p->family == HEALTH_FAMILY_V4 ? HEALTH_STAT_IP4IN6 : HEALTH_STAT_IP6IP6;
	}
	if (ret)
		return health_verdict(HEALTH_STAT_FAILED, len, TC_ACT_SHOT);
	return health_verdict(stat, len, TC_ACT_OK);
}

// The probe entry for a packet from a probe port, if the packet goes to that probe's VIP:port.
// NULL: not a probe packet, or a probe port's packet to somewhere else (counted as a mismatch);
// either way it passes unchanged. Both families share this: only the address compare differs.
static __always_inline struct health_probe_target *probe_target(struct __sk_buff *skb, const __be16 *ports,
								 __u8 proto, __u8 family, const __be32 *daddr)
{
	struct health_probe_key key = { .sport = ports[0], .proto = proto, .family = family };
	struct health_probe_target *t;
	bool to_vip;

	if (!is_probe_port(ports[0]))
		return NULL;
	t = bpf_map_lookup_elem(&health_probes, &key);
	if (!t)
		return NULL;
	to_vip = family == HEALTH_FAMILY_V4 ? t->vip[0] == daddr[0] : same_addr6(t->vip, daddr);
	if (!to_vip || t->vip_port != ports[1]) {
		health_count(HEALTH_STAT_MISMATCH, skb->len);
		return NULL;
	}
	return t;
}

static __always_inline int health_ipv4(struct __sk_buff *skb)
{
	struct {
		struct iphdr ip;
		__be16 ports[2];
	} h;
	struct health_probe_target *t;
	struct probe_packet p = {};

	// Copied out rather than read in place: no pull (which would un-clone every TCP segment the
	// host sends), and headers that are not linear are read all the same.
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &h, sizeof(h)))
		return TC_ACT_OK;
	if (h.ip.ihl != 5 || (h.ip.protocol != IPPROTO_TCP && h.ip.protocol != IPPROTO_UDP) ||
	    (h.ip.frag_off & bpf_htons(IPV4_MF | IPV4_OFFSET_MASK)))
		return TC_ACT_OK;
	t = probe_target(skb, h.ports, h.ip.protocol, HEALTH_FAMILY_V4, &h.ip.daddr);
	if (!t)
		return TC_ACT_OK;
	p.inner_len = bpf_ntohs(h.ip.tot_len);
	p.tos = h.ip.tos;
	p.df = (h.ip.frag_off & bpf_htons(IPV4_DF)) != 0;
	p.family = HEALTH_FAMILY_V4;
	return encapsulate(skb, &p, t);
}

static __always_inline int health_ipv6(struct __sk_buff *skb)
{
	struct {
		struct ipv6hdr ip;
		__be16 ports[2];
	} h;
	struct health_probe_target *t;
	struct probe_packet p = {};

	// Extension headers are not followed: probes never send them.
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &h, sizeof(h)))
		return TC_ACT_OK;
	if (h.ip.nexthdr != IPPROTO_TCP && h.ip.nexthdr != IPPROTO_UDP)
		return TC_ACT_OK;
	t = probe_target(skb, h.ports, h.ip.nexthdr, HEALTH_FAMILY_V6, h.ip.daddr.in6_u.u6_addr32);
	if (!t)
		return TC_ACT_OK;
	p.inner_len = bpf_ntohs(h.ip.payload_len) + sizeof(h.ip);
	p.tos = (h.ip.priority << 4) | (h.ip.flow_lbl[0] >> 4);
	p.family = HEALTH_FAMILY_V6;
	return encapsulate(skb, &p, t);
}

SEC("tc")
int xlb_health(struct __sk_buff *skb)
{
	// skb->protocol is the L3 protocol also on VLAN devices whose tag the stack keeps out of band.
	if (skb->protocol == bpf_htons(ETH_P_IP))
		return health_ipv4(skb);
	if (skb->protocol == bpf_htons(ETH_P_IPV6))
		return health_ipv6(skb);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
