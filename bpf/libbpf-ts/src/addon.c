// libbpf-ts native addon entry: registers every area's functions on the module exports.
// The only consumer is ../index.ts, which wraps these raw functions in typed classes.
#include "common.h"

static napi_value js_set_error_class(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	if (!get_args(env, info, 1, argv) || !get_function_arg(env, argv[0], "BpfError"))
		return NULL;
	if (!errors_set_class(env, argv[0]))
		napi_throw_last_status(env, "setErrorClass");
	return make_undefined(env);
}

static napi_value init(napi_env env, napi_value exports)
{
	errors_install_print();
	static const struct export_entry fns[] = {
		{ "setErrorClass", js_set_error_class },
	};
	export_functions(env, exports, fns, ARRAY_LEN(fns));
	fd_handle_exports(env, exports);
	object_exports(env, exports);
	map_ops_exports(env, exports);
	map_batch_exports(env, exports);
	map_mmap_exports(env, exports);
	prog_ops_exports(env, exports);
	prog_loop_exports(env, exports);
	netlink_exports(env, exports);
	ringbuf_exports(env, exports);
	capture_ring_exports(env, exports);
	dir_lock_exports(env, exports);
	prober_exports(env, exports);
	return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
