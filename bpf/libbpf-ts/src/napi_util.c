// Small N-API helpers: argument checks that throw a TypeError naming the argument, value makers.
#include "common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void napi_throw_last_status(napi_env env, const char *what)
{
	bool pending = false;
	if (napi_is_exception_pending(env, &pending) == napi_ok && pending)
		return;
	const napi_extended_error_info *info = NULL;
	napi_get_last_error_info(env, &info);
	char msg[256];
	snprintf(msg, sizeof(msg), "libbpf-ts internal N-API failure in %s: %s", what,
		 info && info->error_message ? info->error_message : "unknown");
	napi_throw_error(env, "ERR_LIBBPF_TS_NAPI", msg);
}

bool get_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv)
{
	size_t argc = n;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
		napi_throw_last_status(env, "napi_get_cb_info");
		return false;
	}
	return true;
}

bool is_nullish(napi_env env, napi_value v)
{
	napi_valuetype t;
	if (v == NULL || napi_typeof(env, v, &t) != napi_ok)
		return true;
	return t == napi_undefined || t == napi_null;
}

static bool get_integer(napi_env env, napi_value v, const char *argname, double lo, double hi, double *out)
{
	napi_valuetype t;
	if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) {
		throw_type_error(env, "%s must be a number", argname);
		return false;
	}
	double d;
	napi_get_value_double(env, v, &d);
	if (!isfinite(d) || floor(d) != d || d < lo || d > hi) {
		throw_range_error(env, "%s must be an integer in [%.0f, %.0f], got %g", argname, lo, hi, d);
		return false;
	}
	*out = d;
	return true;
}

bool get_u32_arg(napi_env env, napi_value v, const char *argname, uint32_t *out)
{
	double d;
	if (!get_integer(env, v, argname, 0, 4294967295.0, &d))
		return false;
	*out = (uint32_t)d;
	return true;
}

bool get_i32_arg(napi_env env, napi_value v, const char *argname, int32_t *out)
{
	double d;
	if (!get_integer(env, v, argname, -2147483648.0, 2147483647.0, &d))
		return false;
	*out = (int32_t)d;
	return true;
}

bool get_u64_arg(napi_env env, napi_value v, const char *argname, uint64_t *out)
{
	napi_valuetype t;
	if (napi_typeof(env, v, &t) == napi_ok && t == napi_bigint) {
		bool lossless;
		napi_get_value_bigint_uint64(env, v, out, &lossless);
		if (!lossless) {
			throw_range_error(env, "%s does not fit in 64 unsigned bits", argname);
			return false;
		}
		return true;
	}
	double d;
	if (!get_integer(env, v, argname, 0, 9007199254740991.0, &d))
		return false;
	*out = (uint64_t)d;
	return true;
}

char *get_string_arg(napi_env env, napi_value v, const char *argname)
{
	napi_valuetype t;
	if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) {
		throw_type_error(env, "%s must be a string", argname);
		return NULL;
	}
	size_t len = 0;
	napi_get_value_string_utf8(env, v, NULL, 0, &len);
	char *s = malloc(len + 1);
	if (!s) {
		throw_errno(env, 12, NULL, "%s", argname);
		return NULL;
	}
	napi_get_value_string_utf8(env, v, s, len + 1, &len);
	if (strlen(s) != len) {
		free(s);
		throw_type_error(env, "%s must not contain NUL characters", argname);
		return NULL;
	}
	return s;
}

bool get_buffer_arg(napi_env env, napi_value v, const char *argname, void **data, size_t *len)
{
	bool is_buf = false;
	if (v && napi_is_buffer(env, v, &is_buf) == napi_ok && is_buf)
		return napi_get_buffer_info(env, v, data, len) == napi_ok;
	bool is_ta = false;
	if (v && napi_is_typedarray(env, v, &is_ta) == napi_ok && is_ta) {
		napi_typedarray_type type;
		size_t count;
		napi_value ab;
		size_t offset;
		napi_get_typedarray_info(env, v, &type, &count, data, &ab, &offset);
		if (type == napi_uint8_array) {
			*len = count;
			return true;
		}
	}
	throw_type_error(env, "%s must be a Buffer or Uint8Array", argname);
	return false;
}

bool get_function_arg(napi_env env, napi_value v, const char *argname)
{
	napi_valuetype t;
	if (napi_typeof(env, v, &t) != napi_ok || t != napi_function) {
		throw_type_error(env, "%s must be a function", argname);
		return false;
	}
	return true;
}

napi_value make_u32(napi_env env, uint32_t v)
{
	napi_value r = NULL;
	napi_create_uint32(env, v, &r);
	return r;
}

napi_value make_i64(napi_env env, int64_t v)
{
	napi_value r = NULL;
	napi_create_int64(env, v, &r);
	return r;
}

napi_value make_double(napi_env env, double v)
{
	napi_value r = NULL;
	napi_create_double(env, v, &r);
	return r;
}

napi_value make_bool(napi_env env, bool v)
{
	napi_value r = NULL;
	napi_get_boolean(env, v, &r);
	return r;
}

napi_value make_string(napi_env env, const char *s)
{
	napi_value r = NULL;
	napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &r);
	return r;
}

napi_value make_undefined(napi_env env)
{
	napi_value r = NULL;
	napi_get_undefined(env, &r);
	return r;
}

napi_value make_buffer_copy(napi_env env, const void *data, size_t len)
{
	napi_value r = NULL;
	void *copy;
	if (napi_create_buffer_copy(env, len, len ? data : "", &copy, &r) != napi_ok) {
		napi_throw_last_status(env, "napi_create_buffer_copy");
		return NULL;
	}
	return r;
}

bool set_prop(napi_env env, napi_value obj, const char *name, napi_value v)
{
	return v != NULL && napi_set_named_property(env, obj, name, v) == napi_ok;
}

bool export_functions(napi_env env, napi_value exports, const struct export_entry *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		napi_value fn;
		if (napi_create_function(env, list[i].name, NAPI_AUTO_LENGTH, list[i].fn, NULL, &fn) != napi_ok ||
		    napi_set_named_property(env, exports, list[i].name, fn) != napi_ok)
			return false;
	}
	return true;
}

void *unwrap_tagged(napi_env env, napi_value v, const napi_type_tag *tag)
{
	bool tagged = false;
	napi_valuetype t;
	void *p = NULL;
	if (!v || napi_typeof(env, v, &t) != napi_ok || t != napi_object)
		return NULL;
	if (napi_check_object_type_tag(env, v, tag, &tagged) != napi_ok || !tagged)
		return NULL;
	if (napi_unwrap(env, v, &p) != napi_ok)
		return NULL;
	return p;
}
