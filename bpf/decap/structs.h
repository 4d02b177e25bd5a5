// SPDX-License-Identifier: GPL-2.0
// Map layouts of the backend decap program (xlb_decap.c). lb/decap/layout.ts mirrors them byte for
// byte; change both together.
#ifndef XLB_DECAP_STRUCTS_H
#define XLB_DECAP_STRUCTS_H

#include <linux/types.h>
#include <stdbool.h>

// decap_addrs key: one local address. IPv4 is stored IPv4-mapped (::ffff:a.b.c.d) so one hash map
// serves both families and an IPv4 address can never collide with a real IPv6 one.
struct decap_addr_key {
	__u8 addr[16];
};

// decap_addrs value: reserved for per-address options; userspace writes 1.
struct decap_addr_val {
	__u32 flags;
};

// decap_sources key (LPM trie): an outer source prefix the host accepts tunnels from. The LPM data
// is family then address, so IPv4 and IPv6 prefixes never overlap: prefixlen = 8 + CIDR length,
// and "any source" is the two entries { 8, 4 } and { 8, 6 }. IPv4 uses addr[0..3].
struct decap_source_key {
	__u32 prefixlen;
	__u8 family; // 4 or 6
	__u8 addr[16];
	__u8 pad[3];
};

// decap_sources value: reserved; userspace writes 1.
struct decap_source_val {
	__u32 flags;
};

// decap_stats index. Appending is fine; renumbering breaks the TS reader.
enum decap_stat {
	DECAP_STAT_IPIP = 0,         // IPv4 in IPv4 (proto 4)
	DECAP_STAT_IP6IP6 = 1,       // IPv6 in IPv6 (next header 41)
	DECAP_STAT_4IN6 = 2,         // IPv4 in IPv6 (next header 4)
	DECAP_STAT_6IN4 = 3,         // IPv6 in IPv4 (proto 41)
	DECAP_STAT_NOT_LOCAL = 4,    // encapsulated, outer destination not ours: dropped
	DECAP_STAT_MALFORMED = 5,    // bad outer/inner header or outer fragment: dropped
	DECAP_STAT_FAILED = 6,       // a resize helper failed (e.g. no memory): dropped
	DECAP_STAT_SOURCE_DENIED = 7, // outer source not in decap_sources: dropped
	DECAP_STAT_INNER_TUNNEL = 8,  // inner packet is itself a tunnel (or hides behind IPv6 ext. headers): dropped
	DECAP_STAT_INNER_NOT_LOCAL = 9, // inner destination is not this host's (the host would forward it): dropped
	DECAP_STAT_MAX = 10,
};

// decap_stats value (per CPU). bytes = outer packet length as received.
struct decap_counter {
	__u64 packets;
	__u64 bytes;
};

#endif
