// One JS object per kernel object fd (map, program, link). The handle owns its fd: close() is
// idempotent and the GC finalizer closes whatever JS dropped without closing.
#include "common.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

// Distinguishes our wrapped handles from arbitrary JS objects passed in by mistake.
static const napi_type_tag FD_HANDLE_TAG = { 0x6c6962627066ULL, 0x74732d66642d7631ULL };

const char *kind_name(enum fd_kind kind)
{
	switch (kind) {
	case FD_MAP: return "map";
	case FD_PROG: return "program";
	case FD_LINK: return "link";
	}
	return "object";
}

int possible_cpus(void)
{
	static int n;
	if (!n) {
		n = libbpf_num_possible_cpus();
		if (n <= 0)
			n = 1;
	}
	return n;
}

static bool map_type_is_per_cpu(uint32_t t)
{
	return t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_ARRAY ||
	       t == BPF_MAP_TYPE_LRU_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

static void fd_handle_finalize(napi_env env, void *data, void *hint)
{
	struct fd_handle *h = data;
	if (h->fd >= 0)
		close(h->fd);
	free(h);
}

static int fill_map_cache(struct fd_handle *h)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(h->fd, &info, &len))
		return errno;
	h->map_type = info.type;
	h->key_size = info.key_size;
	h->value_size = info.value_size;
	h->max_entries = info.max_entries;
	h->map_flags = info.map_flags;
	h->per_cpu = map_type_is_per_cpu(info.type);
	h->value_stride = h->per_cpu ? ((info.value_size + 7) / 8) * 8 * (uint32_t)possible_cpus() : info.value_size;
	if (!h->name[0])
		snprintf(h->name, sizeof(h->name), "%s", info.name);
	return 0;
}

static int fill_name(struct fd_handle *h)
{
	if (h->name[0])
		return 0;
	if (h->kind == FD_PROG) {
		struct bpf_prog_info info;
		uint32_t len = sizeof(info);
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(h->fd, &info, &len))
			return errno;
		snprintf(h->name, sizeof(h->name), "%s", info.name);
	} else if (h->kind == FD_LINK) {
		struct bpf_link_info info;
		uint32_t len = sizeof(info);
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(h->fd, &info, &len))
			return errno;
		snprintf(h->name, sizeof(h->name), "link#%u", info.id);
	}
	return 0;
}

napi_value fd_handle_wrap(napi_env env, int fd, enum fd_kind kind, const char *name)
{
	struct fd_handle *h = calloc(1, sizeof(*h));
	if (!h) {
		close(fd);
		throw_errno(env, ENOMEM, NULL, "%s handle", kind_name(kind));
		return NULL;
	}
	h->fd = fd;
	h->kind = kind;
	if (name)
		snprintf(h->name, sizeof(h->name), "%s", name);
	int err = kind == FD_MAP ? fill_map_cache(h) : fill_name(h);
	if (err) {
		close(fd);
		free(h);
		throw_errno(env, err, NULL, "%s \"%s\" info", kind_name(kind), name ? name : "?");
		return NULL;
	}
	napi_value obj;
	if (napi_create_object(env, &obj) != napi_ok || napi_type_tag_object(env, obj, &FD_HANDLE_TAG) != napi_ok ||
	    napi_wrap(env, obj, h, fd_handle_finalize, NULL, NULL) != napi_ok) {
		close(fd);
		free(h);
		napi_throw_last_status(env, "wrap fd handle");
		return NULL;
	}
	return obj;
}

struct fd_handle *fd_handle_get(napi_env env, napi_value v, enum fd_kind kind, const char *argname)
{
	struct fd_handle *h = unwrap_tagged(env, v, &FD_HANDLE_TAG);
	if (!h) {
		throw_type_error(env, "%s must be a %s handle", argname, kind ? kind_name(kind) : "bpf object");
		return NULL;
	}
	if (kind && h->kind != kind) {
		throw_type_error(env, "%s must be a %s, got a %s", argname, kind_name(kind), kind_name(h->kind));
		return NULL;
	}
	if (h->fd < 0) {
		throw_state_error(env, EBADF, "%s \"%s\" is closed", kind_name(h->kind), h->name);
		return NULL;
	}
	return h;
}

/* ---- exported functions ---------------------------------------------------------------------- */

static napi_value js_fd_close(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	if (!get_args(env, info, 1, argv))
		return NULL;
	struct fd_handle *h = unwrap_tagged(env, argv[0], &FD_HANDLE_TAG);
	if (!h) {
		throw_type_error(env, "handle must be a bpf object handle");
		return NULL;
	}
	if (h->fd >= 0) {
		close(h->fd);
		h->fd = -1;
	}
	return make_undefined(env);
}

static napi_value js_map_info(napi_env env, napi_callback_info info)
{
	napi_value argv[1], o;
	if (!get_args(env, info, 1, argv))
		return NULL;
	struct fd_handle *h = fd_handle_get(env, argv[0], FD_MAP, "map");
	if (!h)
		return NULL;
	struct bpf_map_info mi;
	uint32_t len = sizeof(mi);
	memset(&mi, 0, sizeof(mi));
	if (bpf_obj_get_info_by_fd(h->fd, &mi, &len)) {
		throw_errno(env, errno, NULL, "map \"%s\" info", h->name);
		return NULL;
	}
	const char *type = libbpf_bpf_map_type_str(mi.type);
	char unknown[32];
	if (!type) {
		snprintf(unknown, sizeof(unknown), "unknown(%u)", mi.type);
		type = unknown;
	}
	NAPI_TRY(env, napi_create_object(env, &o));
	set_prop(env, o, "name", make_string(env, h->name));
	set_prop(env, o, "kernelName", make_string(env, mi.name));
	set_prop(env, o, "type", make_string(env, type));
	set_prop(env, o, "typeId", make_u32(env, mi.type));
	set_prop(env, o, "id", make_u32(env, mi.id));
	set_prop(env, o, "keySize", make_u32(env, mi.key_size));
	set_prop(env, o, "valueSize", make_u32(env, mi.value_size));
	set_prop(env, o, "maxEntries", make_u32(env, mi.max_entries));
	set_prop(env, o, "flags", make_u32(env, mi.map_flags));
	set_prop(env, o, "perCpu", make_bool(env, h->per_cpu));
	set_prop(env, o, "valueStride", make_u32(env, h->value_stride));
	return o;
}

static napi_value js_prog_info(napi_env env, napi_callback_info info)
{
	napi_value argv[1], o;
	if (!get_args(env, info, 1, argv))
		return NULL;
	struct fd_handle *h = fd_handle_get(env, argv[0], FD_PROG, "program");
	if (!h)
		return NULL;
	struct bpf_prog_info pi;
	uint32_t len = sizeof(pi);
	memset(&pi, 0, sizeof(pi));
	if (bpf_obj_get_info_by_fd(h->fd, &pi, &len)) {
		throw_errno(env, errno, NULL, "program \"%s\" info", h->name);
		return NULL;
	}
	const char *type = libbpf_bpf_prog_type_str(pi.type);
	char unknown[32], tag[2 * BPF_TAG_SIZE + 1];
	if (!type) {
		snprintf(unknown, sizeof(unknown), "unknown(%u)", pi.type);
		type = unknown;
	}
	for (int i = 0; i < BPF_TAG_SIZE; i++)
		snprintf(tag + 2 * i, 3, "%02x", pi.tag[i]);
	NAPI_TRY(env, napi_create_object(env, &o));
	set_prop(env, o, "name", make_string(env, h->name));
	set_prop(env, o, "kernelName", make_string(env, pi.name));
	set_prop(env, o, "type", make_string(env, type));
	set_prop(env, o, "typeId", make_u32(env, pi.type));
	set_prop(env, o, "id", make_u32(env, pi.id));
	set_prop(env, o, "tag", make_string(env, tag));
	return o;
}

static napi_value js_link_info(napi_env env, napi_callback_info info)
{
	napi_value argv[1], o;
	if (!get_args(env, info, 1, argv))
		return NULL;
	struct fd_handle *h = fd_handle_get(env, argv[0], FD_LINK, "link");
	if (!h)
		return NULL;
	struct bpf_link_info li;
	uint32_t len = sizeof(li);
	memset(&li, 0, sizeof(li));
	if (bpf_obj_get_info_by_fd(h->fd, &li, &len)) {
		throw_errno(env, errno, NULL, "link \"%s\" info", h->name);
		return NULL;
	}
	const char *type = libbpf_bpf_link_type_str(li.type);
	NAPI_TRY(env, napi_create_object(env, &o));
	set_prop(env, o, "id", make_u32(env, li.id));
	set_prop(env, o, "type", make_string(env, type ? type : "unknown"));
	set_prop(env, o, "progId", make_u32(env, li.prog_id));
	if (li.type == BPF_LINK_TYPE_XDP)
		set_prop(env, o, "ifindex", make_u32(env, li.xdp.ifindex));
	return o;
}

static napi_value js_pin(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	if (!get_args(env, info, 2, argv))
		return NULL;
	struct fd_handle *h = fd_handle_get(env, argv[0], 0, "handle");
	if (!h)
		return NULL;
	char *path = get_string_arg(env, argv[1], "path");
	if (!path)
		return NULL;
	if (bpf_obj_pin(h->fd, path))
		throw_errno(env, errno, NULL, "pin %s \"%s\" at \"%s\"", kind_name(h->kind), h->name, path);
	free(path);
	return make_undefined(env);
}

static napi_value js_unpin(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	if (!get_args(env, info, 1, argv))
		return NULL;
	char *path = get_string_arg(env, argv[0], "path");
	if (!path)
		return NULL;
	struct statfs st;
	// Refuse to unlink anything that is not a bpffs pin: a wrong path must never delete a file.
	if (statfs(path, &st))
		throw_errno(env, errno, NULL, "unpin \"%s\"", path);
	else if ((unsigned long)st.f_type != BPF_FS_MAGIC)
		throw_state_error(env, EINVAL, "unpin \"%s\": not on a bpf filesystem", path);
	else if (unlink(path))
		throw_errno(env, errno, NULL, "unpin \"%s\"", path);
	free(path);
	return make_undefined(env);
}

// The kernel names bpf fds' anonymous inodes; this is how bpftool tells pinned object kinds apart.
static int fd_kind_of(int fd, enum fd_kind *kind, char *target, size_t target_size)
{
	char link[64];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, target, target_size - 1);
	if (n < 0)
		return errno;
	target[n] = 0;
	if (!strcmp(target, "anon_inode:bpf-map"))
		*kind = FD_MAP;
	else if (!strcmp(target, "anon_inode:bpf-prog"))
		*kind = FD_PROG;
	else if (!strcmp(target, "anon_inode:bpf_link") || !strcmp(target, "anon_inode:bpf-link"))  // create vs obj_get
		*kind = FD_LINK;
	else
		return EINVAL;
	return 0;
}

static bool parse_kind(napi_env env, napi_value v, enum fd_kind *kind)
{
	char *s = get_string_arg(env, v, "kind");
	if (!s)
		return false;
	bool ok = true;
	if (!strcmp(s, "map"))
		*kind = FD_MAP;
	else if (!strcmp(s, "prog"))
		*kind = FD_PROG;
	else if (!strcmp(s, "link"))
		*kind = FD_LINK;
	else {
		throw_type_error(env, "kind must be 'map', 'prog' or 'link', got '%s'", s);
		ok = false;
	}
	free(s);
	return ok;
}

static napi_value js_open_pinned(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	enum fd_kind want, got = 0;
	if (!get_args(env, info, 2, argv) || !parse_kind(env, argv[1], &want))
		return NULL;
	char *path = get_string_arg(env, argv[0], "path");
	if (!path)
		return NULL;
	napi_value result = NULL;
	int fd = bpf_obj_get(path);
	if (fd < 0) {
		throw_errno(env, errno, NULL, "open pinned %s \"%s\"", kind_name(want), path);
	} else {
		char target[64] = "";
		int err = fd_kind_of(fd, &got, target, sizeof(target));
		if (err || got != want) {
			close(fd);
			throw_state_error(env, EINVAL, "open pinned %s \"%s\": the pin is a %s (%s)", kind_name(want), path,
					  err ? "non-bpf object" : kind_name(got), target);
		} else {
			result = fd_handle_wrap(env, fd, want, NULL);
		}
	}
	free(path);
	return result;
}

static napi_value js_from_id(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	enum fd_kind kind;
	uint32_t id;
	if (!get_args(env, info, 2, argv) || !parse_kind(env, argv[0], &kind) || !get_u32_arg(env, argv[1], "id", &id))
		return NULL;
	int fd = kind == FD_MAP ? bpf_map_get_fd_by_id(id) : kind == FD_PROG ? bpf_prog_get_fd_by_id(id) : bpf_link_get_fd_by_id(id);
	if (fd < 0) {
		throw_errno(env, errno, NULL, "open %s id %u", kind_name(kind), id);
		return NULL;
	}
	return fd_handle_wrap(env, fd, kind, NULL);
}

static napi_value js_possible_cpus(napi_env env, napi_callback_info info)
{
	return make_u32(env, (uint32_t)possible_cpus());
}

void fd_handle_exports(napi_env env, napi_value exports)
{
	static const struct export_entry fns[] = {
		{ "fdClose", js_fd_close },
		{ "mapInfo", js_map_info },
		{ "progInfo", js_prog_info },
		{ "linkInfo", js_link_info },
		{ "pin", js_pin },
		{ "unpin", js_unpin },
		{ "openPinned", js_open_pinned },
		{ "fromId", js_from_id },
		{ "possibleCpus", js_possible_cpus },
	};
	export_functions(env, exports, fns, ARRAY_LEN(fns));
}
