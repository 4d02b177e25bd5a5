// Shared declarations of the libbpf-ts addon. Every exported function validates its arguments
// before touching the kernel, so a TypeError means nothing changed.
#ifndef LIBBPF_TS_COMMON_H
#define LIBBPF_TS_COMMON_H

#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- napi_util.c: argument and value helpers ---------------------------------------------- */

// Bail out of a napi callback when a N-API call fails (an exception is then pending).
#define NAPI_TRY(env, call)                                   \
	do {                                                      \
		if ((call) != napi_ok) {                              \
			napi_throw_last_status((env), #call);             \
			return NULL;                                      \
		}                                                     \
	} while (0)

#define MAX_ARGS 10

void napi_throw_last_status(napi_env env, const char *what);
// Fetch exactly up to `n` arguments; missing ones are `undefined`.
bool get_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv);
bool is_nullish(napi_env env, napi_value v);
bool get_u32_arg(napi_env env, napi_value v, const char *argname, uint32_t *out);
bool get_i32_arg(napi_env env, napi_value v, const char *argname, int32_t *out);
bool get_u64_arg(napi_env env, napi_value v, const char *argname, uint64_t *out);
// Returns malloc'd UTF-8 string; caller frees.
char *get_string_arg(napi_env env, napi_value v, const char *argname);
bool get_buffer_arg(napi_env env, napi_value v, const char *argname, void **data, size_t *len);
bool get_function_arg(napi_env env, napi_value v, const char *argname);
// The native struct behind a handle object made with `tag`; NULL (nothing thrown) for anything else.
void *unwrap_tagged(napi_env env, napi_value v, const napi_type_tag *tag);

napi_value make_u32(napi_env env, uint32_t v);
napi_value make_i64(napi_env env, int64_t v);
napi_value make_double(napi_env env, double v);
napi_value make_bool(napi_env env, bool v);
napi_value make_string(napi_env env, const char *s);
napi_value make_undefined(napi_env env);
napi_value make_buffer_copy(napi_env env, const void *data, size_t len);
bool set_prop(napi_env env, napi_value obj, const char *name, napi_value v);

struct export_entry {
	const char *name;
	napi_callback fn;
};
bool export_functions(napi_env env, napi_value exports, const struct export_entry *list, size_t n);

/* ---- errors.c: BpfError construction and libbpf log capture ---------------------------------- */

// Registers the JS BpfError class (constructor(message, code, errno, verifierLog?)).
bool errors_set_class(napi_env env, napi_value ctor);
// Throws BpfError: message "<what>: <ENAME> (<strerror>)[: detail]". err is a positive errno.
void throw_errno(napi_env env, int err, const char *detail, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
// As throw_errno, with a verifier log attached (.verifierLog).
void throw_errno_log(napi_env env, int err, const char *detail, const char *verifier_log, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void throw_type_error(napi_env env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void throw_range_error(napi_env env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// BpfError with code = errno name but a message that is complete as given (no strerror appended):
// for state errors such as "map \"x\" is closed" (EBADF) or "object already loaded" (EBUSY).
void throw_state_error(napi_env env, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *errno_name(int err);

// libbpf prints warnings through one global callback. While a capture is active, warnings are
// collected (they carry the verifier log and netlink extack messages) instead of going to stderr.
struct log_capture {
	char *text;
	size_t len, cap;
	struct log_capture *outer;
};
void log_capture_begin(struct log_capture *c);
void log_capture_end(struct log_capture *c);  // stops capturing, keeps text
void log_capture_free(struct log_capture *c);
// Split a capture into the kernel's verifier log (malloc'd or NULL) and libbpf's own lines (malloc'd).
void log_capture_split(const struct log_capture *c, char **verifier_log, char **libbpf_lines);
void errors_install_print(void);
// Captured libbpf text as one line without "libbpf: " prefixes (malloc'd).
char *log_flatten(const char *text);

/* ---- fd_handle.c: one wrapped kernel object (map, program or link fd) ------------------------ */

enum fd_kind { FD_MAP = 1, FD_PROG = 2, FD_LINK = 3 };

struct fd_handle {
	int fd;  // -1 once closed
	enum fd_kind kind;
	char name[64];
	// maps only: cached at open so every buffer can be checked without a syscall
	uint32_t map_type, key_size, value_size, max_entries, map_flags;
	bool per_cpu;
	uint32_t value_stride;  // bytes one lookup returns: value_size, or round_up(value_size, 8) * cpus
};

const char *kind_name(enum fd_kind kind);
// Wraps an fd the handle now owns (closed on close() or by the finalizer).
napi_value fd_handle_wrap(napi_env env, int fd, enum fd_kind kind, const char *name);
// Unwraps; kind 0 accepts any kind. Throws (TypeError or EBADF) and returns NULL on failure.
struct fd_handle *fd_handle_get(napi_env env, napi_value v, enum fd_kind kind, const char *argname);
int possible_cpus(void);
// Checks a key buffer against the map's key size (map_ops.c); throws TypeError naming "key".
bool map_key_arg(napi_env env, struct fd_handle *h, napi_value v, void **key);
void fd_handle_exports(napi_env env, napi_value exports);

/* ---- per-area exports ------------------------------------------------------------------------ */
void object_exports(napi_env env, napi_value exports);
void map_ops_exports(napi_env env, napi_value exports);
void map_batch_exports(napi_env env, napi_value exports);
void map_mmap_exports(napi_env env, napi_value exports);
void prog_ops_exports(napi_env env, napi_value exports);
void prog_loop_exports(napi_env env, napi_value exports);
void netlink_exports(napi_env env, napi_value exports);
void ringbuf_exports(napi_env env, napi_value exports);
void capture_ring_exports(napi_env env, napi_value exports);
void dir_lock_exports(napi_env env, napi_value exports);
void prober_exports(napi_env env, napi_value exports);

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
