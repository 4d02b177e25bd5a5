// SPDX-License-Identifier: GPL-2.0
// The packet recorder: n-tuple capture rules matched inside the XDP path, matching packets copied
// to a BPF ring buffer for userspace (recorder/ in TypeScript), which writes pcap / pcapng.
//
// Two observation points, both matched on the client's tuple (the packet as received):
//   ingress  the frame as received, before the load-balancing decision (recorder_ingress)
//   egress   the frame as sent with XDP_TX, i.e. after encapsulation (recorder_egress)
// Matching happens once, at ingress; its result (a bitmap of recording slots) is kept on the stack
// and reused at egress, where the frame's outer header no longer shows the client tuple.
//
// Cost when no recording is active: one inlined array lookup (rec_ctl) and a compare per packet.
// Everything else lives in non-inlined subprograms that only run when rules exist.
//
// Concurrency with the control plane (which rewrites these maps while traffic flows):
//  * a rule is written only while its recording slot is inactive (rec_recordings[slot].id == 0),
//    so a torn read of a rule being written can only match an inactive recording;
//  * a recording entry is all-zero when inactive, and it is skipped unless id, snaplen and points
//    are all non-zero, so a torn read of an entry being (de)activated is either skipped or sees
//    the complete old/new value for the fields that matter.
//
// Needs bpf_loop (5.17), bpf_xdp_load_bytes (5.18) and bpf_ktime_get_boot_ns (5.8). With the
// load-time flag LB_F_NO_RECORDER (config.h) both hooks return before anything else, the verifier
// never visits the code behind them, and the program needs only what the rest of xlb_lb needs.
#ifndef XLB_RECORDER_H
#define XLB_RECORDER_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include "config.h"
#include "maps.h"
#include "packet.h"

// recorder/layout.ts mirrors everything below; change both together.
#define REC_MAX_RULES 128       // rule slots shared by all recordings
#define REC_MAX_RECORDINGS 64   // concurrent recordings: one bit each in a __u64
#define REC_MAX_SNAPLEN 4096    // an XDP frame without frags fits in a page
#define REC_RING_BYTES (4 << 20) // default; the loader may resize it

#define REC_POINT_INGRESS 1
#define REC_POINT_EGRESS 2

// One capture rule. Addresses are compared under the masks (prefix masks, network order); a zero
// port or proto is a wildcard; family 0 = either family (then both masks are zero).
// proto IPPROTO_ICMP means ICMP for IPv4 packets and ICMPv6 for IPv6 packets.
struct rec_rule {
	__be32 src[4];
	__be32 src_mask[4];
	__be32 dst[4];
	__be32 dst_mask[4];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 family;
	__u8 slot;   // recording slot 0 … REC_MAX_RECORDINGS−1
	__u8 active; // 0 = empty rule slot
};

// rec_recordings[slot]: all zero while the slot is unused.
struct rec_recording {
	__u32 id;      // recording id (userspace demultiplexes the ring by it; never reused)
	__u32 snaplen; // 1 … REC_MAX_SNAPLEN
	__u32 points;  // REC_POINT_* bits
};

struct rec_ctl {
	__u32 rule_limit; // rule slots [0, rule_limit) are scanned; 0 = recorder off
};

// Per recording slot and CPU. matched = records attempted (one per packet and point);
// lost = of those, the ones the ring buffer had no room for.
struct rec_counter {
	__u64 matched;
	__u64 lost;
};

// Every ring record: this header, then caplen bytes of the frame from its first byte.
struct rec_hdr {
	__u64 tstamp_ns;     // bpf_ktime_get_boot_ns() (CLOCK_BOOTTIME)
	__u32 recording_id;
	__u32 len;           // frame length on the wire (at this point)
	__u32 caplen;        // bytes that follow, ≤ the recording's snaplen
	__u32 ifindex;
	__u8 point;          // REC_POINT_INGRESS / REC_POINT_EGRESS
	__u8 pad[7];
};

// Per-CPU staging area: the frame is copied here once per point, then every recording that wants
// it gets header + a prefix of it through bpf_ringbuf_output (exact-size records: a fixed-size
// reserve would waste ring space when snaplens are small).
struct rec_scratch {
	struct rec_hdr hdr;
	__u8 data[REC_MAX_SNAPLEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rec_ctl);
} rec_ctl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, REC_MAX_RULES);
	__type(key, __u32);
	__type(value, struct rec_rule);
} rec_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, REC_MAX_RECORDINGS);
	__type(key, __u32);
	__type(value, struct rec_recording);
} rec_recordings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, REC_MAX_RECORDINGS);
	__type(key, __u32);
	__type(value, struct rec_counter);
} rec_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rec_scratch);
} rec_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, REC_RING_BYTES);
} rec_ring SEC(".maps");

#ifdef XLB_RECORDER_OFF
// Baseline for benchmarks/recorder.ts only: the hooks compiled out (maps kept, so the loader and
// its layout checks are unchanged). Production objects never define this.
static __always_inline __u64 recorder_ingress(struct xdp_md *ctx, const struct lb_pkt *p)
{
	return 0;
}

static __always_inline void recorder_egress(struct xdp_md *ctx, __u64 slots, int action)
{
}
#else

// ---- matching (ingress) ------------------------------------------------------------------------

struct rec_match {
	struct flow_key t; // the packet's tuple; ports 0 when it has none; ICMPv6 folded into ICMP
	__u64 slots;       // recordings with a matching rule
};

static __always_inline bool rec_addr_match(const __be32 *addr, const __be32 *net, const __be32 *mask)
{
	return ((addr[0] & mask[0]) == net[0]) & ((addr[1] & mask[1]) == net[1]) &
	       ((addr[2] & mask[2]) == net[2]) & ((addr[3] & mask[3]) == net[3]);
}

static long rec_match_rule(__u32 index, void *data)
{
	struct rec_match *m = data;
	struct rec_rule *r = bpf_map_lookup_elem(&rec_rules, &index);

	if (!r)
		return 1;
	if (!r->active || (r->family && r->family != m->t.family) || (r->proto && r->proto != m->t.proto) ||
	    (r->sport && r->sport != m->t.sport) || (r->dport && r->dport != m->t.dport))
		return 0;
	// IPv4 addresses live in word 0 (the rest is zero in the packet tuple and in every rule that
	// can match an IPv4 packet), so IPv4 packets compare one word per side instead of four.
	if (m->t.family == LB_FAMILY_V4) {
		if (((m->t.src[0] & r->src_mask[0]) != r->src[0]) | ((m->t.dst[0] & r->dst_mask[0]) != r->dst[0]))
			return 0;
	} else if (!rec_addr_match(m->t.src, r->src, r->src_mask) || !rec_addr_match(m->t.dst, r->dst, r->dst_mask)) {
		return 0;
	}
	m->slots |= 1ULL << (r->slot & (REC_MAX_RECORDINGS - 1));
	return 0;
}

// The tuple rules are matched against. Ports only when the L3 header is clean (a fragment or an
// extension header leaves no reliable transport header) and the TCP/UDP ports are in the packet.
static __always_inline void rec_tuple(struct xdp_md *ctx, const struct lb_pkt *p, struct flow_key *t)
{
	void *data = pkt_data(ctx), *data_end = pkt_end(ctx);
	struct l4_ports *ports;
	__u16 l4_off = p->l4_off;

	*t = p->flow;
	t->sport = 0;
	t->dport = 0;
	if (t->family == LB_FAMILY_V6 && t->proto == IPPROTO_ICMPV6)
		t->proto = IPPROTO_ICMP;
	if (p->l3_status != L3_OK || (t->proto != IPPROTO_TCP && t->proto != IPPROTO_UDP))
		return;
	if (l4_off > L2_MAX_LEN + 60 || l4_off + sizeof(*ports) > (__u32)p->l3_off + p->l3_len)
		return;
	ports = data + l4_off;
	if ((void *)(ports + 1) > data_end)
		return;
	t->sport = ports->src;
	t->dport = ports->dst;
}

// ---- emitting records ----------------------------------------------------------------------------

struct rec_emit {
	struct xdp_md *ctx;
	__u64 slots;
	__u64 tstamp_ns;
	__u32 len;    // frame length
	__u32 copied; // frame bytes already in the scratch area
	__u8 point;
};

static __always_inline void rec_count(__u32 slot, bool lost)
{
	struct rec_counter *c = bpf_map_lookup_elem(&rec_stats, &slot);

	if (c) {
		c->matched++;
		if (lost)
			c->lost++;
	}
}

static long rec_emit_one(__u32 slot, void *data)
{
	struct rec_emit *e = data;
	struct rec_recording *rec;
	struct rec_scratch *s;
	__u32 zero = 0, caplen;

	if (slot >= REC_MAX_RECORDINGS || !(e->slots >> slot))
		return 1; // no higher slot is set
	if (!(e->slots & (1ULL << slot)))
		return 0;
	rec = bpf_map_lookup_elem(&rec_recordings, &slot);
	if (!rec || !rec->id || !rec->snaplen || !(rec->points & e->point))
		return 0;
	s = bpf_map_lookup_elem(&rec_scratch, &zero);
	if (!s)
		return 1;

	caplen = e->len < rec->snaplen ? e->len : rec->snaplen;
	if (caplen > REC_MAX_SNAPLEN)
		caplen = REC_MAX_SNAPLEN;
	if (caplen > e->copied) {
		if (caplen < 1 || bpf_xdp_load_bytes(e->ctx, 0, s->data, caplen)) {
			rec_count(slot, true);
			return 0;
		}
		e->copied = caplen;
	}
	s->hdr.tstamp_ns = e->tstamp_ns;
	s->hdr.recording_id = rec->id;
	s->hdr.len = e->len;
	s->hdr.caplen = caplen;
	s->hdr.ifindex = e->ctx->ingress_ifindex;
	s->hdr.point = e->point;
	rec_count(slot, bpf_ringbuf_output(&rec_ring, s, sizeof(s->hdr) + caplen, 0) != 0);
	return 0;
}

static __noinline void rec_emit(struct xdp_md *ctx, __u64 slots, __u8 point)
{
	struct rec_emit e = {
		.ctx = ctx,
		.slots = slots,
		.tstamp_ns = bpf_ktime_get_boot_ns(),
		.len = pkt_end(ctx) - pkt_data(ctx),
		.point = point,
	};

	bpf_loop(REC_MAX_RECORDINGS, rec_emit_one, &e, 0);
}

static __noinline __u64 rec_ingress_slow(struct xdp_md *ctx, const struct lb_pkt *p, __u32 rule_limit)
{
	struct rec_match m = {};

	rec_tuple(ctx, p, &m.t);
	bpf_loop(rule_limit < REC_MAX_RULES ? rule_limit : REC_MAX_RULES, rec_match_rule, &m, 0);
	if (m.slots)
		rec_emit(ctx, m.slots, REC_POINT_INGRESS);
	return m.slots;
}

// ---- hooks (called from the entry file) ---------------------------------------------------------

// After L3 parsing, before any decision: records the frame for every recording with a matching
// rule that wants ingress, and returns the matching recordings for recorder_egress.
static __always_inline __u64 recorder_ingress(struct xdp_md *ctx, const struct lb_pkt *p)
{
	__u32 zero = 0;
	struct rec_ctl *ctl;

	if (cfg_flags & LB_F_NO_RECORDER)
		return 0;
	ctl = bpf_map_lookup_elem(&rec_ctl, &zero);
	if (!ctl || !ctl->rule_limit)
		return 0;
	return rec_ingress_slow(ctx, p, ctl->rule_limit);
}

// After the verdict: a frame sent back out (XDP_TX: encapsulated, or an ICMP reply) is recorded for
// the recordings recorder_ingress matched that want egress.
static __always_inline void recorder_egress(struct xdp_md *ctx, __u64 slots, int action)
{
	if (cfg_flags & LB_F_NO_RECORDER)
		return;
	if (slots && action == XDP_TX)
		rec_emit(ctx, slots, REC_POINT_EGRESS);
}

#endif // XLB_RECORDER_OFF
#endif
