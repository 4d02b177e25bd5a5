// SPDX-License-Identifier: GPL-2.0
// Per-CPU counters. Each packet increments exactly one reason slot (why it was passed,
// transmitted or dropped; its verdict follows from the reason); event slots (flow table, ICMP,
// VLAN) count things that happen along the way. Per-CPU slots need no atomics; userspace sums them. The global ones
// are one per-CPU value (struct lb_stats) that a packet looks up once.
// lb/datapath/layout.ts mirrors this enum: append only, never renumber.
#ifndef XLB_COUNTERS_H
#define XLB_COUNTERS_H

#include "maps.h"

enum lb_stat {
	// Verdicts: one per packet, computed by userspace from the reasons (never written here).
	STAT_VERDICT_PASS = 0,
	STAT_VERDICT_TX = 1,
	STAT_VERDICT_DROP = 2,

	// Reasons for XDP_PASS.
	STAT_PASS_NOT_IP = 3,     // not IPv4/IPv6 (ARP, LLDP, >2 VLAN tags, L2 header cut short)
	STAT_PASS_L3_SHORT = 4,   // frame ends inside the fixed IP header: destination unknown
	STAT_PASS_NOT_VIP = 5,    // destination is not a VIP
	STAT_PASS_NO_SERVICE = 6, // VIP, but no service for this port/protocol
	STAT_PASS_VIP_ICMP = 7,   // ICMP to a VIP that is not an error about a service flow (echo, NDP…)

	// Reasons for XDP_TX.
	STAT_TX_IPIP = 8,                  // IPv4 in IPv4
	STAT_TX_IP6IP6 = 9,                // IPv6 in IPv6
	STAT_TX_IP4IN6 = 10,               // IPv4 in IPv6
	STAT_TX_IP6IN4 = 11,               // IPv6 in IPv4
	STAT_TX_ICMP_FRAG_NEEDED = 12,     // ICMP type 3 code 4 sent back to the client
	STAT_TX_ICMP6_PACKET_TOO_BIG = 13, // ICMPv6 Packet Too Big sent back to the client

	// Reasons for XDP_DROP.
	STAT_DROP_MALFORMED = 14,            // to a VIP, but headers inconsistent or cut short
	STAT_DROP_FRAGMENT = 15,             // IP fragment to a VIP (no ports to balance on)
	STAT_DROP_IP_OPTIONS = 16,           // IPv4 options to a VIP
	STAT_DROP_IPV6_EXT_HEADER = 17,      // IPv6 extension header to a VIP
	STAT_DROP_UNSUPPORTED_PROTOCOL = 18, // to a VIP, not TCP/UDP/ICMP
	STAT_DROP_NO_BACKEND = 19,           // service has no usable backend for a new flow
	STAT_DROP_TOO_BIG = 20,              // over the MTU and no way to signal it (see icmp.h)
	STAT_DROP_NO_CONFIG = 21,            // lb_config lacks MACs or the outer source for this family
	STAT_DROP_XDP_ADJUST = 22,           // bpf_xdp_adjust_head/tail refused to resize the frame

	// Events: any number per packet.
	STAT_FLOW_HIT = 23,             // flow table entry found and its backend still serves the service
	STAT_FLOW_MISS = 24,            // no entry
	STAT_FLOW_RESELECT = 25,        // entry found but its backend is gone: placed again
	STAT_FLOW_NEW = 26,             // entry written (after a miss or a reselect)
	STAT_EVENT_ICMP_FORWARDED = 27, // ICMP error about a service flow sent to the flow's backend
	STAT_EVENT_ENCAP_OVER_MTU = 28, // sent beyond the MTU: IPv4 without DF, or a forwarded ICMP error
	STAT_EVENT_VLAN = 29,           // VIP packet that carried at least one VLAN tag

	// Appended later (the groups above keep their numbers).
	STAT_DROP_ICMP_RATE_LIMITED = 30, // too big; this CPU's ICMP reply budget is spent (icmp.h)
	STAT_DROP_ICMP_BAD_SOURCE = 31,   // too big; from a source no ICMP reply may go to (icmp.h)
	STAT_FLOW_SYN_KEPT = 32,          // event: a SYN for a live entry kept the entry's backend

	STAT_MAX = 33,
};

_Static_assert(STAT_MAX <= LB_STATS_SLOTS, "struct lb_stats has 64 slots");

// This CPU's global counters (stats[0]). Looked up once per packet; never NULL for a loaded
// program (index 0 of a one-element array), but the verifier wants the check.
static __always_inline struct lb_stats *stats_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&stats, &zero);
}

static __always_inline void counter_inc(struct lb_counter *c, __u32 bytes)
{
	c->packets++;
	c->bytes += bytes;
}

static __always_inline void count_stat(struct lb_stats *s, enum lb_stat stat, __u32 bytes)
{
	counter_inc(&s->c[stat], bytes);
}

static __always_inline void counter_add(void *map, __u32 index, __u32 bytes)
{
	struct lb_counter *c = bpf_map_lookup_elem(map, &index);

	if (c)
		counter_inc(c, bytes);
}

static __always_inline void count_service(__u32 service_id, __u32 bytes)
{
	counter_add(&service_stats, service_id, bytes);
}

static __always_inline void count_backend(__u32 backend_id, __u32 bytes)
{
	counter_add(&backend_stats, backend_id, bytes);
}

// Map a reason to its XDP action and count the reason. Reasons are grouped by action in the enum
// (the reasons appended after the events are drops), so the action follows from the range — and so
// does the verdict count: userspace sums the reasons of each group (lb/datapath readCounters), the
// slots 0–2 stay zero.
static __always_inline int verdict(struct lb_stats *s, enum lb_stat reason, __u32 bytes)
{
	count_stat(s, reason & (LB_STATS_SLOTS - 1), bytes);
	if (reason < STAT_TX_IPIP)
		return XDP_PASS;
	if (reason < STAT_DROP_MALFORMED)
		return XDP_TX;
	return XDP_DROP;
}

#endif
