// BPF ring buffer consumer. Records are drained in C when libuv reports the ring's epoll fd
// readable; they are packed into one buffer plus an offsets table, and JS gets ONE call per batch
// (at most maxBatch records), never one call per record.
#include "common.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

static const napi_type_tag RING_TAG = { 0x6c6962627066ULL, 0x74732d72696e6731ULL };

struct ring_consumer {
	napi_env env;
	struct ring_buffer *rb;
	int map_fd;  // our own dup: the consumer keeps working if JS closes its map handle
	uv_poll_t poll;
	napi_ref callback;
	napi_ref self;  // strong while open: an active consumer is not garbage, like a listening socket
	napi_async_context async;
	char name[64];

	// batch being assembled
	uint8_t *data;
	size_t data_len, data_cap;
	uint32_t *offsets;
	size_t count, offsets_cap;
	uint32_t max_batch;
	bool batch_full;
	int append_error;

	uint64_t delivered, batches;
	bool poll_started, closed, in_callback, wrapper_gone, handle_closed;
};

static void maybe_free(struct ring_consumer *c)
{
	if (c->wrapper_gone && c->handle_closed && !c->in_callback) {
		free(c->data);
		free(c->offsets);
		free(c);
	}
}

static bool reserve(struct ring_consumer *c, size_t bytes)
{
	if (c->data_len + bytes > c->data_cap) {
		size_t cap = c->data_cap ? c->data_cap : 1 << 16;
		while (cap < c->data_len + bytes)
			cap *= 2;
		uint8_t *d = realloc(c->data, cap);
		if (!d)
			return false;
		c->data = d;
		c->data_cap = cap;
	}
	if (c->count + 2 > c->offsets_cap) {  // +1 for this record, +1 for the closing end offset
		size_t cap = c->offsets_cap ? c->offsets_cap * 2 : 1024;
		uint32_t *o = realloc(c->offsets, cap * sizeof(*o));
		if (!o)
			return false;
		c->offsets = o;
		c->offsets_cap = cap;
	}
	return true;
}

// libbpf calls this per record while consuming; a negative return stops consumption after this
// record (which libbpf has already marked consumed), which is how a batch is capped at max_batch.
static int on_sample(void *ctx, void *data, size_t size)
{
	struct ring_consumer *c = ctx;
	if (c->data_len + size > UINT32_MAX || !reserve(c, size)) {
		c->append_error = ENOMEM;
		return -ENOMEM;
	}
	c->offsets[c->count++] = (uint32_t)c->data_len;
	memcpy(c->data + c->data_len, data, size);
	c->data_len += size;
	if (c->count >= c->max_batch) {
		c->batch_full = true;
		return -E2BIG;
	}
	return 0;
}

// Hands the assembled batch to JS: callback(data: Buffer, offsets: Uint32Array(count + 1), count).
// Returns false if the callback threw (exception left pending when not from the loop).
static bool dispatch(struct ring_consumer *c, bool from_loop)
{
	napi_env env = c->env;
	napi_value argv[3], cb, global, ab, result;
	void *ab_data;
	size_t count = c->count;
	c->offsets[count] = (uint32_t)c->data_len;
	argv[0] = make_buffer_copy(env, c->data, c->data_len);
	if (!argv[0] || napi_create_arraybuffer(env, (count + 1) * sizeof(uint32_t), &ab_data, &ab) != napi_ok)
		return false;
	memcpy(ab_data, c->offsets, (count + 1) * sizeof(uint32_t));
	napi_create_typedarray(env, napi_uint32_array, count + 1, ab, 0, &argv[1]);
	argv[2] = make_u32(env, (uint32_t)count);
	// Reset before calling out: the callback may close the consumer or call drain() recursively.
	c->count = 0;
	c->data_len = 0;
	c->delivered += count;
	c->batches++;
	napi_get_reference_value(env, c->callback, &cb);
	napi_get_global(env, &global);
	c->in_callback = true;
	napi_status st = from_loop ? napi_make_callback(env, c->async, global, cb, 3, argv, &result)
				   : napi_call_function(env, global, cb, 3, argv, &result);
	c->in_callback = false;
	if (st != napi_ok && from_loop) {
		// Nobody up the stack can catch it: report like any other uncaught exception.
		napi_value exc;
		if (napi_get_and_clear_last_exception(env, &exc) == napi_ok)
			napi_fatal_exception(env, exc);
	}
	return st == napi_ok;
}

// Consumes and dispatches until a pass ends without hitting max_batch. Returns records delivered,
// or -errno. Stopping there (rather than at "ring empty") keeps a busy producer from starving the
// event loop; the level-triggered poll fires again for the rest.
static int64_t drain(struct ring_consumer *c, bool from_loop)
{
	int64_t total = 0;
	while (!c->closed) {
		c->batch_full = false;
		c->append_error = 0;
		int n = ring_buffer__consume(c->rb);
		if (c->append_error)
			return -c->append_error;
		if (n < 0 && !c->batch_full)
			return n;
		if (c->count == 0)
			break;
		bool more = c->batch_full;
		total += (int64_t)c->count;
		if (!dispatch(c, from_loop))
			return -ECANCELED;
		if (!more)
			break;
	}
	return total;
}

static void on_poll_closed(uv_handle_t *h)
{
	struct ring_consumer *c = h->data;
	c->handle_closed = true;
	maybe_free(c);
}

// Stops polling and releases the ring; safe to call from within the batch callback.
static void consumer_stop(struct ring_consumer *c)
{
	if (c->closed)
		return;
	c->closed = true;
	if (c->poll_started) {
		uv_poll_stop(&c->poll);  // also removes the fd from libuv's epoll before it is closed below
		uv_close((uv_handle_t *)&c->poll, on_poll_closed);
	} else {
		c->handle_closed = true;
	}
	if (c->rb)
		ring_buffer__free(c->rb);
	c->rb = NULL;
	if (c->map_fd >= 0)
		close(c->map_fd);
	c->map_fd = -1;
}

static void env_cleanup(void *arg)
{
	consumer_stop(arg);
}

static void release_js(struct ring_consumer *c)
{
	napi_remove_env_cleanup_hook(c->env, env_cleanup, c);
	if (c->callback)
		napi_delete_reference(c->env, c->callback);
	if (c->self)
		napi_delete_reference(c->env, c->self);
	if (c->async)
		napi_async_destroy(c->env, c->async);
	c->callback = c->self = NULL;
	c->async = NULL;
}

static void on_readable(uv_poll_t *h, int status, int events)
{
	struct ring_consumer *c = h->data;
	if (c->closed)
		return;
	napi_handle_scope scope;
	napi_open_handle_scope(c->env, &scope);
	if (status < 0) {
		napi_throw_error(c->env, "EIO", "ring buffer poll failed");
		napi_value exc;
		napi_get_and_clear_last_exception(c->env, &exc);
		napi_fatal_exception(c->env, exc);
	} else {
		int64_t r = drain(c, true);
		if (r < 0 && r != -ECANCELED) {
			throw_errno(c->env, (int)-r, NULL, "ring buffer \"%s\" consume", c->name);
			napi_value exc;
			napi_get_and_clear_last_exception(c->env, &exc);
			napi_fatal_exception(c->env, exc);
		}
	}
	napi_close_handle_scope(c->env, scope);
}

static void ring_finalize(napi_env env, void *data, void *hint)
{
	struct ring_consumer *c = data;
	consumer_stop(c);
	if (c->self || c->callback)
		release_js(c);
	c->wrapper_gone = true;
	maybe_free(c);
}

static struct ring_consumer *ring_get(napi_env env, napi_value v)
{
	struct ring_consumer *c = unwrap_tagged(env, v, &RING_TAG);
	if (!c) {
		throw_type_error(env, "consumer must be a ring buffer consumer handle");
		return NULL;
	}
	return c;
}

// ringNew(map, callback, maxBatch) → consumer handle (polling starts immediately)
static napi_value js_ring_new(napi_env env, napi_callback_info info)
{
	napi_value argv[3], obj;
	uint32_t max_batch = 16384;
	uv_loop_t *loop;
	if (!get_args(env, info, 3, argv))
		return NULL;
	struct fd_handle *m = fd_handle_get(env, argv[0], FD_MAP, "map");
	if (!m || !get_function_arg(env, argv[1], "onBatch") ||
	    (!is_nullish(env, argv[2]) && !get_u32_arg(env, argv[2], "maxBatch", &max_batch)))
		return NULL;
	if (m->map_type != BPF_MAP_TYPE_RINGBUF) {
		throw_type_error(env, "map: \"%s\" is a %s, not a ringbuf", m->name, libbpf_bpf_map_type_str(m->map_type));
		return NULL;
	}
	if (max_batch == 0) {
		throw_range_error(env, "maxBatch must be at least 1");
		return NULL;
	}
	NAPI_TRY(env, napi_get_uv_event_loop(env, &loop));
	struct ring_consumer *c = calloc(1, sizeof(*c));
	if (!c) {
		throw_errno(env, ENOMEM, NULL, "ring buffer \"%s\"", m->name);
		return NULL;
	}
	c->env = env;
	c->max_batch = max_batch;
	snprintf(c->name, sizeof(c->name), "%s", m->name);
	c->map_fd = fcntl(m->fd, F_DUPFD_CLOEXEC, 3);
	if (c->map_fd < 0) {
		throw_errno(env, errno, NULL, "ring buffer \"%s\" duplicate fd", m->name);
		free(c);
		return NULL;
	}
	struct log_capture cap;
	log_capture_begin(&cap);
	c->rb = ring_buffer__new(c->map_fd, on_sample, c, NULL);
	int err = errno;
	log_capture_end(&cap);
	if (!c->rb) {
		char *detail = log_flatten(cap.text);
		throw_errno(env, err, detail, "ring buffer \"%s\" open", m->name);
		free(detail);
		log_capture_free(&cap);
		close(c->map_fd);
		free(c);
		return NULL;
	}
	log_capture_free(&cap);
	if (napi_create_object(env, &obj) != napi_ok || napi_type_tag_object(env, obj, &RING_TAG) != napi_ok ||
	    napi_wrap(env, obj, c, ring_finalize, NULL, NULL) != napi_ok) {
		ring_buffer__free(c->rb);
		close(c->map_fd);
		free(c);
		napi_throw_last_status(env, "wrap ring buffer consumer");
		return NULL;
	}
	// From here on the wrapper owns c; failures below leave a closed consumer for the GC.
	napi_create_reference(env, argv[1], 1, &c->callback);
	napi_create_reference(env, obj, 1, &c->self);
	napi_async_init(env, NULL, make_string(env, "libbpf-ts:RingBufferConsumer"), &c->async);
	napi_add_env_cleanup_hook(env, env_cleanup, c);
	c->poll.data = c;
	int rc = uv_poll_init(loop, &c->poll, ring_buffer__epoll_fd(c->rb));
	if (!rc) {
		c->poll_started = true;
		rc = uv_poll_start(&c->poll, UV_READABLE, on_readable);
	}
	if (rc) {
		consumer_stop(c);
		release_js(c);
		throw_errno(env, -rc, NULL, "ring buffer \"%s\" poll", m->name);
		return NULL;
	}
	return obj;
}

static napi_value js_ring_drain(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	if (!get_args(env, info, 1, argv))
		return NULL;
	struct ring_consumer *c = ring_get(env, argv[0]);
	if (!c)
		return NULL;
	if (c->closed) {
		throw_state_error(env, EBADF, "ring buffer \"%s\" consumer is closed", c->name);
		return NULL;
	}
	if (c->in_callback) {
		throw_state_error(env, EBUSY, "ring buffer \"%s\": drain() called from inside onBatch", c->name);
		return NULL;
	}
	int64_t r = drain(c, false);
	if (r == -ECANCELED)
		return NULL;  // the callback's exception is pending
	if (r < 0) {
		throw_errno(env, (int)-r, NULL, "ring buffer \"%s\" consume", c->name);
		return NULL;
	}
	return make_double(env, (double)r);
}

static napi_value js_ring_close(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	if (!get_args(env, info, 1, argv))
		return NULL;
	struct ring_consumer *c = ring_get(env, argv[0]);
	if (!c)
		return NULL;
	if (!c->closed) {
		consumer_stop(c);
		release_js(c);
	}
	return make_undefined(env);
}

static napi_value js_ring_stats(napi_env env, napi_callback_info info)
{
	napi_value argv[1], r;
	if (!get_args(env, info, 1, argv))
		return NULL;
	struct ring_consumer *c = ring_get(env, argv[0]);
	if (!c)
		return NULL;
	NAPI_TRY(env, napi_create_object(env, &r));
	set_prop(env, r, "delivered", make_double(env, (double)c->delivered));
	set_prop(env, r, "batches", make_double(env, (double)c->batches));
	set_prop(env, r, "closed", make_bool(env, c->closed));
	return r;
}

// ringRef(consumer, bool): an unref'd consumer does not keep the process alive on its own.
static napi_value js_ring_ref(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	bool ref = true;
	if (!get_args(env, info, 2, argv))
		return NULL;
	struct ring_consumer *c = ring_get(env, argv[0]);
	if (!c)
		return NULL;
	napi_get_value_bool(env, argv[1], &ref);
	if (!c->closed && c->poll_started) {
		if (ref)
			uv_ref((uv_handle_t *)&c->poll);
		else
			uv_unref((uv_handle_t *)&c->poll);
	}
	return make_undefined(env);
}

void ringbuf_exports(napi_env env, napi_value exports)
{
	static const struct export_entry fns[] = {
		{ "ringNew", js_ring_new },
		{ "ringDrain", js_ring_drain },
		{ "ringClose", js_ring_close },
		{ "ringStats", js_ring_stats },
		{ "ringRef", js_ring_ref },
	};
	export_functions(env, exports, fns, ARRAY_LEN(fns));
}
