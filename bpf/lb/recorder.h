// SPDX-License-Identifier: GPL-2.0
// The packet recorder: n-tuple capture rules matched inside the XDP path, matching packets copied
// to a BPF ring buffer of their recording for userspace (recorder/ in TypeScript), which writes
// pcap / pcapng.
//
// Two observation points, both matched on the client's tuple (the packet as received):
//   ingress  the frame as received, before the load-balancing decision (recorder_ingress)
//   egress   the frame as sent with XDP_TX, i.e. after encapsulation (recorder_egress)
// Matching happens once, at ingress; its result (a bitmap of recording slots) is kept on the stack
// and reused at egress, where the frame's outer header no longer shows the client tuple.
//
// Cost when no recording is active: one read of a global (rec_ctl.nmasks, in the program's own
// data section .data.rec: no map lookup) and a compare per packet. Everything else lives in
// non-inlined subprograms that only run while rules exist.
//
// Matching is a tuple-space search: the control plane groups the rules by their shape (the
// "mask": prefix lengths, family, which of ports / protocol are wildcards), keeps the distinct
// shapes in rec_ctl.shapes and every rule, with its fields masked, as a key of the hash rec_index
// whose value is the bitmap of recordings that have that rule. A hash lookup (~20 ns: jhash of a
// 44-byte key) per shape would still be paid by every packet, matching or not; a filter in front
// of the index spares it to the packets that match no rule:
//
//   filter  a bitmap in rec_ctl (REC_FILTER_BITS): bit rec_filter_bit(key) is set for every key
//           of rec_index, from a hash of the key's first address words, ports, protocol and
//           family and of its shape. Per shape the packet's tuple is masked with the shape's
//           precomputed masks (rec_shape: a few ANDs, no lookup), hashed, and the bit tested; only
//           a set bit (a rule of that shape may match, or a collision) costs the hash lookup.
//           A clear bit proves no rule of that shape matches: a key that equals the packet's
//           tuple under the shape has the same hash.
//
// Concurrency with the control plane (which rewrites these while traffic flows; it writes rec_ctl
// in place through a mapping of the section, one aligned 32- or 64-bit store at a time):
//  * rec_index entries change atomically (hash map updates replace whole elements); a bit is set
//    while its recording slot is still inactive and cleared after the slot was deactivated;
//  * filter bits: a key's bit is set (atomic OR of its word) before the recording that brings the
//    key is activated, and cleared only when no key of an active recording has it (reference
//    counted by the control plane), so a live rule's bit is never seen clear;
//  * a shape a live rule needs is always in [0, nmasks) in an entry that is not being written:
//    new shapes are written before nmasks is raised; a removed one is overwritten with a copy of
//    the last shape (which is thus present twice, the copy at the end untouched) before nmasks is
//    lowered. An entry being overwritten may be read torn: its rules are all gone, and a torn
//    entry can only make the search look up a key no live rule has or spare a lookup no live rule
//    needed, never record a packet no rule matches (the exact key below decides);
//  * the hash lookup builds its key from the shape's mask word (struct rec_mask, one 32-bit load,
//    never torn); the key holds the prefix lengths, so a key found under another shape than the
//    rule's own can only be found for packets the rule matches (ports and protocol are 0 in a
//    masked key exactly when the shape makes them wildcards or the packet has none);
//  * a recording entry is all-zero when inactive, and it is skipped unless id, snaplen and points
//    are all non-zero, so a torn read of an entry being (de)activated is either skipped or sees
//    the complete old/new value for the fields that matter.
// A packet's search takes well under a microsecond; the control plane needs two changes (each a
// series of syscalls) before an entry it vacated is rewritten again, which the search is assumed
// never to straddle.
//
// Every recording has its own ring (rec_rings[slot], created by userspace when it starts): a slow
// reader fills only its own ring, and its losses are counted on its own slot. Records are written
// without waking the reader until the ring holds wakeup_bytes (userspace also drains on a timer),
// so a busy recording costs userspace one wakeup per batch, not one per packet.
//
// Needs bpf_loop (5.17), bpf_xdp_load_bytes (5.18), bpf_ktime_get_boot_ns (5.8) and ring buffers as
// inner maps (5.8; rings of another size than the template below from 6.7 on). With the load-time
// flag LB_F_NO_RECORDER (config.h) both hooks return before anything else, the verifier never
// visits the code behind them, and the program needs only what the rest of xlb_lb needs.
#ifndef XLB_RECORDER_H
#define XLB_RECORDER_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "config.h"
#include "maps.h"
#include "packet.h"
#include "service.h"

// lb/datapath/recorder-layout.ts mirrors everything below; change both together.
#define REC_MAX_RULES 128        // rules of all recordings together (rec_index entries)
#define REC_MAX_MASKS REC_MAX_RULES  // distinct rule shapes (rec_ctl.shapes)
#define REC_FILTER_LOG2 14
#define REC_FILTER_BITS (1 << REC_FILTER_LOG2) // ≤ 128 keys: a clear bit for ≥ 99 % of the tuples
#define REC_FILTER_WORDS (REC_FILTER_BITS / 64)
#define REC_MAX_RECORDINGS 64    // concurrent recordings: one bit each in a __u64
#define REC_MAX_SNAPLEN 4096     // an XDP frame without frags fits in a page
#define REC_RING_BYTES (4 << 20) // the inner ring template; userspace creates each recording's ring

#define REC_POINT_INGRESS 1
#define REC_POINT_EGRESS 2

// rec_ctl.flags
#define REC_F_HOST_TRAFFIC 1 // record packets that are not for a VIP too (recorder.host_traffic)

// rec_mask.fields: compared exactly; the others are wildcards (0 in the key)
#define REC_M_SPORT 1
#define REC_M_DPORT 2
#define REC_M_PROTO 4

// One rule shape. Prefix lengths count from the first address bit (IPv4: 0..32, IPv6: 0..128);
// family 0 = either family (then both prefix lengths are 0).
struct rec_mask {
	__u8 src_plen;
	__u8 dst_plen;
	__u8 family;
	__u8 fields; // REC_M_*
};

// A shape's mask read with one load (never torn), its fields then taken from the copy.
union rec_mask_word {
	struct rec_mask m;
	__u32 word;
};

// A shape as the filter applies it to a packet's tuple: masks over the words the filter hashes,
// all as loaded from the tuple (addresses and ports in network order), precomputed by the control
// plane from the mask: src / dst keep the address's first min(plen, 32) bits (the filter hashes
// only the first address word: IPv6 rules that differ further on share a bit); ports applies to
// (sport | dport << 16), pf to (proto | family << 8).
struct rec_shape {
	__u32 src;
	__u32 dst;
	__u32 ports;
	__u32 pf;
	union rec_mask_word mask; // the shape itself: builds the exact key; salts the filter hash
};

// The recorder's switch, read once per packet, its filter and its shapes. In its own data section
// (a global, not a map value): reads are loads from an address the verifier resolved at load time.
// The daemon pins and adopts the section's map (".data.rec") with the other maps, and writes it in
// place through a mapping (libbpf makes the section an mmapable one-element array).
struct rec_ctl {
	__u32 nmasks; // shapes [0, nmasks) are searched; 0 = no recording: the recorder is off
	__u32 flags;  // REC_F_*
	__u32 pad[14]; // the filter starts at a cache line
	__u64 filter[REC_FILTER_WORDS];
	struct rec_shape shapes[REC_MAX_MASKS];
};

volatile struct rec_ctl rec_ctl SEC(".data.rec") = {};

// A rule, and a packet's tuple under a mask: the tuple's fields masked (addresses to their
// prefixes, wildcard ports / protocol 0), with the mask's prefix lengths. IPv4 addresses live in
// word 0. proto IPPROTO_ICMP also stands for ICMPv6.
struct rec_key {
	__be32 src[4];
	__be32 dst[4];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 family;   // 0 when the mask's family is 0
	__u8 src_plen;
	__u8 dst_plen;
};

// rec_recordings[slot]: all zero while the slot is unused.
struct rec_recording {
	__u32 id;           // recording id (never reused; userspace checks it on every record)
	__u32 snaplen;      // 1 … REC_MAX_SNAPLEN
	__u32 points;       // REC_POINT_* bits
	__u32 wakeup_bytes; // wake the reader once its ring holds this much
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
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, REC_MAX_RULES);
	__type(key, struct rec_key);
	__type(value, __u64); // recordings (slot bits) that have this rule
} rec_index SEC(".maps");

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

struct rec_ring_template {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, REC_RING_BYTES);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, REC_MAX_RECORDINGS);
	__type(key, __u32);
	__array(values, struct rec_ring_template);
} rec_rings SEC(".maps");

#ifdef XLB_RECORDER_OFF
// Baseline for benchmarks/recorder*.ts only: the hooks compiled out (maps kept, so the loader and
// its layout checks are unchanged). Production objects never define this.
static __always_inline __u64 recorder_ingress(struct xdp_md *ctx, const struct lb_pkt *p)
{
	return 0;
}

static __always_inline void recorder_egress(struct xdp_md *ctx, __u64 slots, int action)
{
}

static __always_inline bool recorder_idle(void)
{
	return true;
}
#else

// ---- matching (ingress) ------------------------------------------------------------------------

struct rec_match {
	struct flow_key t; // the packet's tuple; ports 0 when it has none; ICMPv6 folded into ICMP
	__u64 slots;       // recordings with a matching rule
};

// Network-order mask of the first `plen` bits of a 32-bit word (plen may be out of 0..32).
static __always_inline __be32 rec_word_mask(int plen)
{
	if (plen <= 0)
		return 0;
	if (plen >= 32)
		return 0xffffffff;
	return bpf_htonl(0xffffffffU << (32 - plen));
}

static __always_inline void rec_mask_addr(__be32 *out, const __be32 *addr, int plen, bool v4)
{
	out[0] = addr[0] & rec_word_mask(plen);
	if (v4)
		return;
	out[1] = addr[1] & rec_word_mask(plen - 32);
	out[2] = addr[2] & rec_word_mask(plen - 64);
	out[3] = addr[3] & rec_word_mask(plen - 96);
}

// The filter's bit for a tuple under a shape (lb/datapath/recorder-layout.ts recFilterBit computes
// the same from a rule's key): the masked words multiplied by distinct odd constants, XORed, and
// finished like murmur3's fmix (an XOR-shift and a multiply mix the high bits into the top ones);
// pf carries the shape's mask word, so equal masked tuples of different shapes get other bits.
static __always_inline __u32 rec_filter_bit(__u32 src, __u32 dst, __u32 ports, __u32 pf)
{
	__u32 h = (src * 0x9e3779b1U) ^ (dst * 0x85ebca77U) ^ (ports * 0xc2b2ae3dU) ^ (pf * 0x27d4eb2fU);

	h ^= h >> 15;
	h *= 0x2c1b3c6dU;
	return h >> (32 - REC_FILTER_LOG2);
}

// The exact search under one shape: the tuple masked into a key of rec_index. Only packets past
// the filter come here. A global function: the verifier checks it once, on its own (as a static
// one it was checked again for each of the loop's 128 iterations, and the program went past the
// verifier's 1M-instruction budget); it calls nothing newer than the rest of xlb_lb, so a program
// loaded with LB_F_NO_RECORDER still needs nothing the recorder needs.
__noinline int rec_lookup(struct rec_match *m, __u32 mask_word)
{
	union rec_mask_word w = { .word = mask_word };
	struct rec_mask *mask = &w.m;
	struct rec_key key = {};
	__u64 *slots;

	if (!m)
		return 0;
	if (mask->family) {
		if (mask->family != m->t.family)
			return 0;
		key.family = mask->family;
		rec_mask_addr(key.src, m->t.src, mask->src_plen, mask->family == LB_FAMILY_V4);
		rec_mask_addr(key.dst, m->t.dst, mask->dst_plen, mask->family == LB_FAMILY_V4);
		key.src_plen = mask->src_plen;
		key.dst_plen = mask->dst_plen;
	}
	if (mask->fields & REC_M_SPORT)
		key.sport = m->t.sport;
	if (mask->fields & REC_M_DPORT)
		key.dport = m->t.dport;
	if (mask->fields & REC_M_PROTO)
		key.proto = m->t.proto;
	slots = bpf_map_lookup_elem(&rec_index, &key);
	if (slots)
		m->slots |= *slots;
	return 0;
}

// Every shape in [0, nmasks): the filter first, the exact lookup only where its bit is set.
static __always_inline void rec_search(struct rec_match *m)
{
	__u32 n = rec_ctl.nmasks;
	__u32 src = m->t.src[0], dst = m->t.dst[0];
	__u32 ports = (__u32)m->t.sport | (__u32)m->t.dport << 16;
	__u32 pf = (__u32)m->t.proto | (__u32)m->t.family << 8;

	for (__u32 i = 0; i < REC_MAX_MASKS; i++) {
		volatile struct rec_shape *sh = &rec_ctl.shapes[i];
		__u32 mask, bit;

		if (i >= n)
			break;
		mask = sh->mask.word;
		bit = rec_filter_bit(src & sh->src, dst & sh->dst, ports & sh->ports, (pf & sh->pf) ^ mask);
		if ((rec_ctl.filter[bit / 64] >> (bit % 64)) & 1)
			rec_lookup(m, mask);
	}
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
	__u32 zero = 0, caplen, size;
	__u64 flags, avail;
	void *ring;

	if (slot >= REC_MAX_RECORDINGS || !(e->slots >> slot))
		return 1; // no higher slot is set
	if (!(e->slots & (1ULL << slot)))
		return 0;
	rec = bpf_map_lookup_elem(&rec_recordings, &slot);
	if (!rec || !rec->id || !rec->snaplen || !(rec->points & e->point))
		return 0;
	ring = bpf_map_lookup_elem(&rec_rings, &slot);
	s = bpf_map_lookup_elem(&rec_scratch, &zero);
	if (!ring || !s) {
		rec_count(slot, true);
		return 0;
	}

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
	size = sizeof(s->hdr) + caplen;
	// Wake the reader once a batch is waiting (it also drains on a timer): records that bring the
	// ring's fill into [wakeup_bytes, 2 × wakeup_bytes) wake it, the ones before and after do not.
	// A band, not one exact crossing: CPUs writing at once may each see the fill below the mark.
	// Above the band the reader is already awake and behind; waking it once more per record only
	// costs the sender an interrupt each (on the CI VMs a self-IPI is a VM exit).
	avail = bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA);
	flags = avail + size >= rec->wakeup_bytes && avail < 2 * (__u64)rec->wakeup_bytes ? BPF_RB_FORCE_WAKEUP
											 : BPF_RB_NO_WAKEUP;
	rec_count(slot, bpf_ringbuf_output(ring, s, size, flags) != 0);
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

static __noinline __u64 rec_ingress_slow(struct xdp_md *ctx, const struct lb_pkt *p)
{
	struct rec_match m = {};

	rec_tuple(ctx, p, &m.t);
	rec_search(&m);
	// Traffic that is not for a VIP (the host's own: SSH, BGP, ...) only when the operator allows it.
	if (m.slots && !(rec_ctl.flags & REC_F_HOST_TRAFFIC) && !vip_exists(&p->flow))
		return 0;
	if (m.slots)
		rec_emit(ctx, m.slots, REC_POINT_INGRESS);
	return m.slots;
}

// ---- hooks (called from the entry file) ---------------------------------------------------------

// No recording runs: both hooks below would do nothing for any packet, so the entry may skip them.
static __always_inline bool recorder_idle(void)
{
	return !rec_ctl.nmasks;
}

// After L3 parsing, before any decision: records the frame for every recording with a matching
// rule that wants ingress, and returns the matching recordings for recorder_egress.
static __always_inline __u64 recorder_ingress(struct xdp_md *ctx, const struct lb_pkt *p)
{
	if (cfg_flags & LB_F_NO_RECORDER)
		return 0;
	if (!rec_ctl.nmasks)
		return 0;
	return rec_ingress_slow(ctx, p);
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
