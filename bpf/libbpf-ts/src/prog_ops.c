// Program operations: BPF_PROG_TEST_RUN, and BPF links (XDP link create, update, detach).
#include "common.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <linux/if_link.h>
#include <stdlib.h>
#include <string.h>

// progTestRun(prog, data|null, dataOutSize, ctx|null, ctxOutSize, repeat, flags, cpu)
//   → { retval, data?: Buffer, ctx?: Buffer, durationNs }
static napi_value js_prog_test_run(napi_env env, napi_callback_info info)
{
	napi_value argv[8], r;
	void *data = NULL, *ctx = NULL;
	size_t data_len = 0, ctx_len = 0;
	uint32_t data_out_size = 0, ctx_out_size = 0, repeat = 1, flags = 0, cpu = 0;
	if (!get_args(env, info, 8, argv))
		return NULL;
	struct fd_handle *h = fd_handle_get(env, argv[0], FD_PROG, "program");
	if (!h)
		return NULL;
	if (!is_nullish(env, argv[1]) && !get_buffer_arg(env, argv[1], "data", &data, &data_len))
		return NULL;
	if (!is_nullish(env, argv[2]) && !get_u32_arg(env, argv[2], "dataOutSize", &data_out_size))
		return NULL;
	if (!is_nullish(env, argv[3]) && !get_buffer_arg(env, argv[3], "ctx", &ctx, &ctx_len))
		return NULL;
	if (!is_nullish(env, argv[4]) && !get_u32_arg(env, argv[4], "ctxOutSize", &ctx_out_size))
		return NULL;
	if (!is_nullish(env, argv[5]) && !get_u32_arg(env, argv[5], "repeat", &repeat))
		return NULL;
	if (!is_nullish(env, argv[6]) && !get_u32_arg(env, argv[6], "flags", &flags))
		return NULL;
	if (!is_nullish(env, argv[7]) && !get_u32_arg(env, argv[7], "cpu", &cpu))
		return NULL;
	if (repeat > INT32_MAX) {
		throw_range_error(env, "repeat must be at most %d", INT32_MAX);
		return NULL;
	}
	void *data_out = data_out_size ? malloc(data_out_size) : NULL;
	void *ctx_out = ctx_out_size ? malloc(ctx_out_size) : NULL;
	if ((data_out_size && !data_out) || (ctx_out_size && !ctx_out)) {
		free(data_out);
		free(ctx_out);
		throw_errno(env, ENOMEM, NULL, "program \"%s\" test run", h->name);
		return NULL;
	}
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = data, .data_size_in = (uint32_t)data_len, .data_out = data_out,
		    .data_size_out = data_out_size, .ctx_in = ctx, .ctx_size_in = (uint32_t)ctx_len, .ctx_out = ctx_out,
		    .ctx_size_out = ctx_out_size, .repeat = (int)repeat, .flags = flags, .cpu = cpu);
	napi_value result = NULL;
	if (bpf_prog_test_run_opts(h->fd, &o)) {
		int e = errno;
		if (e == ENOSPC)
			throw_errno(env, e, "output needs more room than dataOutSize/ctxOutSize", "program \"%s\" test run (data out %u of %u bytes)",
				    h->name, o.data_size_out, data_out_size);
		else
			throw_errno(env, e, NULL, "program \"%s\" test run", h->name);
		goto out;
	}
	if (napi_create_object(env, &r) != napi_ok)
		goto out;
	set_prop(env, r, "retval", make_u32(env, o.retval));
	set_prop(env, r, "durationNs", make_u32(env, o.duration));
	if (data_out)
		set_prop(env, r, "data", make_buffer_copy(env, data_out, o.data_size_out < data_out_size ? o.data_size_out : data_out_size));
	if (ctx_out)
		set_prop(env, r, "ctx", make_buffer_copy(env, ctx_out, o.ctx_size_out < ctx_out_size ? o.ctx_size_out : ctx_out_size));
	result = r;
out:
	free(data_out);
	free(ctx_out);
	return result;
}

// linkCreateXdp(prog, ifindex, xdpFlags) → link handle. The attachment lives as long as the link
// (fd or bpffs pin); unlike netlink attachment it cannot be replaced by someone else by accident.
static napi_value js_link_create_xdp(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	uint32_t ifindex, flags = 0;
	if (!get_args(env, info, 3, argv))
		return NULL;
	struct fd_handle *p = fd_handle_get(env, argv[0], FD_PROG, "program");
	if (!p || !get_u32_arg(env, argv[1], "ifindex", &ifindex) ||
	    (!is_nullish(env, argv[2]) && !get_u32_arg(env, argv[2], "flags", &flags)))
		return NULL;
	LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = flags);
	int fd = bpf_link_create(p->fd, (int)ifindex, BPF_XDP, &opts);
	if (fd < 0) {
		throw_errno(env, errno, NULL, "xdp link program \"%s\" on ifindex %u", p->name, ifindex);
		return NULL;
	}
	return fd_handle_wrap(env, fd, FD_LINK, NULL);
}

// linkUpdate(link, newProg, expectedOldProg|null): atomic program replacement behind a link.
static napi_value js_link_update(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	if (!get_args(env, info, 3, argv))
		return NULL;
	struct fd_handle *l = fd_handle_get(env, argv[0], FD_LINK, "link");
	struct fd_handle *p = l ? fd_handle_get(env, argv[1], FD_PROG, "program") : NULL;
	if (!p)
		return NULL;
	struct fd_handle *old = NULL;
	if (!is_nullish(env, argv[2]) && !(old = fd_handle_get(env, argv[2], FD_PROG, "expected")))
		return NULL;
	LIBBPF_OPTS(bpf_link_update_opts, opts, .flags = old ? BPF_F_REPLACE : 0, .old_prog_fd = old ? (uint32_t)old->fd : 0);
	if (bpf_link_update(l->fd, p->fd, &opts))
		throw_errno(env, errno, NULL, "%s update to program \"%s\"", l->name, p->name);
	return make_undefined(env);
}

static napi_value js_link_detach(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	if (!get_args(env, info, 1, argv))
		return NULL;
	struct fd_handle *l = fd_handle_get(env, argv[0], FD_LINK, "link");
	if (l && bpf_link_detach(l->fd))
		throw_errno(env, errno, NULL, "%s detach", l->name);
	return make_undefined(env);
}

void prog_ops_exports(napi_env env, napi_value exports)
{
	static const struct export_entry fns[] = {
		{ "progTestRun", js_prog_test_run },
		{ "linkCreateXdp", js_link_create_xdp },
		{ "linkUpdate", js_link_update },
		{ "linkDetach", js_link_detach },
	};
	export_functions(env, exports, fns, ARRAY_LEN(fns));
}
