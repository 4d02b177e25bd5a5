// Attachment through netlink: XDP (bpf_xdp_*), tc clsact (bpf_tc_*), plus interface lookup and
// running a synchronous JS function inside another network namespace.
#include "common.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// libbpf reports the kernel's netlink extack text ("Active program does not match expected")
// through its print callback; fold it into the error message.
// Ends an operation's log capture. On error (a negative errno from libbpf) throws with the
// operation's description (printf-style, formatted only then) and the captured libbpf log.
// Returns whether the operation succeeded.
static bool netlink_done(napi_env env, int err, struct log_capture *cap, const char *fmt, ...)
{
	if (err) {
		char what[160];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(what, sizeof(what), fmt, ap);
		va_end(ap);
		char *detail = log_flatten(cap->text);
		throw_errno(env, -err, detail, "%s", what);
		free(detail);
	}
	log_capture_free(cap);
	return !err;
}

static bool xdp_mode_arg(napi_env env, napi_value v, uint32_t *flags)
{
	char *s = get_string_arg(env, v, "mode");
	if (!s)
		return false;
	bool ok = true;
	if (!strcmp(s, "native"))
		*flags = XDP_FLAGS_DRV_MODE;
	else if (!strcmp(s, "generic"))
		*flags = XDP_FLAGS_SKB_MODE;
	else if (!strcmp(s, "offload"))
		*flags = XDP_FLAGS_HW_MODE;
	else {
		throw_type_error(env, "mode must be 'native', 'generic' or 'offload', got '%s'", s);
		ok = false;
	}
	free(s);
	return ok;
}

// The kernel compares program identity by fd; an expected program id becomes an fd first.
static bool expected_prog_fd(napi_env env, napi_value v, const char *op, uint32_t ifindex, int *fd)
{
	uint32_t id = 0;
	*fd = -1;
	if (is_nullish(env, v))
		return true;
	if (!get_u32_arg(env, v, "expected program id", &id))
		return false;
	*fd = bpf_prog_get_fd_by_id(id);
	if (*fd < 0) {
		throw_errno(env, errno, "the expected program is not loaded any more", "%s ifindex %u: expected program id %u", op,
			    ifindex, id);
		return false;
	}
	return true;
}

// xdpAttach(ifindex, prog, mode, replaceProgId|null, noReplace)
static napi_value js_xdp_attach(napi_env env, napi_callback_info info)
{
	napi_value argv[5];
	uint32_t ifindex, flags;
	int old_fd;
	bool no_replace = false;
	if (!get_args(env, info, 5, argv) || !get_u32_arg(env, argv[0], "ifindex", &ifindex))
		return NULL;
	struct fd_handle *p = fd_handle_get(env, argv[1], FD_PROG, "program");
	if (!p || !xdp_mode_arg(env, argv[2], &flags))
		return NULL;
	if (!is_nullish(env, argv[4]))
		napi_get_value_bool(env, argv[4], &no_replace);
	if (!expected_prog_fd(env, argv[3], "xdp attach", ifindex, &old_fd))
		return NULL;
	if (old_fd >= 0)
		flags |= XDP_FLAGS_REPLACE;
	if (no_replace)
		flags |= XDP_FLAGS_UPDATE_IF_NOEXIST;
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = old_fd >= 0 ? old_fd : 0);
	struct log_capture cap;
	log_capture_begin(&cap);
	int err = bpf_xdp_attach((int)ifindex, p->fd, flags, &opts);
	log_capture_end(&cap);
	if (old_fd >= 0)
		close(old_fd);
	if (!netlink_done(env, err, &cap, "xdp attach program \"%s\" to ifindex %u", p->name, ifindex))
		return NULL;
	return make_undefined(env);
}

// xdpDetach(ifindex, mode, expectedProgId|null)
static napi_value js_xdp_detach(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	uint32_t ifindex, flags;
	int old_fd;
	if (!get_args(env, info, 3, argv) || !get_u32_arg(env, argv[0], "ifindex", &ifindex) ||
	    !xdp_mode_arg(env, argv[1], &flags) || !expected_prog_fd(env, argv[2], "xdp detach", ifindex, &old_fd))
		return NULL;
	if (old_fd >= 0)
		flags |= XDP_FLAGS_REPLACE;
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = old_fd >= 0 ? old_fd : 0);
	struct log_capture cap;
	log_capture_begin(&cap);
	int err = bpf_xdp_detach((int)ifindex, flags, &opts);
	log_capture_end(&cap);
	if (old_fd >= 0)
		close(old_fd);
	if (!netlink_done(env, err, &cap, "xdp detach from ifindex %u", ifindex))
		return NULL;
	return make_undefined(env);
}

static napi_value js_xdp_query(napi_env env, napi_callback_info info)
{
	napi_value argv[1], r;
	uint32_t ifindex;
	if (!get_args(env, info, 1, argv) || !get_u32_arg(env, argv[0], "ifindex", &ifindex))
		return NULL;
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct log_capture cap;
	log_capture_begin(&cap);
	int err = bpf_xdp_query((int)ifindex, 0, &q);
	log_capture_end(&cap);
	if (!netlink_done(env, err, &cap, "xdp query ifindex %u", ifindex))
		return NULL;
	const char *mode = "none";
	switch (q.attach_mode) {
	case XDP_ATTACHED_DRV: mode = "native"; break;
	case XDP_ATTACHED_SKB: mode = "generic"; break;
	case XDP_ATTACHED_HW: mode = "offload"; break;
	case XDP_ATTACHED_MULTI: mode = "multi"; break;
	}
	uint32_t id = q.prog_id ? q.prog_id : q.drv_prog_id ? q.drv_prog_id : q.skb_prog_id ? q.skb_prog_id : q.hw_prog_id;
	NAPI_TRY(env, napi_create_object(env, &r));
	set_prop(env, r, "progId", make_u32(env, id));
	set_prop(env, r, "mode", make_string(env, mode));
	set_prop(env, r, "nativeProgId", make_u32(env, q.drv_prog_id));
	set_prop(env, r, "genericProgId", make_u32(env, q.skb_prog_id));
	set_prop(env, r, "offloadProgId", make_u32(env, q.hw_prog_id));
	return r;
}

/* ---- tc clsact ------------------------------------------------------------------------------- */

static bool tc_args(napi_env env, napi_value *argv, struct bpf_tc_hook *hook, struct bpf_tc_opts *opts)
{
	uint32_t ifindex, handle = 1, priority = 1;
	if (!get_u32_arg(env, argv[0], "ifindex", &ifindex))
		return false;
	char *dir = get_string_arg(env, argv[1], "direction");
	if (!dir)
		return false;
	enum bpf_tc_attach_point point = !strcmp(dir, "ingress") ? BPF_TC_INGRESS : !strcmp(dir, "egress") ? BPF_TC_EGRESS : 0;
	if (!point) {
		throw_type_error(env, "direction must be 'ingress' or 'egress', got '%s'", dir);
		free(dir);
		return false;
	}
	free(dir);
	if ((!is_nullish(env, argv[2]) && !get_u32_arg(env, argv[2], "handle", &handle)) ||
	    (!is_nullish(env, argv[3]) && !get_u32_arg(env, argv[3], "priority", &priority)))
		return false;
	if (handle == 0 || priority == 0 || priority > 0xffff) {
		throw_range_error(env, "handle must be >= 1 and priority in [1, 65535]");
		return false;
	}
	memset(hook, 0, sizeof(*hook));
	hook->sz = sizeof(*hook);
	hook->ifindex = (int)ifindex;
	hook->attach_point = point;
	memset(opts, 0, sizeof(*opts));
	opts->sz = sizeof(*opts);
	opts->handle = handle;
	opts->priority = priority;
	return true;
}

static void tc_what(char *buf, size_t n, const char *op, const struct bpf_tc_hook *hook, const struct bpf_tc_opts *o)
{
	snprintf(buf, n, "tc %s ifindex %d %s (handle %u, priority %u)", op, hook->ifindex,
		 hook->attach_point == BPF_TC_INGRESS ? "ingress" : "egress", o->handle, o->priority);
}

static bool tc_done(napi_env env, int err, struct log_capture *cap, const char *op,
		    const struct bpf_tc_hook *hook, const struct bpf_tc_opts *opts)
{
	char what[160] = "";
	if (err)
		tc_what(what, sizeof(what), op, hook, opts);
	return netlink_done(env, err, cap, "%s", what);
}

// tcAttach(ifindex, direction, handle|null, priority|null, prog) → attached program id.
// Creates the clsact qdisc if missing; replaces whatever filter sits at the same handle/priority.
static napi_value js_tc_attach(napi_env env, napi_callback_info info)
{
	napi_value argv[5];
	struct bpf_tc_hook hook;
	struct bpf_tc_opts opts;
	if (!get_args(env, info, 5, argv) || !tc_args(env, argv, &hook, &opts))
		return NULL;
	struct fd_handle *p = fd_handle_get(env, argv[4], FD_PROG, "program");
	if (!p)
		return NULL;
	struct log_capture cap;
	log_capture_begin(&cap);
	int err = bpf_tc_hook_create(&hook);
	if (err == -EEXIST)
		err = 0;
	if (!err) {
		opts.prog_fd = p->fd;
		opts.flags = BPF_TC_F_REPLACE;
		err = bpf_tc_attach(&hook, &opts);
	}
	log_capture_end(&cap);
	if (!tc_done(env, err, &cap, "attach", &hook, &opts))
		return NULL;
	return make_u32(env, opts.prog_id);
}

static napi_value js_tc_detach(napi_env env, napi_callback_info info)
{
	napi_value argv[4];
	struct bpf_tc_hook hook;
	struct bpf_tc_opts opts;
	if (!get_args(env, info, 4, argv) || !tc_args(env, argv, &hook, &opts))
		return NULL;
	struct log_capture cap;
	log_capture_begin(&cap);
	int err = bpf_tc_detach(&hook, &opts);
	log_capture_end(&cap);
	if (!tc_done(env, err, &cap, "detach", &hook, &opts))
		return NULL;
	return make_undefined(env);
}

// tcQuery(...) → program id, or 0 when no filter sits at that handle/priority (or no clsact).
static napi_value js_tc_query(napi_env env, napi_callback_info info)
{
	napi_value argv[4];
	struct bpf_tc_hook hook;
	struct bpf_tc_opts opts;
	if (!get_args(env, info, 4, argv) || !tc_args(env, argv, &hook, &opts))
		return NULL;
	struct log_capture cap;
	log_capture_begin(&cap);
	int err = bpf_tc_query(&hook, &opts);
	log_capture_end(&cap);
	if (err == -ENOENT || err == -EINVAL) {  // EINVAL: no clsact qdisc on the device
		log_capture_free(&cap);
		return make_u32(env, 0);
	}
	if (!tc_done(env, err, &cap, "query", &hook, &opts))
		return NULL;
	return make_u32(env, opts.prog_id);
}

// tcHookDestroy(ifindex): removes the clsact qdisc and with it every tc filter on both directions.
static napi_value js_tc_hook_destroy(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	uint32_t ifindex;
	if (!get_args(env, info, 1, argv) || !get_u32_arg(env, argv[0], "ifindex", &ifindex))
		return NULL;
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifindex, .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	struct log_capture cap;
	log_capture_begin(&cap);
	int err = bpf_tc_hook_destroy(&hook);
	log_capture_end(&cap);
	bool absent = err == -ENOENT || err == -EINVAL;  // EINVAL: no clsact qdisc on the device
	if (!netlink_done(env, absent ? 0 : err, &cap, "tc clsact destroy ifindex %u", ifindex))
		return NULL;
	return make_bool(env, err == 0);
}

/* ---- interfaces and namespaces --------------------------------------------------------------- */

static napi_value js_if_name_to_index(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	if (!get_args(env, info, 1, argv))
		return NULL;
	char *name = get_string_arg(env, argv[0], "interface name");
	if (!name)
		return NULL;
	unsigned idx = if_nametoindex(name);
	napi_value r = NULL;
	if (!idx)
		throw_errno(env, errno, NULL, "interface \"%s\"", name);
	else
		r = make_u32(env, idx);
	free(name);
	return r;
}

// withNetns(path, fn): setns() affects only the calling thread, which is the JS thread running fn;
// libuv's worker threads stay where they are. fn must therefore be synchronous.
static napi_value js_with_netns(napi_env env, napi_callback_info info)
{
	napi_value argv[2], global, result = NULL;
	if (!get_args(env, info, 2, argv))
		return NULL;
	char *path = get_string_arg(env, argv[0], "nsPath");
	if (!path || !get_function_arg(env, argv[1], "fn")) {
		free(path);
		return NULL;
	}
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int target = open(path, O_RDONLY | O_CLOEXEC);
	if (self < 0 || target < 0) {
		throw_errno(env, errno, NULL, "withNetns: open \"%s\"", self < 0 ? "/proc/thread-self/ns/net" : path);
		goto out;
	}
	if (setns(target, CLONE_NEWNET)) {
		throw_errno(env, errno, NULL, "withNetns: enter \"%s\"", path);
		goto out;
	}
	napi_get_global(env, &global);
	napi_status st = napi_call_function(env, global, argv[1], 0, NULL, &result);
	if (setns(self, CLONE_NEWNET))  // staying in the wrong namespace would silently misroute everything
		napi_fatal_error("libbpf-ts withNetns", NAPI_AUTO_LENGTH, "cannot return to the original network namespace",
				 NAPI_AUTO_LENGTH);
	if (st != napi_ok) {
		result = NULL;  // fn threw: its exception stays pending and propagates
		goto out;
	}
	bool is_promise = false;
	napi_is_promise(env, result, &is_promise);
	if (is_promise) {
		throw_type_error(env, "withNetns: fn returned a Promise; only its synchronous part ran inside \"%s\"", path);
		result = NULL;
	}
out:
	if (self >= 0)
		close(self);
	if (target >= 0)
		close(target);
	free(path);
	return result;
}

void netlink_exports(napi_env env, napi_value exports)
{
	static const struct export_entry fns[] = {
		{ "xdpAttach", js_xdp_attach },
		{ "xdpDetach", js_xdp_detach },
		{ "xdpQuery", js_xdp_query },
		{ "tcAttach", js_tc_attach },
		{ "tcDetach", js_tc_detach },
		{ "tcQuery", js_tc_query },
		{ "tcHookDestroy", js_tc_hook_destroy },
		{ "ifNameToIndex", js_if_name_to_index },
		{ "withNetns", js_with_netns },
	};
	export_functions(env, exports, fns, ARRAY_LEN(fns));
}
