// Errors thrown to JS, and capture of libbpf's printed warnings (verifier log, netlink extack).
#include "common.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef ENOTSUPP
#define ENOTSUPP 524  // kernel-internal "operation not supported", leaks out of the bpf() syscall
#endif

struct addon_state {
	napi_ref bpf_error_ctor;
};

static void state_finalize(napi_env env, void *data, void *hint)
{
	struct addon_state *st = data;
	if (st->bpf_error_ctor)
		napi_delete_reference(env, st->bpf_error_ctor);
	free(st);
}

bool errors_set_class(napi_env env, napi_value ctor)
{
	struct addon_state *st = NULL;
	napi_get_instance_data(env, (void **)&st);
	if (!st) {
		st = calloc(1, sizeof(*st));
		if (!st || napi_set_instance_data(env, st, state_finalize, NULL) != napi_ok)
			return false;
	}
	if (st->bpf_error_ctor)
		napi_delete_reference(env, st->bpf_error_ctor);
	return napi_create_reference(env, ctor, 1, &st->bpf_error_ctor) == napi_ok;
}

const char *errno_name(int err)
{
	static __thread char fallback[24];
	if (err == ENOTSUPP)
		return "ENOTSUPP";
	const char *name = strerrorname_np(err);
	if (name)
		return name;
	snprintf(fallback, sizeof(fallback), "E%d", err);
	return fallback;
}

static const char *errno_text(int err)
{
	if (err == ENOTSUPP)
		return "Operation not supported by this map or program type";
	return strerror(err);
}

static void throw_bpf_error(napi_env env, int err, const char *message, const char *verifier_log)
{
	struct addon_state *st = NULL;
	napi_value ctor = NULL, error = NULL;
	napi_get_instance_data(env, (void **)&st);
	if (st && st->bpf_error_ctor)
		napi_get_reference_value(env, st->bpf_error_ctor, &ctor);
	napi_value msg = make_string(env, message);
	napi_value code = make_string(env, errno_name(err));
	napi_value eno = make_u32(env, (uint32_t)err);
	napi_value vlog = verifier_log ? make_string(env, verifier_log) : make_undefined(env);
	if (ctor) {
		napi_value argv[4] = { msg, code, eno, vlog };
		napi_new_instance(env, ctor, 4, argv, &error);
	}
	if (!error) {  // class not registered yet (only during module init): plain Error with the same fields
		napi_create_error(env, code, msg, &error);
		set_prop(env, error, "errno", eno);
		if (verifier_log)
			set_prop(env, error, "verifierLog", vlog);
	}
	napi_throw(env, error);
}

static char *vformat(const char *fmt, va_list ap)
{
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

static void throw_errno_v(napi_env env, int err, const char *detail, const char *verifier_log,
			  const char *fmt, va_list ap)
{
	char *what = vformat(fmt, ap);
	char *msg = NULL;
	if (asprintf(&msg, "%s: %s (%s)%s%s", what ? what : "bpf", errno_name(err), errno_text(err),
		     detail && *detail ? ": " : "", detail && *detail ? detail : "") < 0)
		msg = NULL;
	throw_bpf_error(env, err, msg ? msg : "bpf operation failed", verifier_log);
	free(msg);
	free(what);
}

void throw_errno(napi_env env, int err, const char *detail, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	throw_errno_v(env, err, detail, NULL, fmt, ap);
	va_end(ap);
}

void throw_errno_log(napi_env env, int err, const char *detail, const char *verifier_log, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	throw_errno_v(env, err, detail, verifier_log, fmt, ap);
	va_end(ap);
}

void throw_state_error(napi_env env, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = vformat(fmt, ap);
	va_end(ap);
	throw_bpf_error(env, err, msg ? msg : "bpf state error", NULL);
	free(msg);
}

void throw_type_error(napi_env env, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = vformat(fmt, ap);
	va_end(ap);
	napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg ? msg : "invalid argument");
	free(msg);
}

void throw_range_error(napi_env env, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = vformat(fmt, ap);
	va_end(ap);
	napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg ? msg : "argument out of range");
	free(msg);
}

/* ---- libbpf print capture -------------------------------------------------------------------- */

// JS runs on one thread and every libbpf call is synchronous, so one active capture suffices;
// captures nest (an outer operation may call an inner one) through the `outer` link.
static struct log_capture *active_capture;
static int debug_level = -1;  // LIBBPF_TS_DEBUG=1 forwards libbpf's debug output to stderr

static void capture_append(struct log_capture *c, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n <= 0)
		return;
	if (c->len + (size_t)n + 1 > c->cap) {
		size_t cap = c->cap ? c->cap : 4096;
		while (cap < c->len + (size_t)n + 1)
			cap *= 2;
		char *t = realloc(c->text, cap);
		if (!t)
			return;
		c->text = t;
		c->cap = cap;
	}
	vsnprintf(c->text + c->len, (size_t)n + 1, fmt, ap);
	c->len += (size_t)n;
}

static int print_cb(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (debug_level < 0) {
		const char *e = getenv("LIBBPF_TS_DEBUG");
		debug_level = e && *e && strcmp(e, "0") != 0;
	}
	if (debug_level) {
		va_list ap2;
		va_copy(ap2, ap);
		vfprintf(stderr, fmt, ap2);
		va_end(ap2);
	}
	if (level == LIBBPF_DEBUG)
		return 0;
	if (active_capture) {
		capture_append(active_capture, fmt, ap);
		return 0;
	}
	if (!debug_level && level == LIBBPF_WARN)
		vfprintf(stderr, fmt, ap);
	return 0;
}

void errors_install_print(void)
{
	libbpf_set_print(print_cb);
}

void log_capture_begin(struct log_capture *c)
{
	memset(c, 0, sizeof(*c));
	c->outer = active_capture;
	active_capture = c;
}

void log_capture_end(struct log_capture *c)
{
	if (active_capture == c)
		active_capture = c->outer;
}

void log_capture_free(struct log_capture *c)
{
	log_capture_end(c);
	free(c->text);
	c->text = NULL;
	c->len = c->cap = 0;
}

static const char LOG_BEGIN[] = "-- BEGIN PROG LOAD LOG --\n";
static const char LOG_END[] = "-- END PROG LOAD LOG --";

// libbpf (1.x) prints a failed program's verifier log between these two markers.
void log_capture_split(const struct log_capture *c, char **verifier_log, char **libbpf_lines)
{
	*verifier_log = NULL;
	const char *text = c->text ? c->text : "";
	const char *b = strstr(text, LOG_BEGIN);
	const char *e = b ? strstr(b, LOG_END) : NULL;
	if (b && e) {
		const char *vb = b + strlen(LOG_BEGIN);
		*verifier_log = strndup(vb, (size_t)(e - vb));
		const char *after = e + strlen(LOG_END);
		if (*after == '\n')
			after++;
		// The marker line starts with libbpf's "prog 'x': " prefix: drop that whole line.
		const char *line = b;
		while (line > text && line[-1] != '\n')
			line--;
		if (asprintf(libbpf_lines, "%.*s%s", (int)(line - text), text, after) < 0)
			*libbpf_lines = NULL;
	} else {
		*libbpf_lines = strdup(text);
	}
}

// libbpf's printed lines as one line for an error message: "libbpf: " prefixes dropped, lines
// joined with "; ". Returns malloc'd text (empty if none).
char *log_flatten(const char *text)
{
	static const char prefix[] = "libbpf: ";
	size_t n = text ? strlen(text) : 0;
	char *out = malloc(2 * n + 1), *w = out;
	if (!out)
		return NULL;
	bool line_start = true;
	for (const char *r = text; r && *r; r++) {
		if (line_start && !strncmp(r, prefix, sizeof(prefix) - 1))
			r += sizeof(prefix) - 1;
		line_start = false;
		if (!*r)
			break;
		if (*r == '\n') {
			line_start = true;
			if (w > out && r[1])
				*w++ = ';', *w++ = ' ';
		} else {
			*w++ = *r;
		}
	}
	*w = 0;
	return out;
}
