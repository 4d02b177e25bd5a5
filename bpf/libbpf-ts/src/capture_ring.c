// A BPF ring buffer of captured packets consumed straight into capture-file bytes. Each ring record
// is a small header (timestamp, id, lengths, observation point: the caller gives the offsets) and
// the frame's first bytes; the consumer writes each as one pcap or pcapng packet record into a
// preallocated Buffer of chunkBytes (behind `headroom` free bytes for a message header), and hands
// JS one call per full chunk — one copy of the payload, no JS object per packet. Partial chunks go
// out after flushMs. The ring is mapped and walked here (no libbpf ring_buffer: a record is only
// consumed once it fits the current chunk), and polled on its own map fd.
//
// Limits (max packets, max bytes of captured data) are exact: the record that reaches one is the
// last written; later records are consumed and counted as discarded. pause() stops reading: the
// ring fills and the BPF side counts what it could not write (that is the backpressure path).
//
// Memory is touched before the first record, never while records stream: a page's first touch
// costs 20–40 µs on VMs with shadow paging (measured on the CI machines: 39 µs per 4 KiB page,
// 0.4 µs for a page already touched), so a recording that met fresh memory as it ran spent ~10 ms
// per MiB faulting, blocked the event loop and lost packets while both processes looked idle. The
// ring's pages are touched when the consumer is created (before the caller activates the
// recording), chunk Buffers are made then too, and a closed consumer's chunk Buffers stay in a
// process-wide pool for the next one.
#include "common.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <uv.h>

static const napi_type_tag CAPTURE_TAG = { 0x6c6962627066ULL, 0x74732d6361707431ULL };

enum capture_format { FORMAT_PCAP = 0, FORMAT_PCAPNG = 1 };
enum capture_limit { LIMIT_NONE = 0, LIMIT_PACKETS = 1, LIMIT_BYTES = 2 };

#define PCAP_REC_HDR 16
#define PCAPNG_EPB_FIXED 44  // block header + EPB fields + epb_flags option + end of options + trailer
#define MAX_READY 4          // chunks handed out per wakeup: then the loop runs (socket writes) and polls again
#define POOL_MAX 16          // chunk Buffers kept for reuse (fresh memory costs page faults)
#define PREFILL 2            // chunk Buffers made (and touched) when a consumer is created (few: an idle recording keeps them)
#define SHARED_MAX 32        // chunk Buffers of closed consumers kept for the next ones
// Chunk Buffers of a consumer's size the shared pool holds once a consumer was created: what a
// stream keeps in flight (its 16 MiB send queue, chunks now stay until written to the socket, plus
// the ready ones) made before the first recording is active, not while its packets arrive (a
// first recording that made ~20 fresh Buffers as it ran stalled ~200 ms and lost packets at 25 kpps).
#define SHARED_WARM 20

struct ready_chunk {
	napi_ref buf;
	size_t len;
};

struct capture {
	napi_env env;
	char name[64];
	int map_fd;  // our own dup
	size_t page;
	unsigned long mask;  // ring size - 1
	void *cons_map;      // consumer page (rw)
	void *prod_map;      // producer page + data twice (ro)
	uv_poll_t poll;
	uv_timer_t timer;
	napi_ref callback, self;
	napi_async_context async;

	// what a record looks like
	uint32_t hdr_size, off_tstamp, off_id, off_len, off_caplen, off_point;
	uint32_t recording_id;
	int format;
	uint64_t max_packets, max_bytes;  // 0 = none
	int64_t wall_offset_ns;
	uint32_t flush_ms;

	// the chunk being filled
	napi_ref chunk;
	uint8_t *chunk_data;  // first byte after the headroom
	size_t chunk_len, chunk_cap, headroom;
	uint64_t chunk_started_ms;
	struct ready_chunk ready[MAX_READY];
	int nready;
	// chunk Buffers given back with recycle(), reused before allocating
	napi_ref pool[POOL_MAX];
	uint8_t *pool_data[POOL_MAX];
	int npool;
	// every chunk Buffer made here that may come back (a ring of recent ones; a recycle() of any
	// other Buffer is refused)
	uint8_t *made[2 * POOL_MAX + MAX_READY];
	int nmade, made_next;

	uint64_t consumed, captured, captured_bytes, discarded, foreign, bad, chunks;
	int limit;           // enum capture_limit, once reached
	bool limit_reported;
	int error;           // errno of a failed chunk allocation (records are then counted bad)
	bool paused, closed, in_callback, wrapper_gone, unmapped;
	int open_handles;    // uv handles not yet closed
};

// Chunk Buffers of closed consumers (one env: the first that made a consumer), by size.
static struct {
	napi_env env;
	bool gone;  // the env is being torn down: keep nothing more
	int n;
	napi_ref buf[SHARED_MAX];
	uint8_t *data[SHARED_MAX];
	size_t len[SHARED_MAX];
} shared;

static void shared_cleanup(void *arg)
{
	for (int i = 0; i < shared.n; i++)
		napi_delete_reference(shared.env, shared.buf[i]);
	shared.n = 0;
	shared.gone = true;
}

// Keeps a chunk Buffer for a later consumer; false when the shared pool cannot take it.
static bool shared_put(napi_env env, napi_ref buf, uint8_t *data, size_t len)
{
	if (shared.gone)
		return false;
	if (!shared.env) {
		shared.env = env;
		napi_add_env_cleanup_hook(env, shared_cleanup, NULL);
	}
	if (shared.env != env || shared.n == SHARED_MAX)
		return false;
	shared.buf[shared.n] = buf;
	shared.data[shared.n] = data;
	shared.len[shared.n] = len;
	shared.n++;
	return true;
}

static bool shared_take(napi_env env, size_t len, napi_ref *buf, uint8_t **data)
{
	if (shared.env != env || shared.gone)
		return false;
	for (int i = shared.n - 1; i >= 0; i--) {
		if (shared.len[i] != len)
			continue;
		*buf = shared.buf[i];
		*data = shared.data[i];
		shared.n--;
		shared.buf[i] = shared.buf[shared.n];
		shared.data[i] = shared.data[shared.n];
		shared.len[i] = shared.len[shared.n];
		return true;
	}
	return false;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void unmap(struct capture *c)
{
	if (c->unmapped)
		return;
	c->unmapped = true;
	if (c->cons_map && c->cons_map != MAP_FAILED)
		munmap(c->cons_map, c->page);
	if (c->prod_map && c->prod_map != MAP_FAILED)
		munmap(c->prod_map, c->page + 2 * (c->mask + 1));
	c->cons_map = c->prod_map = NULL;
	if (c->map_fd >= 0)
		close(c->map_fd);
	c->map_fd = -1;
}

static void maybe_free(struct capture *c)
{
	if (c->wrapper_gone && c->open_handles == 0 && !c->in_callback) {
		unmap(c);
		free(c);
	}
}

static void on_handle_closed(uv_handle_t *h)
{
	struct capture *c = h->data;
	c->open_handles--;
	maybe_free(c);
}

static void release_refs(struct capture *c)
{
	if (c->chunk)
		napi_delete_reference(c->env, c->chunk);
	c->chunk = NULL;
	c->chunk_data = NULL;
	c->chunk_len = 0;
	for (int i = 0; i < c->nready; i++)
		napi_delete_reference(c->env, c->ready[i].buf);
	c->nready = 0;
	for (int i = 0; i < c->npool; i++) {
		if (!shared_put(c->env, c->pool[i], c->pool_data[i], c->headroom + c->chunk_cap))
			napi_delete_reference(c->env, c->pool[i]);
	}
	c->npool = 0;
}

// Stops polling and releases the ring; safe from inside the callback (the mapping then goes when
// the callback returns).
static void capture_stop(struct capture *c)
{
	if (c->closed)
		return;
	c->closed = true;
	if (c->open_handles) {
		uv_poll_stop(&c->poll);
		uv_timer_stop(&c->timer);
		uv_close((uv_handle_t *)&c->poll, on_handle_closed);
		uv_close((uv_handle_t *)&c->timer, on_handle_closed);
	}
	if (!c->in_callback)
		unmap(c);
}

static void env_cleanup(void *arg);

static void release_js(struct capture *c)
{
	napi_remove_env_cleanup_hook(c->env, env_cleanup, c);
	release_refs(c);
	if (c->callback)
		napi_delete_reference(c->env, c->callback);
	if (c->self)
		napi_delete_reference(c->env, c->self);
	if (c->async)
		napi_async_destroy(c->env, c->async);
	c->callback = c->self = NULL;
	c->async = NULL;
}

static void env_cleanup(void *arg)
{
	capture_stop(arg);
}

// ---- records → capture-file bytes ---------------------------------------------------------------

static size_t record_bytes(const struct capture *c, uint32_t caplen)
{
	if (c->format == FORMAT_PCAPNG)
		return PCAPNG_EPB_FIXED + ((caplen + 3) & ~3U);
	return PCAP_REC_HDR + caplen;
}

static void remember_made(struct capture *c, uint8_t *data)
{
	c->made[c->made_next] = data;
	c->made_next = (c->made_next + 1) % (int)ARRAY_LEN(c->made);
	if (c->nmade < (int)ARRAY_LEN(c->made))
		c->nmade++;
}

// A chunk Buffer not in use: from the shared pool, else a new one with every page touched.
static bool make_chunk_buffer(struct capture *c, napi_ref *ref, uint8_t **data)
{
	napi_value buf;
	void *p;
	size_t len = c->headroom + c->chunk_cap;
	if (!shared_take(c->env, len, ref, data)) {
		if (napi_create_buffer(c->env, len, &p, &buf) != napi_ok || napi_create_reference(c->env, buf, 1, ref) != napi_ok)
			return false;
		memset(p, 0, len);
		*data = p;
	}
	remember_made(c, *data);
	return true;
}

static bool new_chunk(struct capture *c)
{
	uint8_t *data;
	if (c->npool > 0) {
		c->npool--;
		c->chunk = c->pool[c->npool];
		c->chunk_data = c->pool_data[c->npool] + c->headroom;
		c->chunk_len = 0;
		return true;
	}
	if (!make_chunk_buffer(c, &c->chunk, &data)) {
		c->error = ENOMEM;
		return false;
	}
	c->chunk_data = data + c->headroom;
	c->chunk_len = 0;
	return true;
}

// The shared pool topped up to SHARED_WARM touched Buffers of `len` bytes (nothing if it belongs
// to another env or is full).
static void shared_warm(napi_env env, size_t len)
{
	int have = 0;
	for (int i = 0; i < shared.n; i++)
		have += shared.len[i] == len;
	while (have < SHARED_WARM && shared.n < SHARED_MAX && !shared.gone && (!shared.env || shared.env == env)) {
		napi_value buf;
		napi_ref ref;
		void *p;
		if (napi_create_buffer(env, len, &p, &buf) != napi_ok || napi_create_reference(env, buf, 1, &ref) != napi_ok)
			return;
		memset(p, 0, len);
		if (!shared_put(env, ref, p, len)) {
			napi_delete_reference(env, ref);
			return;
		}
		have++;
	}
}

// Before the first record: the ring's pages mapped in (read once), PREFILL chunk Buffers ready,
// and the shared pool warm.
static void warm_up(struct capture *c)
{
	const volatile uint8_t *data = (const uint8_t *)c->prod_map + c->page;
	for (size_t off = 0; off <= c->mask; off += c->page)
		(void)data[off];
	while (c->npool < PREFILL && make_chunk_buffer(c, &c->pool[c->npool], &c->pool_data[c->npool]))
		c->npool++;
	shared_warm(c->env, c->headroom + c->chunk_cap);
}

// The current chunk joins the ready list (which the caller made room in).
static void finish_chunk(struct capture *c)
{
	if (!c->chunk || c->chunk_len == 0)
		return;
	c->ready[c->nready].buf = c->chunk;
	c->ready[c->nready].len = c->chunk_len;
	c->nready++;
	c->chunk = NULL;
	c->chunk_data = NULL;
	c->chunk_len = 0;
	c->chunks++;
}

static void write_record(struct capture *c, uint8_t *out, const uint8_t *hdr, const uint8_t *frame,
			 uint32_t len, uint32_t caplen)
{
	uint64_t ts = (uint64_t)((int64_t)rd64(hdr + c->off_tstamp) + c->wall_offset_ns);
	if (c->format == FORMAT_PCAPNG) {
		uint32_t padded = (caplen + 3) & ~3U;
		uint32_t total = PCAPNG_EPB_FIXED + padded;
		bool egress = hdr[c->off_point] == 2;
		wr32(out, 0x00000006);  // Enhanced Packet Block
		wr32(out + 4, total);
		wr32(out + 8, egress ? 1 : 0);  // interface: 0 ingress, 1 egress
		wr32(out + 12, (uint32_t)(ts >> 32));
		wr32(out + 16, (uint32_t)ts);
		wr32(out + 20, caplen);
		wr32(out + 24, len);
		memcpy(out + 28, frame, caplen);
		memset(out + 28 + caplen, 0, padded - caplen);
		uint8_t *o = out + 28 + padded;
		wr32(o, 2 | (4u << 16));       // epb_flags, 4 bytes
		wr32(o + 4, egress ? 2 : 1);   // direction: 1 inbound, 2 outbound
		wr32(o + 8, 0);                // opt_endofopt
		wr32(o + 12, total);
		return;
	}
	wr32(out, (uint32_t)(ts / 1000000000ULL));
	wr32(out + 4, (uint32_t)(ts % 1000000000ULL));  // nanosecond pcap
	wr32(out + 8, caplen);
	wr32(out + 12, len);
	memcpy(out + 16, frame, caplen);
}

enum take_result { TAKEN, NEED_ROOM, STOP };

static enum take_result take(struct capture *c, const uint8_t *rec, uint32_t size, uint64_t now_ms)
{
	if (size < c->hdr_size) {
		c->bad++;
		return TAKEN;
	}
	uint32_t caplen = rd32(rec + c->off_caplen);
	if (caplen > size - c->hdr_size) {
		c->bad++;
		return TAKEN;
	}
	if (rd32(rec + c->off_id) != c->recording_id) {
		c->foreign++;
		return TAKEN;
	}
	if (c->limit) {
		c->discarded++;
		return TAKEN;
	}
	if (c->max_bytes && c->captured_bytes + caplen > c->max_bytes) {
		c->discarded++;
		c->limit = LIMIT_BYTES;
		return TAKEN;
	}
	size_t need = record_bytes(c, caplen);
	if (c->chunk && c->chunk_len + need > c->chunk_cap) {
		if (c->nready == MAX_READY)
			return STOP;
		finish_chunk(c);
	}
	if (!c->chunk) {
		if (c->nready == MAX_READY)
			return STOP;
		if (!new_chunk(c)) {
			c->bad++;
			return TAKEN;
		}
		c->chunk_started_ms = now_ms;
	}
	if (need > c->chunk_cap) {  // chunkBytes below one record: refused at construction
		c->bad++;
		return TAKEN;
	}
	write_record(c, c->chunk_data + c->chunk_len, rec, rec + c->hdr_size, rd32(rec + c->off_len), caplen);
	c->chunk_len += need;
	c->captured++;
	c->captured_bytes += caplen;
	if (c->max_packets && c->captured >= c->max_packets)
		c->limit = LIMIT_PACKETS;
	else if (c->max_bytes && c->captured_bytes >= c->max_bytes)
		c->limit = LIMIT_BYTES;
	return TAKEN;
}

// Walks the ring from the consumer position; stops when it is empty, at a record the producer has
// not committed yet, or when the ready list is full. Returns the number of records consumed.
static uint64_t consume(struct capture *c)
{
	if (c->closed || c->unmapped)
		return 0;
	unsigned long *cons_pos = c->cons_map;
	const unsigned long *prod_pos = c->prod_map;
	const uint8_t *data = (const uint8_t *)c->prod_map + c->page;
	unsigned long cons = __atomic_load_n(cons_pos, __ATOMIC_ACQUIRE);
	uint64_t n = 0, now_ms = uv_now(uv_handle_get_loop((uv_handle_t *)&c->poll));
	for (;;) {
		unsigned long prod = __atomic_load_n(prod_pos, __ATOMIC_ACQUIRE);
		if (cons >= prod)
			break;
		const uint8_t *rec = data + (cons & c->mask);
		uint32_t len = __atomic_load_n((const uint32_t *)rec, __ATOMIC_ACQUIRE);
		if (len & BPF_RINGBUF_BUSY_BIT)
			break;
		uint32_t size = len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
		if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
			// The data area is mapped twice in a row: a record that wraps is contiguous here.
			if (take(c, rec + BPF_RINGBUF_HDR_SZ, size, now_ms) == STOP)
				break;
			n++;
		}
		cons += (size + BPF_RINGBUF_HDR_SZ + 7) & ~7UL;
		__atomic_store_n(cons_pos, cons, __ATOMIC_RELEASE);
	}
	c->consumed += n;
	return n;
}

// ---- handing chunks to JS -------------------------------------------------------------------------

// callback(buffer | null, length, limit): one call per ready chunk (a Buffer of headroom + capacity
// bytes of which the chunk is [headroom, headroom + length)), and one with the limit code once a
// limit is reached (with the last chunk when there is one). Returns false if the callback threw.
static bool call_js(struct capture *c, napi_value buf, size_t len, int limit, bool from_loop)
{
	napi_env env = c->env;
	napi_value argv[3], cb, global, result;
	if (buf)
		argv[0] = buf;
	else
		napi_get_null(env, &argv[0]);
	argv[1] = make_double(env, (double)len);
	argv[2] = make_u32(env, (uint32_t)limit);
	napi_get_reference_value(env, c->callback, &cb);
	napi_get_global(env, &global);
	c->in_callback = true;
	napi_status st = from_loop ? napi_make_callback(env, c->async, global, cb, 3, argv, &result)
				   : napi_call_function(env, global, cb, 3, argv, &result);
	c->in_callback = false;
	if (st != napi_ok && from_loop) {
		napi_value exc;
		if (napi_get_and_clear_last_exception(env, &exc) == napi_ok)
			napi_fatal_exception(env, exc);
	}
	return st == napi_ok;
}

// Dispatches the ready chunks, the current one too when `flush_partial` (or a limit was reached).
static bool dispatch(struct capture *c, bool flush_partial, bool from_loop)
{
	bool report_limit = c->limit && !c->limit_reported;
	if ((flush_partial || report_limit) && c->nready < MAX_READY)
		finish_chunk(c);
	int n = c->nready;
	struct ready_chunk list[MAX_READY];
	memcpy(list, c->ready, sizeof(list[0]) * n);
	c->nready = 0;
	bool ok = true;
	for (int i = 0; i < n; i++) {
		napi_value buf = NULL;
		napi_get_reference_value(c->env, list[i].buf, &buf);
		napi_delete_reference(c->env, list[i].buf);
		bool last = i == n - 1;
		int limit = last && report_limit ? c->limit : LIMIT_NONE;
		if (limit)
			c->limit_reported = true;
		if (ok && !c->closed)
			ok = call_js(c, buf, list[i].len, limit, from_loop);
	}
	if (ok && !c->closed && report_limit && !c->limit_reported) {
		c->limit_reported = true;
		ok = call_js(c, NULL, 0, c->limit, from_loop);
	}
	if (c->closed && !c->in_callback)
		unmap(c);
	return ok;
}

static bool partial_due(struct capture *c)
{
	return c->chunk && c->chunk_len &&
	       uv_now(uv_handle_get_loop((uv_handle_t *)&c->poll)) - c->chunk_started_ms >= c->flush_ms;
}

// One wakeup: consume what fits, hand it out, repeat while full chunks keep coming (bounded).
static void run(struct capture *c, bool from_timer)
{
	napi_handle_scope scope;
	napi_open_handle_scope(c->env, &scope);
	for (int round = 0; round < 2 && !c->closed && !c->paused; round++) {
		consume(c);
		bool more = c->nready == MAX_READY;
		if (!dispatch(c, !more && (from_timer ? partial_due(c) : false), true) || !more)
			break;
	}
	napi_close_handle_scope(c->env, scope);
}

static void on_readable(uv_poll_t *h, int status, int events)
{
	struct capture *c = h->data;
	if (!c->closed)
		run(c, false);
}

static void on_timer(uv_timer_t *t)
{
	struct capture *c = t->data;
	if (!c->closed)
		run(c, true);
}

static void set_paused(struct capture *c, bool paused)
{
	if (c->closed || c->paused == paused)
		return;
	c->paused = paused;
	if (paused) {
		uv_poll_stop(&c->poll);
		uv_timer_stop(&c->timer);
		return;
	}
	uv_poll_start(&c->poll, UV_READABLE, on_readable);
	uv_timer_start(&c->timer, on_timer, c->flush_ms, c->flush_ms);
}

// ---- JS surface ---------------------------------------------------------------------------------------

static void capture_finalize(napi_env env, void *data, void *hint)
{
	struct capture *c = data;
	capture_stop(c);
	if (c->self || c->callback)
		release_js(c);
	c->wrapper_gone = true;
	maybe_free(c);
}

static struct capture *capture_get(napi_env env, napi_value v)
{
	struct capture *c = unwrap_tagged(env, v, &CAPTURE_TAG);
	if (!c) {
		throw_type_error(env, "consumer must be a capture ring handle");
		return NULL;
	}
	return c;
}

static bool get_prop_u32(napi_env env, napi_value obj, const char *name, uint32_t *out)
{
	napi_value v;
	if (napi_get_named_property(env, obj, name, &v) != napi_ok)
		return false;
	return get_u32_arg(env, v, name, out);
}

static bool get_prop_u64(napi_env env, napi_value obj, const char *name, uint64_t *out)
{
	napi_value v;
	if (napi_get_named_property(env, obj, name, &v) != napi_ok)
		return false;
	return get_u64_arg(env, v, name, out);
}

static bool get_prop_i64(napi_env env, napi_value obj, const char *name, int64_t *out)
{
	napi_value v;
	bool lossless;
	napi_valuetype t;
	if (napi_get_named_property(env, obj, name, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok || t != napi_bigint) {
		throw_type_error(env, "%s must be a bigint", name);
		return false;
	}
	napi_get_value_bigint_int64(env, v, out, &lossless);
	if (!lossless) {
		throw_range_error(env, "%s does not fit 64 bits", name);
		return false;
	}
	return true;
}

// captureNew(map, onChunk, options) → handle; reading starts at once.
static napi_value js_capture_new(napi_env env, napi_callback_info info)
{
	napi_value argv[3], obj;
	uv_loop_t *loop;
	uint32_t fmt, chunk_bytes, headroom;
	struct capture o = { 0 };
	if (!get_args(env, info, 3, argv))
		return NULL;
	struct fd_handle *m = fd_handle_get(env, argv[0], FD_MAP, "map");
	if (!m || !get_function_arg(env, argv[1], "onChunk"))
		return NULL;
	if (m->map_type != BPF_MAP_TYPE_RINGBUF) {
		throw_type_error(env, "map: \"%s\" is a %s, not a ringbuf", m->name, libbpf_bpf_map_type_str(m->map_type));
		return NULL;
	}
	if (!get_prop_u32(env, argv[2], "format", &fmt) || !get_prop_u32(env, argv[2], "recordingId", &o.recording_id) ||
	    !get_prop_u32(env, argv[2], "headerSize", &o.hdr_size) || !get_prop_u32(env, argv[2], "offTstamp", &o.off_tstamp) ||
	    !get_prop_u32(env, argv[2], "offId", &o.off_id) || !get_prop_u32(env, argv[2], "offLen", &o.off_len) ||
	    !get_prop_u32(env, argv[2], "offCaplen", &o.off_caplen) || !get_prop_u32(env, argv[2], "offPoint", &o.off_point) ||
	    !get_prop_u32(env, argv[2], "chunkBytes", &chunk_bytes) || !get_prop_u32(env, argv[2], "headroom", &headroom) ||
	    !get_prop_u64(env, argv[2], "maxPackets", &o.max_packets) || !get_prop_u64(env, argv[2], "maxBytes", &o.max_bytes) ||
	    !get_prop_i64(env, argv[2], "wallOffsetNs", &o.wall_offset_ns) || !get_prop_u32(env, argv[2], "flushMs", &o.flush_ms))
		return NULL;
	if (fmt > FORMAT_PCAPNG) {
		throw_range_error(env, "format must be 0 (pcap) or 1 (pcapng)");
		return NULL;
	}
	if (o.off_tstamp + 8 > o.hdr_size || o.off_id + 4 > o.hdr_size || o.off_len + 4 > o.hdr_size ||
	    o.off_caplen + 4 > o.hdr_size || o.off_point + 1 > o.hdr_size) {
		throw_range_error(env, "record header fields must lie within headerSize (%u bytes)", o.hdr_size);
		return NULL;
	}
	if (chunk_bytes < PCAPNG_EPB_FIXED + 65536 || chunk_bytes > (1u << 30) || headroom > 64 || o.flush_ms == 0) {
		throw_range_error(env, "chunkBytes must be 64 KiB + %u .. 1 GiB, headroom at most 64, flushMs at least 1",
				  PCAPNG_EPB_FIXED);
		return NULL;
	}
	NAPI_TRY(env, napi_get_uv_event_loop(env, &loop));
	struct capture *c = calloc(1, sizeof(*c));
	if (!c) {
		throw_errno(env, ENOMEM, NULL, "capture ring \"%s\"", m->name);
		return NULL;
	}
	*c = o;
	c->env = env;
	c->format = (int)fmt;
	c->chunk_cap = chunk_bytes;
	c->headroom = headroom;
	c->page = (size_t)sysconf(_SC_PAGESIZE);
	c->mask = m->max_entries - 1;
	snprintf(c->name, sizeof(c->name), "%s", m->name);
	c->map_fd = fcntl(m->fd, F_DUPFD_CLOEXEC, 3);
	if (c->map_fd < 0) {
		throw_errno(env, errno, NULL, "capture ring \"%s\" duplicate fd", m->name);
		free(c);
		return NULL;
	}
	c->cons_map = mmap(NULL, c->page, PROT_READ | PROT_WRITE, MAP_SHARED, c->map_fd, 0);
	c->prod_map = c->cons_map == MAP_FAILED ? MAP_FAILED
						: mmap(NULL, c->page + 2 * (size_t)m->max_entries, PROT_READ, MAP_SHARED,
						       c->map_fd, (off_t)c->page);
	if (c->cons_map == MAP_FAILED || c->prod_map == MAP_FAILED) {
		int err = errno;
		unmap(c);
		free(c);
		throw_errno(env, err, NULL, "capture ring \"%s\" mmap", m->name);
		return NULL;
	}
	if (napi_create_object(env, &obj) != napi_ok || napi_type_tag_object(env, obj, &CAPTURE_TAG) != napi_ok ||
	    napi_wrap(env, obj, c, capture_finalize, NULL, NULL) != napi_ok) {
		unmap(c);
		free(c);
		napi_throw_last_status(env, "wrap capture ring");
		return NULL;
	}
	// From here on the wrapper owns c.
	warm_up(c);
	napi_create_reference(env, argv[1], 1, &c->callback);
	napi_create_reference(env, obj, 1, &c->self);
	napi_async_init(env, NULL, make_string(env, "libbpf-ts:CaptureRing"), &c->async);
	napi_add_env_cleanup_hook(env, env_cleanup, c);
	c->poll.data = c;
	c->timer.data = c;
	int rc = uv_poll_init(loop, &c->poll, c->map_fd);
	if (!rc) {
		c->open_handles++;
		rc = uv_timer_init(loop, &c->timer);
		if (!rc)
			c->open_handles++;
	}
	if (!rc) {
		c->paused = true;
		set_paused(c, false);
	}
	if (rc) {
		capture_stop(c);
		release_js(c);
		throw_errno(env, -rc, NULL, "capture ring \"%s\" poll", m->name);
		return NULL;
	}
	return obj;
}

// captureDrain(handle, flush) → records consumed: everything in the ring now (paused or not), full
// chunks handed out, and the partial one too when `flush`.
static napi_value js_capture_drain(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	bool flush = false;
	if (!get_args(env, info, 2, argv))
		return NULL;
	struct capture *c = capture_get(env, argv[0]);
	if (!c)
		return NULL;
	if (c->closed) {
		throw_state_error(env, EBADF, "capture ring \"%s\" is closed", c->name);
		return NULL;
	}
	if (c->in_callback) {
		throw_state_error(env, EBUSY, "capture ring \"%s\": drain() called from inside onChunk", c->name);
		return NULL;
	}
	if (!is_nullish(env, argv[1]))
		napi_get_value_bool(env, argv[1], &flush);
	uint64_t total = 0;
	for (;;) {
		uint64_t n = consume(c);
		total += n;
		bool more = c->nready == MAX_READY;
		if (!dispatch(c, flush && !more, false))
			return NULL;  // the callback's exception is pending
		if (!more || c->closed)
			break;
	}
	return make_double(env, (double)total);
}

// captureRecycle(handle, buffer) → whether it was taken: a chunk Buffer this consumer handed out,
// whose bytes the caller no longer needs, goes back to the pool.
static napi_value js_capture_recycle(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	void *data;
	size_t len;
	if (!get_args(env, info, 2, argv))
		return NULL;
	struct capture *c = capture_get(env, argv[0]);
	if (!c || !get_buffer_arg(env, argv[1], "buffer", &data, &len))
		return NULL;
	bool ours = false;
	for (int i = 0; i < c->nmade && !ours; i++)
		ours = c->made[i] == data;
	for (int i = 0; i < c->npool && ours; i++)
		ours = c->pool_data[i] != data;  // not twice
	if (!ours || len != c->headroom + c->chunk_cap || c->closed || c->npool == POOL_MAX)
		return make_bool(env, false);
	if (napi_create_reference(env, argv[1], 1, &c->pool[c->npool]) != napi_ok)
		return make_bool(env, false);
	c->pool_data[c->npool++] = data;
	return make_bool(env, true);
}

static napi_value js_capture_pause(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	bool paused = true;
	if (!get_args(env, info, 2, argv))
		return NULL;
	struct capture *c = capture_get(env, argv[0]);
	if (!c)
		return NULL;
	napi_get_value_bool(env, argv[1], &paused);
	set_paused(c, paused);
	return make_undefined(env);
}

static napi_value js_capture_set_offset(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	bool lossless;
	int64_t off;
	if (!get_args(env, info, 2, argv))
		return NULL;
	struct capture *c = capture_get(env, argv[0]);
	if (!c)
		return NULL;
	if (napi_get_value_bigint_int64(env, argv[1], &off, &lossless) != napi_ok || !lossless) {
		throw_type_error(env, "wallOffsetNs must be a bigint within 64 bits");
		return NULL;
	}
	c->wall_offset_ns = off;
	return make_undefined(env);
}

static napi_value js_capture_stats(napi_env env, napi_callback_info info)
{
	napi_value argv[1], r;
	if (!get_args(env, info, 1, argv))
		return NULL;
	struct capture *c = capture_get(env, argv[0]);
	if (!c)
		return NULL;
	NAPI_TRY(env, napi_create_object(env, &r));
	set_prop(env, r, "consumed", make_double(env, (double)c->consumed));
	set_prop(env, r, "captured", make_double(env, (double)c->captured));
	set_prop(env, r, "capturedBytes", make_double(env, (double)c->captured_bytes));
	set_prop(env, r, "discarded", make_double(env, (double)c->discarded));
	set_prop(env, r, "foreign", make_double(env, (double)c->foreign));
	set_prop(env, r, "bad", make_double(env, (double)c->bad));
	set_prop(env, r, "chunks", make_double(env, (double)c->chunks));
	set_prop(env, r, "limit", make_u32(env, (uint32_t)c->limit));
	set_prop(env, r, "paused", make_bool(env, c->paused));
	set_prop(env, r, "closed", make_bool(env, c->closed));
	set_prop(env, r, "pending", make_double(env, (double)(c->chunk ? c->chunk_len : 0)));
	return r;
}

static napi_value js_capture_close(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	if (!get_args(env, info, 1, argv))
		return NULL;
	struct capture *c = capture_get(env, argv[0]);
	if (!c)
		return NULL;
	if (!c->closed) {
		capture_stop(c);
		release_js(c);
	}
	return make_undefined(env);
}

static napi_value js_capture_ref(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	bool ref = true;
	if (!get_args(env, info, 2, argv))
		return NULL;
	struct capture *c = capture_get(env, argv[0]);
	if (!c)
		return NULL;
	napi_get_value_bool(env, argv[1], &ref);
	if (!c->closed) {
		if (ref) {
			uv_ref((uv_handle_t *)&c->poll);
			uv_ref((uv_handle_t *)&c->timer);
		} else {
			uv_unref((uv_handle_t *)&c->poll);
			uv_unref((uv_handle_t *)&c->timer);
		}
	}
	return make_undefined(env);
}

// allocatorKeepFreed(mmapThreshold, trimThreshold): the process's malloc serves blocks below
// mmapThreshold from its heap and keeps up to trimThreshold bytes of freed heap instead of handing
// them back to the kernel. For a process that streams captures: every chunk passes through
// short-lived Buffers of about 1 MiB (gRPC's framing copies each message into a new one); with
// glibc's defaults each of those is fresh memory, i.e. a page fault per 4 KiB (see the top of this
// file), and with these settings it is memory freed a moment ago.
static napi_value js_allocator_keep_freed(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	uint32_t mmap_threshold, trim_threshold;
	if (!get_args(env, info, 2, argv) || !get_u32_arg(env, argv[0], "mmapThreshold", &mmap_threshold) ||
	    !get_u32_arg(env, argv[1], "trimThreshold", &trim_threshold))
		return NULL;
	bool ok = mallopt(M_MMAP_THRESHOLD, (int)(mmap_threshold & 0x7fffffff)) == 1 &&
		  mallopt(M_TRIM_THRESHOLD, (int)(trim_threshold & 0x7fffffff)) == 1;
	return make_bool(env, ok);
}

void capture_ring_exports(napi_env env, napi_value exports)
{
	static const struct export_entry fns[] = {
		{ "captureNew", js_capture_new },
		{ "captureDrain", js_capture_drain },
		{ "capturePause", js_capture_pause },
		{ "captureRecycle", js_capture_recycle },
		{ "captureSetOffset", js_capture_set_offset },
		{ "captureStats", js_capture_stats },
		{ "captureClose", js_capture_close },
		{ "captureRef", js_capture_ref },
		{ "allocatorKeepFreed", js_allocator_keep_freed },
	};
	export_functions(env, exports, fns, ARRAY_LEN(fns));
}
