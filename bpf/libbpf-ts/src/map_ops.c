// Single-element map operations on raw key/value bytes, and map creation.
#include "common.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// Checks a key buffer against the map's key size; maps without keys (queue, stack) take none.
bool map_key_arg(napi_env env, struct fd_handle *h, napi_value v, void **key)
{
	size_t len = 0;
	if (h->key_size == 0 && is_nullish(env, v)) {
		*key = NULL;
		return true;
	}
	if (!get_buffer_arg(env, v, "key", key, &len))
		return false;
	if (len != h->key_size) {
		throw_type_error(env, "key: map \"%s\" has %u-byte keys, got %zu bytes", h->name, h->key_size, len);
		return false;
	}
	if (len == 0)
		*key = NULL;
	return true;
}

static bool value_arg(napi_env env, struct fd_handle *h, napi_value v, void **value)
{
	size_t len = 0;
	if (!get_buffer_arg(env, v, "value", value, &len))
		return false;
	if (len != h->value_stride) {
		if (h->per_cpu)
			throw_type_error(env, "value: per-CPU map \"%s\" needs %u bytes (%d CPUs x %u, each rounded up to 8), got %zu",
					 h->name, h->value_stride, possible_cpus(), h->value_size, len);
		else
			throw_type_error(env, "value: map \"%s\" has %u-byte values, got %zu bytes", h->name, h->value_size, len);
		return false;
	}
	return true;
}

static bool map_type_from_name(const char *s, enum bpf_map_type *out)
{
	for (int t = 0; t < 256; t++) {
		const char *n = libbpf_bpf_map_type_str((enum bpf_map_type)t);
		if (n && !strcmp(n, s)) {
			*out = (enum bpf_map_type)t;
			return true;
		}
	}
	return false;
}

// mapCreate(type, keySize, valueSize, maxEntries, name|null, flags, innerMap|null)
static napi_value js_map_create(napi_env env, napi_callback_info info)
{
	napi_value argv[7];
	uint32_t key_size, value_size, max_entries, flags = 0;
	enum bpf_map_type type;
	if (!get_args(env, info, 7, argv))
		return NULL;
	char *type_s = get_string_arg(env, argv[0], "type");
	if (!type_s)
		return NULL;
	bool known = map_type_from_name(type_s, &type);
	if (!known) {
		throw_type_error(env, "type: unknown map type '%s'", type_s);
		free(type_s);
		return NULL;
	}
	free(type_s);
	if (!get_u32_arg(env, argv[1], "keySize", &key_size) || !get_u32_arg(env, argv[2], "valueSize", &value_size) ||
	    !get_u32_arg(env, argv[3], "maxEntries", &max_entries) ||
	    (!is_nullish(env, argv[5]) && !get_u32_arg(env, argv[5], "flags", &flags)))
		return NULL;
	char *name = NULL;
	if (!is_nullish(env, argv[4]) && !(name = get_string_arg(env, argv[4], "name")))
		return NULL;
	struct fd_handle *inner = NULL;
	if (!is_nullish(env, argv[6]) && !(inner = fd_handle_get(env, argv[6], FD_MAP, "innerMap"))) {
		free(name);
		return NULL;
	}
	if ((type == BPF_MAP_TYPE_ARRAY_OF_MAPS || type == BPF_MAP_TYPE_HASH_OF_MAPS) && !inner) {
		throw_type_error(env, "innerMap: a %s needs an inner map as template", libbpf_bpf_map_type_str(type));
		free(name);
		return NULL;
	}
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = flags, .inner_map_fd = inner ? (uint32_t)inner->fd : 0);
	int fd = bpf_map_create(type, name, key_size, value_size, max_entries, &opts);
	napi_value r = NULL;
	if (fd < 0)
		throw_errno(env, errno, NULL, "create %s map \"%s\" (key %u, value %u, max_entries %u)",
			    libbpf_bpf_map_type_str(type), name ? name : "", key_size, value_size, max_entries);
	else
		r = fd_handle_wrap(env, fd, FD_MAP, name);
	free(name);
	return r;
}

static napi_value js_map_lookup(napi_env env, napi_callback_info info)
{
	napi_value argv[2], result;
	void *key, *value;
	if (!get_args(env, info, 2, argv))
		return NULL;
	struct fd_handle *h = fd_handle_get(env, argv[0], FD_MAP, "map");
	if (!h || !map_key_arg(env, h, argv[1], &key))
		return NULL;
	// The kernel writes straight into the returned Buffer: one copy, no intermediate.
	NAPI_TRY(env, napi_create_buffer(env, h->value_stride, &value, &result));
	if (bpf_map_lookup_elem(h->fd, key, value)) {
		if (errno == ENOENT)
			return make_undefined(env);
		throw_errno(env, errno, NULL, "map \"%s\" lookup", h->name);
		return NULL;
	}
	return result;
}

static bool update_flags_arg(napi_env env, napi_value v, uint64_t *flags)
{
	uint32_t f = BPF_ANY;
	if (!is_nullish(env, v) && !get_u32_arg(env, v, "flags", &f))
		return false;
	*flags = f;
	return true;
}

static const char *update_flag_text(uint64_t flags)
{
	return flags == BPF_NOEXIST ? " (noexist)" : flags == BPF_EXIST ? " (exist)" : "";
}

static napi_value js_map_update(napi_env env, napi_callback_info info)
{
	napi_value argv[4];
	void *key, *value;
	uint64_t flags;
	if (!get_args(env, info, 4, argv))
		return NULL;
	struct fd_handle *h = fd_handle_get(env, argv[0], FD_MAP, "map");
	if (!h || !map_key_arg(env, h, argv[1], &key) || !value_arg(env, h, argv[2], &value) ||
	    !update_flags_arg(env, argv[3], &flags))
		return NULL;
	if (bpf_map_update_elem(h->fd, key, value, flags))
		throw_errno(env, errno, NULL, "map \"%s\" update%s", h->name, update_flag_text(flags));
	return make_undefined(env);
}

// Map-in-map (and prog array) values are written as the inner object's fd; the kernel swaps the
// pointer atomically, so datapath lookups see either the old or the new inner map, never neither.
static napi_value js_map_set_inner(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	void *key;
	if (!get_args(env, info, 3, argv))
		return NULL;
	struct fd_handle *h = fd_handle_get(env, argv[0], FD_MAP, "map");
	if (!h || !map_key_arg(env, h, argv[1], &key))
		return NULL;
	bool want_prog = h->map_type == BPF_MAP_TYPE_PROG_ARRAY;
	if (!want_prog && h->map_type != BPF_MAP_TYPE_ARRAY_OF_MAPS && h->map_type != BPF_MAP_TYPE_HASH_OF_MAPS) {
		throw_type_error(env, "map: \"%s\" is not a map-in-map or program array", h->name);
		return NULL;
	}
	struct fd_handle *inner = fd_handle_get(env, argv[2], want_prog ? FD_PROG : FD_MAP, "inner");
	if (!inner)
		return NULL;
	uint32_t fd = (uint32_t)inner->fd;
	if (bpf_map_update_elem(h->fd, key, &fd, BPF_ANY))
		throw_errno(env, errno, NULL, "map \"%s\" set inner %s \"%s\"", h->name, kind_name(inner->kind), inner->name);
	return make_undefined(env);
}

static napi_value js_map_delete(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	void *key;
	if (!get_args(env, info, 2, argv))
		return NULL;
	struct fd_handle *h = fd_handle_get(env, argv[0], FD_MAP, "map");
	if (!h || !map_key_arg(env, h, argv[1], &key))
		return NULL;
	if (bpf_map_delete_elem(h->fd, key)) {
		if (errno == ENOENT)
			return make_bool(env, false);
		throw_errno(env, errno, NULL, "map \"%s\" delete", h->name);
		return NULL;
	}
	return make_bool(env, true);
}

static napi_value js_map_next_key(napi_env env, napi_callback_info info)
{
	napi_value argv[2], result;
	void *key = NULL, *next;
	if (!get_args(env, info, 2, argv))
		return NULL;
	struct fd_handle *h = fd_handle_get(env, argv[0], FD_MAP, "map");
	if (!h || (!is_nullish(env, argv[1]) && !map_key_arg(env, h, argv[1], &key)))
		return NULL;
	NAPI_TRY(env, napi_create_buffer(env, h->key_size, &next, &result));
	if (bpf_map_get_next_key(h->fd, key, next)) {
		if (errno == ENOENT)
			return make_undefined(env);
		throw_errno(env, errno, NULL, "map \"%s\" next key", h->name);
		return NULL;
	}
	return result;
}

static napi_value js_map_freeze(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	if (!get_args(env, info, 1, argv))
		return NULL;
	struct fd_handle *h = fd_handle_get(env, argv[0], FD_MAP, "map");
	if (h && bpf_map_freeze(h->fd))
		throw_errno(env, errno, NULL, "map \"%s\" freeze", h->name);
	return make_undefined(env);
}

void map_ops_exports(napi_env env, napi_value exports)
{
	static const struct export_entry fns[] = {
		{ "mapCreate", js_map_create },
		{ "mapLookup", js_map_lookup },
		{ "mapUpdate", js_map_update },
		{ "mapSetInner", js_map_set_inner },
		{ "mapDelete", js_map_delete },
		{ "mapNextKey", js_map_next_key },
		{ "mapFreeze", js_map_freeze },
	};
	export_functions(env, exports, fns, ARRAY_LEN(fns));
}
