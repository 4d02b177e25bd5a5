// Health probes off the JS event loop: one C thread with an epoll set runs non-blocking TCP
// connects, HTTP GETs (status line only) and UDP request/replies, each bounded by a timeout, and
// hands the outcomes back in batches — one threadsafe-function call for everything that finished
// while JS was busy. What a probe means (status ranges, error texts, rise/fall) stays in TS; this
// file only turns a probe description into one network exchange and reports how it ended.
//
// A probe is described by a template (built once per target in TS, layout below) plus, per run,
// an id and an optional local port (the probe tunnel routes by the local port). Sockets of a
// connected TCP probe are closed with a reset (SO_LINGER 0), as the JS prober does, so neither
// host keeps TIME_WAIT entries for a 4-tuple a later probe may use again.
//
// Template (little-endian):  u8 kind (1 tcp, 2 http, 3 udp) | u8 family (4, 6) | u16 port |
//   u32 timeout ms | 16 bytes address (IPv4 in the first 4) | u32 payload length | payload
//   (http: the whole request; udp: the datagram).
// Result triples (Int32Array): id, outcome (enum probe_outcome), value (errno, HTTP status, or
//   for a timeout whether the connection had been established).
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

enum probe_kind { KIND_TCP = 1, KIND_HTTP = 2, KIND_UDP = 3 };
enum probe_outcome {
	OUT_OK = 0,          // connected (tcp) or a reply arrived (udp)
	OUT_HTTP_STATUS = 1, // value: the status code (the range is checked in TS)
	OUT_ERRNO = 2,       // value: errno (EADDRINUSE from bind: the local port is taken)
	OUT_TIMEOUT = 3,     // value: 1 when the connection was established
	OUT_NOT_HTTP = 4,    // the first line is not an HTTP/1.x status line
	OUT_CLOSED = 5,      // the peer closed before a status line
};
enum probe_state { ST_CONNECTING, ST_SENDING, ST_READING, ST_WAIT_REPLY };

#define TEMPLATE_HEADER 28
#define HEAD_LIMIT 1024  // as the JS prober: no status line within this much is "not HTTP"
#define STATUS_LINE_LEN 13  // "HTTP/1.x NNN" and one of ' ', '\r', '\n'
// Results wait up to this long to be handed to JS together: each hand-over wakes the event loop,
// and woken per result, its loop turns cost more than the probes (measured: benchmarks/health.ts).
#define DELIVER_EVERY_NS 5000000ULL

struct probe {
	struct probe *prev, *next;  // the in-flight list
	uint32_t id;
	uint8_t kind, family, state;
	uint16_t port, local_port;
	int fd;
	uint64_t deadline_ns;
	uint8_t addr[16];
	uint32_t payload_len, sent, head_len;
	char head[HEAD_LIMIT + 64];
	char payload[];
};

struct result_buf {
	int32_t *v;
	size_t len, cap;  // in int32s
};

struct prober {
	pthread_t thread;
	bool thread_started;
	int epfd, evfd;
	napi_threadsafe_function tsfn;
	napi_ref callback;
	bool closed, wrapper_gone, tsfn_gone;

	pthread_mutex_t lock;  // guards everything below
	struct probe **submitted;
	size_t n_submitted, cap_submitted;
	bool stop, woken;
	struct result_buf results;
	bool notify_pending;
	uint64_t delivered, batches;

	// thread-only
	struct probe inflight;  // list head
	size_t n_inflight;
	uint64_t min_deadline_ns;
	bool undelivered;
	uint64_t last_delivery_ns;
};

static const napi_type_tag PROBER_TAG = { 0x786c62686c746870ULL, 0x70726f6265723031ULL };

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- the probing thread --------------------------------------------------------------------- */

static void push_result(struct prober *p, uint32_t id, int32_t outcome, int32_t value)
{
	struct result_buf *r = &p->results;
	pthread_mutex_lock(&p->lock);
	if (r->len + 3 > r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 768;
		int32_t *v = realloc(r->v, cap * sizeof(*v));
		if (!v) {  // out of memory: this result is lost (its callback never runs)
			pthread_mutex_unlock(&p->lock);
			return;
		}
		r->v = v;
		r->cap = cap;
	}
	r->v[r->len++] = (int32_t)id;
	r->v[r->len++] = outcome;
	r->v[r->len++] = value;
	pthread_mutex_unlock(&p->lock);
	p->undelivered = true;
}

static void finish(struct prober *p, struct probe *q, int32_t outcome, int32_t value, bool connected)
{
	push_result(p, q->id, outcome, value);
	if (q->fd >= 0) {
		if (connected) {
			struct linger l = { .l_onoff = 1, .l_linger = 0 };
			setsockopt(q->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		}
		close(q->fd);  // also leaves the epoll set
	}
	q->prev->next = q->next;
	q->next->prev = q->prev;
	p->n_inflight--;
	free(q);
}

static socklen_t fill_sockaddr(struct sockaddr_storage *ss, uint8_t family, const uint8_t *addr, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (family == 6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		if (addr)
			memcpy(&s6->sin6_addr, addr, 16);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	if (addr)
		memcpy(&s4->sin_addr, addr, 4);
	return sizeof(*s4);
}

// Sends what is left of the payload; false when the probe finished (error).
static bool send_payload(struct prober *p, struct probe *q)
{
	while (q->sent < q->payload_len || (q->kind == KIND_UDP && q->state != ST_WAIT_REPLY)) {
		ssize_t n = send(q->fd, q->payload + q->sent, q->payload_len - q->sent, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN)
				return true;  // EPOLLOUT (edge-triggered) comes back for the rest
			finish(p, q, OUT_ERRNO, errno, q->kind != KIND_UDP);
			return false;
		}
		q->sent += (uint32_t)n;
		if (q->kind == KIND_UDP)
			break;  // one datagram, empty when the payload is
	}
	q->state = q->kind == KIND_UDP ? ST_WAIT_REPLY : ST_READING;
	return true;
}

static void start_probe(struct prober *p, struct probe *q)
{
	struct sockaddr_storage ss;
	int type = q->kind == KIND_UDP ? SOCK_DGRAM : SOCK_STREAM;
	q->fd = socket(q->family == 6 ? AF_INET6 : AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	// Linked in first, so that finish() can unlink it whatever happens below.
	q->next = p->inflight.next;
	q->prev = &p->inflight;
	q->next->prev = q;
	p->inflight.next = q;
	p->n_inflight++;
	if (q->fd < 0) {
		finish(p, q, OUT_ERRNO, errno, false);
		return;
	}
	if (q->local_port) {
		if (type == SOCK_STREAM) {  // as libuv does for a TCP bind
			int on = 1;
			setsockopt(q->fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		}
		socklen_t len = fill_sockaddr(&ss, q->family, NULL, q->local_port);
		if (bind(q->fd, (struct sockaddr *)&ss, len)) {
			finish(p, q, OUT_ERRNO, errno, false);
			return;
		}
	}
	socklen_t len = fill_sockaddr(&ss, q->family, q->addr, q->port);
	if (connect(q->fd, (struct sockaddr *)&ss, len) && errno != EINPROGRESS) {
		finish(p, q, OUT_ERRNO, errno, false);
		return;
	}
	// One registration for the probe's life: edge-triggered, so a connect completing reports
	// EPOLLOUT once and the reply later reports EPOLLIN, without an EPOLL_CTL_MOD in between.
	// (A UDP socket is writable at once: it waits for EPOLLIN only.)
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET | (type == SOCK_STREAM ? EPOLLOUT : 0), .data.ptr = q };
	if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, q->fd, &ev)) {
		finish(p, q, OUT_ERRNO, errno, false);
		return;
	}
	if (q->deadline_ns < p->min_deadline_ns)
		p->min_deadline_ns = q->deadline_ns;
	q->state = ST_CONNECTING;
	if (q->kind == KIND_UDP)
		send_payload(p, q);
}

static int socket_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return errno;
	return err;
}

// The status line as the JS prober reads it: /^HTTP\/1\.[01] (\d{3})[ \r\n]/ on what has arrived.
static int parse_status(const char *h, uint32_t len)
{
	if (len < STATUS_LINE_LEN || memcmp(h, "HTTP/1.", 7) || (h[7] != '0' && h[7] != '1') || h[8] != ' ')
		return -1;
	for (int i = 9; i < 12; i++)
		if (h[i] < '0' || h[i] > '9')
			return -1;
	if (h[12] != ' ' && h[12] != '\r' && h[12] != '\n')
		return -1;
	return (h[9] - '0') * 100 + (h[10] - '0') * 10 + (h[11] - '0');
}

static void read_response(struct prober *p, struct probe *q)
{
	for (;;) {
		ssize_t n = recv(q->fd, q->head + q->head_len, sizeof(q->head) - q->head_len, 0);
		if (n < 0) {
			if (errno != EAGAIN)
				finish(p, q, OUT_ERRNO, errno, true);
			return;
		}
		if (n == 0) {
			finish(p, q, OUT_CLOSED, 0, true);
			return;
		}
		q->head_len += (uint32_t)n;
		int code = parse_status(q->head, q->head_len);
		if (code >= 0) {
			finish(p, q, OUT_HTTP_STATUS, code, true);
			return;
		}
		if (memchr(q->head, '\n', q->head_len) || q->head_len > HEAD_LIMIT) {
			finish(p, q, OUT_NOT_HTTP, 0, true);
			return;
		}
	}
}

static void on_event(struct prober *p, struct probe *q, uint32_t events)
{
	if (q->kind == KIND_UDP) {
		if (!(events & (EPOLLIN | EPOLLERR)))
			return;
		char buf[1];
		ssize_t n = recv(q->fd, buf, sizeof(buf), MSG_TRUNC);
		if (n >= 0)
			finish(p, q, OUT_OK, 0, false);
		else if (errno != EAGAIN)
			finish(p, q, OUT_ERRNO, errno, false);  // ECONNREFUSED: ICMP port unreachable
		return;
	}
	if (q->state == ST_CONNECTING) {
		if (events & (EPOLLERR | EPOLLHUP)) {
			int err = socket_error(q->fd);
			finish(p, q, OUT_ERRNO, err ? err : ECONNRESET, false);
			return;
		}
		if (!(events & EPOLLOUT))
			return;
		if (q->kind == KIND_TCP) {
			finish(p, q, OUT_OK, 0, true);
			return;
		}
		q->state = ST_SENDING;
	}
	if (q->state == ST_SENDING && !send_payload(p, q))
		return;
	if (q->state == ST_READING && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		read_response(p, q);
}

static void expire(struct prober *p, uint64_t now)
{
	uint64_t min = UINT64_MAX;
	struct probe *q = p->inflight.next;
	while (q != &p->inflight) {
		struct probe *next = q->next;
		if (q->deadline_ns <= now) {
			bool connected = q->kind != KIND_UDP && q->state != ST_CONNECTING;
			finish(p, q, OUT_TIMEOUT, connected, connected);
		} else if (q->deadline_ns < min) {
			min = q->deadline_ns;
		}
		q = next;
	}
	p->min_deadline_ns = min;
}

static void deliver(struct prober *p, uint64_t now)
{
	p->undelivered = false;
	p->last_delivery_ns = now;
	pthread_mutex_lock(&p->lock);
	bool call = p->results.len && !p->notify_pending;
	if (call)
		p->notify_pending = true;
	pthread_mutex_unlock(&p->lock);
	if (call && napi_call_threadsafe_function(p->tsfn, NULL, napi_tsfn_nonblocking) != napi_ok) {
		pthread_mutex_lock(&p->lock);
		p->notify_pending = false;  // retried after the next event
		pthread_mutex_unlock(&p->lock);
	}
}

static void *prober_thread(void *arg)
{
	struct prober *p = arg;
	struct epoll_event evs[256];
	struct probe **batch = NULL;
	size_t batch_cap = 0;
	for (;;) {
		int timeout = -1;
		uint64_t wake_at = p->min_deadline_ns;
		if (p->undelivered && p->last_delivery_ns + DELIVER_EVERY_NS < wake_at)
			wake_at = p->last_delivery_ns + DELIVER_EVERY_NS;
		if (wake_at != UINT64_MAX) {
			uint64_t now = now_ns();
			timeout = wake_at <= now ? 0 : (int)((wake_at - now + 999999) / 1000000);
		}
		int n = epoll_wait(p->epfd, evs, ARRAY_LEN(evs), timeout);
		bool woken = false;
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL)
				woken = true;
			else
				on_event(p, evs[i].data.ptr, evs[i].events);
		}
		if (woken) {
			uint64_t v;
			if (read(p->evfd, &v, sizeof(v)) < 0) { /* EAGAIN: nothing to read */ }
			pthread_mutex_lock(&p->lock);
			bool stop = p->stop;
			p->woken = false;
			size_t count = p->n_submitted;
			if (count > batch_cap) {
				struct probe **b = realloc(batch, count * sizeof(*b));
				if (b) {
					batch = b;
					batch_cap = count;
				}
			}
			if (count > batch_cap)
				count = batch_cap;
			memcpy(batch, p->submitted, count * sizeof(*batch));
			memmove(p->submitted, p->submitted + count, (p->n_submitted - count) * sizeof(*batch));
			p->n_submitted -= count;
			pthread_mutex_unlock(&p->lock);
			if (stop)
				break;
			for (size_t i = 0; i < count; i++)
				start_probe(p, batch[i]);
		}
		uint64_t now = now_ns();
		if (now >= p->min_deadline_ns)
			expire(p, now);
		if (p->undelivered && now - p->last_delivery_ns >= DELIVER_EVERY_NS)
			deliver(p, now);
	}
	free(batch);
	while (p->inflight.next != &p->inflight) {
		struct probe *q = p->inflight.next;
		finish(p, q, OUT_ERRNO, ECANCELED, q->kind != KIND_UDP && q->state != ST_CONNECTING);
	}
	return NULL;
}

/* ---- JS side ----------------------------------------------------------------------------------- */

static void maybe_free(struct prober *p)
{
	if (!p->wrapper_gone || !p->tsfn_gone)
		return;
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->n_submitted; i++)
		free(p->submitted[i]);
	pthread_mutex_unlock(&p->lock);
	free(p->submitted);
	free(p->results.v);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

// Runs on the JS thread: one call per batch of results.
static void call_js(napi_env env, napi_value js_cb, void *context, void *data)
{
	struct prober *p = context;
	if (!env || p->closed)
		return;
	pthread_mutex_lock(&p->lock);
	struct result_buf r = p->results;
	p->results = (struct result_buf){ 0 };
	p->notify_pending = false;
	pthread_mutex_unlock(&p->lock);
	if (!r.len) {
		free(r.v);
		return;
	}
	p->delivered += r.len / 3;
	p->batches++;
	napi_value ab, arr, cb, undefined;
	void *dst;
	if (napi_create_arraybuffer(env, r.len * sizeof(int32_t), &dst, &ab) == napi_ok &&
	    napi_create_typedarray(env, napi_int32_array, r.len, ab, 0, &arr) == napi_ok &&
	    napi_get_reference_value(env, p->callback, &cb) == napi_ok) {
		memcpy(dst, r.v, r.len * sizeof(int32_t));
		napi_get_undefined(env, &undefined);
		napi_call_function(env, undefined, cb, 1, &arr, NULL);  // an exception surfaces as uncaught
	}
	free(r.v);
}

static void tsfn_finalize(napi_env env, void *data, void *hint)
{
	struct prober *p = data;
	p->tsfn_gone = true;
	maybe_free(p);
}

// Stops the thread (in-flight probes end with ECANCELED, not reported) and releases the callback.
static void prober_stop(napi_env env, struct prober *p)
{
	if (p->closed)
		return;
	p->closed = true;
	if (p->thread_started) {
		pthread_mutex_lock(&p->lock);
		p->stop = true;
		pthread_mutex_unlock(&p->lock);
		uint64_t one = 1;
		if (write(p->evfd, &one, sizeof(one)) < 0) { /* the counter cannot overflow here */ }
		pthread_join(p->thread, NULL);
	}
	close(p->epfd);
	close(p->evfd);
	if (p->callback) {
		napi_delete_reference(env, p->callback);
		p->callback = NULL;
	}
	if (p->tsfn)
		napi_release_threadsafe_function(p->tsfn, napi_tsfn_abort);
	else
		p->tsfn_gone = true;
}

static void prober_finalize(napi_env env, void *data, void *hint)
{
	struct prober *p = data;
	prober_stop(env, p);
	p->wrapper_gone = true;
	maybe_free(p);
}

static struct prober *prober_get(napi_env env, napi_value v)
{
	struct prober *p = unwrap_tagged(env, v, &PROBER_TAG);
	if (!p) {
		throw_type_error(env, "prober must be a prober handle");
		return NULL;
	}
	if (p->closed) {
		throw_state_error(env, EBADF, "prober is closed");
		return NULL;
	}
	return p;
}

// proberNew(callback(results: Int32Array)) → handle. The thread starts at once; it does not keep
// the process alive unless proberRef(handle, true).
static napi_value js_prober_new(napi_env env, napi_callback_info info)
{
	napi_value argv[1], obj, name;
	if (!get_args(env, info, 1, argv) || !get_function_arg(env, argv[0], "callback"))
		return NULL;
	struct prober *p = calloc(1, sizeof(*p));
	if (!p) {
		throw_errno(env, ENOMEM, NULL, "prober");
		return NULL;
	}
	pthread_mutex_init(&p->lock, NULL);
	p->inflight.next = p->inflight.prev = &p->inflight;
	p->min_deadline_ns = UINT64_MAX;
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	p->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int err = errno;
	if (p->epfd < 0 || p->evfd < 0) {
		if (p->epfd >= 0)
			close(p->epfd);
		if (p->evfd >= 0)
			close(p->evfd);
		pthread_mutex_destroy(&p->lock);
		free(p);
		throw_errno(env, err, NULL, "prober: epoll/eventfd");
		return NULL;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->evfd, &ev);
	if (napi_create_object(env, &obj) != napi_ok || napi_type_tag_object(env, obj, &PROBER_TAG) != napi_ok ||
	    napi_wrap(env, obj, p, prober_finalize, NULL, NULL) != napi_ok) {
		close(p->epfd);
		close(p->evfd);
		pthread_mutex_destroy(&p->lock);
		free(p);
		napi_throw_last_status(env, "wrap prober");
		return NULL;
	}
	// From here on the wrapper owns p.
	p->tsfn_gone = true;  // until the function exists
	napi_create_reference(env, argv[0], 1, &p->callback);
	if (napi_create_string_utf8(env, "libbpf-ts:prober", NAPI_AUTO_LENGTH, &name) != napi_ok ||
	    napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, p, tsfn_finalize, p, call_js, &p->tsfn) != napi_ok) {
		p->tsfn = NULL;
		prober_stop(env, p);
		napi_throw_last_status(env, "prober threadsafe function");
		return NULL;
	}
	p->tsfn_gone = false;
	napi_unref_threadsafe_function(env, p->tsfn);
	err = pthread_create(&p->thread, NULL, prober_thread, p);
	if (err) {
		prober_stop(env, p);
		throw_errno(env, err, NULL, "prober thread");
		return NULL;
	}
	p->thread_started = true;
	pthread_setname_np(p->thread, "xlb-prober");  // its CPU shows apart in /proc/PID/task
	return obj;
}

// proberSubmit(handle, ids: Uint32Array, localPorts: Uint16Array, templates: Buffer[]) → count.
// Everything is validated before anything is queued.
static napi_value js_prober_submit(napi_env env, napi_callback_info info)
{
	napi_value argv[4];
	if (!get_args(env, info, 4, argv))
		return NULL;
	struct prober *p = prober_get(env, argv[0]);
	if (!p)
		return NULL;
	napi_typedarray_type t1, t2;
	size_t n_ids, n_ports;
	void *ids_v, *ports_v;
	bool is_ta = false, is_arr = false;
	if (napi_is_typedarray(env, argv[1], &is_ta) != napi_ok || !is_ta ||
	    napi_get_typedarray_info(env, argv[1], &t1, &n_ids, &ids_v, NULL, NULL) != napi_ok || t1 != napi_uint32_array) {
		throw_type_error(env, "ids must be a Uint32Array");
		return NULL;
	}
	if (napi_is_typedarray(env, argv[2], &is_ta) != napi_ok || !is_ta ||
	    napi_get_typedarray_info(env, argv[2], &t2, &n_ports, &ports_v, NULL, NULL) != napi_ok || t2 != napi_uint16_array ||
	    n_ports < n_ids) {
		throw_type_error(env, "localPorts must be a Uint16Array as long as ids");
		return NULL;
	}
	uint32_t n_templates = 0;
	if (napi_is_array(env, argv[3], &is_arr) != napi_ok || !is_arr || napi_get_array_length(env, argv[3], &n_templates) != napi_ok ||
	    n_templates < n_ids) {
		throw_type_error(env, "templates must be an array of Buffers as long as ids");
		return NULL;
	}
	const uint32_t *ids = ids_v;
	const uint16_t *ports = ports_v;
	struct probe **made = calloc(n_ids ? n_ids : 1, sizeof(*made));
	if (!made) {
		throw_errno(env, ENOMEM, NULL, "prober submit");
		return NULL;
	}
	uint64_t now = now_ns();
	size_t i;
	for (i = 0; i < n_ids; i++) {
		napi_value el;
		uint8_t *t;
		size_t len;
		if (napi_get_element(env, argv[3], (uint32_t)i, &el) != napi_ok || !get_buffer_arg(env, el, "template", (void **)&t, &len))
			break;
		uint32_t payload_len = len >= TEMPLATE_HEADER ? *(uint32_t *)(t + 24) : 0;
		if (len < TEMPLATE_HEADER || len != TEMPLATE_HEADER + (size_t)payload_len || t[0] < KIND_TCP || t[0] > KIND_UDP ||
		    (t[1] != 4 && t[1] != 6)) {
			throw_range_error(env, "templates[%zu]: not a probe template", i);
			break;
		}
		struct probe *q = malloc(sizeof(*q) + payload_len);
		if (!q) {
			throw_errno(env, ENOMEM, NULL, "prober submit");
			break;
		}
		q->id = ids[i];
		q->kind = t[0];
		q->family = t[1];
		memcpy(&q->port, t + 2, 2);
		uint32_t timeout_ms;
		memcpy(&timeout_ms, t + 4, 4);
		memcpy(q->addr, t + 8, 16);
		q->payload_len = payload_len;
		memcpy(q->payload, t + TEMPLATE_HEADER, payload_len);
		q->local_port = ports[i];
		q->deadline_ns = now + (uint64_t)timeout_ms * 1000000ULL;
		q->fd = -1;
		q->sent = q->head_len = 0;
		q->state = ST_CONNECTING;
		made[i] = q;
	}
	if (i < n_ids) {
		for (size_t j = 0; j < i; j++)
			free(made[j]);
		free(made);
		return NULL;
	}
	pthread_mutex_lock(&p->lock);
	if (p->n_submitted + n_ids > p->cap_submitted) {
		size_t cap = p->cap_submitted ? p->cap_submitted : 256;
		while (cap < p->n_submitted + n_ids)
			cap *= 2;
		struct probe **s = realloc(p->submitted, cap * sizeof(*s));
		if (!s) {
			pthread_mutex_unlock(&p->lock);
			for (size_t j = 0; j < n_ids; j++)
				free(made[j]);
			free(made);
			throw_errno(env, ENOMEM, NULL, "prober submit");
			return NULL;
		}
		p->submitted = s;
		p->cap_submitted = cap;
	}
	memcpy(p->submitted + p->n_submitted, made, n_ids * sizeof(*made));
	p->n_submitted += n_ids;
	bool wake = n_ids && !p->woken;
	if (wake)
		p->woken = true;
	pthread_mutex_unlock(&p->lock);
	free(made);
	if (wake) {
		uint64_t one = 1;
		if (write(p->evfd, &one, sizeof(one)) < 0) { /* counter full: the thread is awake anyway */ }
	}
	return make_u32(env, (uint32_t)n_ids);
}

// proberRef(handle, bool): a referenced prober keeps the process alive (while probes are out).
static napi_value js_prober_ref(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	bool ref = false;
	if (!get_args(env, info, 2, argv))
		return NULL;
	struct prober *p = prober_get(env, argv[0]);
	if (!p)
		return NULL;
	napi_get_value_bool(env, argv[1], &ref);
	if (ref)
		napi_ref_threadsafe_function(env, p->tsfn);
	else
		napi_unref_threadsafe_function(env, p->tsfn);
	return make_undefined(env);
}

static napi_value js_prober_stats(napi_env env, napi_callback_info info)
{
	napi_value argv[1], r;
	if (!get_args(env, info, 1, argv))
		return NULL;
	struct prober *p = prober_get(env, argv[0]);
	if (!p)
		return NULL;
	NAPI_TRY(env, napi_create_object(env, &r));
	set_prop(env, r, "delivered", make_double(env, (double)p->delivered));
	set_prop(env, r, "batches", make_double(env, (double)p->batches));
	return r;
}

static napi_value js_prober_close(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	if (!get_args(env, info, 1, argv))
		return NULL;
	struct prober *p = unwrap_tagged(env, argv[0], &PROBER_TAG);
	if (p)
		prober_stop(env, p);
	return make_undefined(env);
}

void prober_exports(napi_env env, napi_value exports)
{
	static const struct export_entry fns[] = {
		{ "proberNew", js_prober_new },
		{ "proberSubmit", js_prober_submit },
		{ "proberRef", js_prober_ref },
		{ "proberStats", js_prober_stats },
		{ "proberClose", js_prober_close },
	};
	export_functions(env, exports, fns, ARRAY_LEN(fns));
}
