// SPDX-License-Identifier: GPL-2.0
// Map layouts of the health-probe tunnel program (declared once for TypeScript in
// lb/health/layout.ts; a test compares both with this object's BTF).
#ifndef XLB_HEALTH_STRUCTS_H
#define XLB_HEALTH_STRUCTS_H

#include <linux/types.h>

#define HEALTH_FAMILY_V4 4
#define HEALTH_FAMILY_V6 6

// One probe socket in flight: its local port and protocol (and the inner family).
struct health_probe_key {
	__be16 sport;
	__u8 proto;
	__u8 family;
};

// Where that socket's packets go: only packets to vip:vip_port are wrapped, in an outer header
// from outer_src to backend. IPv4 addresses use the first 4 bytes.
struct health_probe_target {
	__be32 vip[4];
	__be32 backend[4];
	__be32 outer_src[4];
	__be16 vip_port;
	__u8 backend_family;
	__u8 pad;
};

struct health_counter {
	__u64 packets;
	__u64 bytes;
};

enum health_stat {
	HEALTH_STAT_IPIP = 0,      // IPv4 probe in IPv4
	HEALTH_STAT_IP6IP6 = 1,    // IPv6 probe in IPv6
	HEALTH_STAT_IP4IN6 = 2,    // IPv4 probe in IPv6
	HEALTH_STAT_MISMATCH = 3,  // a probe port, but not to the probe's VIP:port: passed as is
	HEALTH_STAT_FAILED = 4,    // a resize or store helper failed: dropped
	HEALTH_STAT_MAX = 5,
};

#endif
