// SPDX-License-Identifier: GPL-2.0
// Maps of the health-probe tunnel program. xlbd writes one health_probes entry per probe socket
// before it connects (and overwrites it for the next probe on that port); health_stats is summed
// across CPUs for `xlb status`.
#ifndef XLB_HEALTH_MAPS_H
#define XLB_HEALTH_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "structs.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024); // set at load time to the size of the probe port range
	__type(key, struct health_probe_key);
	__type(value, struct health_probe_target);
} health_probes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HEALTH_STAT_MAX);
	__type(key, __u32);
	__type(value, struct health_counter);
} health_stats SEC(".maps");

static __always_inline void health_count(__u32 stat, __u32 bytes)
{
	struct health_counter *c = bpf_map_lookup_elem(&health_stats, &stat);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

#endif
