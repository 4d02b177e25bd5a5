// Memory-mapped array maps (BPF_F_MMAPABLE) and the kernel's own memory figure for a map.
//
// mapMmap returns an external ArrayBuffer over the map's element area (shared with every BPF
// program that reads the map): user space then reads and writes values without a syscall, e.g.
// one aligned 32-bit store per changed slot of a table. mapUnmap unmaps it at once and detaches the
// ArrayBuffer (its length becomes 0), so no JavaScript can touch the memory afterwards; the GC
// finalizer unmaps what was never unmapped explicitly.
#include "common.h"

#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct mapping {
	void *addr;
	size_t len;
	bool mapped;
};

static void mapping_finalize(napi_env env, void *data, void *hint)
{
	struct mapping *m = hint;
	if (m->mapped)
		munmap(m->addr, m->len);
	free(m);
}

// mapMmap(map) → ArrayBuffer of round_up(value_size, 8) × max_entries bytes, page-aligned length.
static napi_value js_map_mmap(napi_env env, napi_callback_info info)
{
	napi_value argv[1], result;
	if (!get_args(env, info, 1, argv))
		return NULL;
	struct fd_handle *h = fd_handle_get(env, argv[0], FD_MAP, "map");
	if (!h)
		return NULL;
	if (h->map_type != BPF_MAP_TYPE_ARRAY || !(h->map_flags & BPF_F_MMAPABLE)) {
		throw_type_error(env, "map \"%s\" is not an array created with BPF_F_MMAPABLE", h->name);
		return NULL;
	}
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t bytes = (size_t)((h->value_size + 7) / 8 * 8) * h->max_entries;
	size_t len = (bytes + page - 1) / page * page;
	struct mapping *m = calloc(1, sizeof(*m));
	if (!m) {
		throw_errno(env, ENOMEM, NULL, "map \"%s\" mmap", h->name);
		return NULL;
	}
	void *addr = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, h->fd, 0);
	if (addr == MAP_FAILED) {
		int e = errno;
		free(m);
		throw_errno(env, e, NULL, "map \"%s\" mmap (%zu bytes)", h->name, len);
		return NULL;
	}
	m->addr = addr;
	m->len = len;
	m->mapped = true;
	if (napi_create_external_arraybuffer(env, addr, bytes, mapping_finalize, m, &result) != napi_ok) {
		munmap(addr, len);
		free(m);
		napi_throw_last_status(env, "napi_create_external_arraybuffer");
		return NULL;
	}
	// The finalizer needs the mapping; keep it findable from the ArrayBuffer for mapUnmap.
	if (napi_wrap(env, result, m, NULL, NULL, NULL) != napi_ok) {
		napi_throw_last_status(env, "napi_wrap");
		return NULL;
	}
	return result;
}

// mapUnmap(arrayBuffer): unmaps now and detaches the buffer; a second call does nothing.
static napi_value js_map_unmap(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	bool is_ab = false, detached = false;
	struct mapping *m = NULL;
	if (!get_args(env, info, 1, argv))
		return NULL;
	if (napi_is_arraybuffer(env, argv[0], &is_ab) != napi_ok || !is_ab) {
		throw_type_error(env, "mapping must be an ArrayBuffer returned by mapMmap");
		return NULL;
	}
	NAPI_TRY(env, napi_is_detached_arraybuffer(env, argv[0], &detached));
	if (detached)
		return make_undefined(env);
	if (napi_unwrap(env, argv[0], (void **)&m) != napi_ok || !m) {
		throw_type_error(env, "mapping must be an ArrayBuffer returned by mapMmap");
		return NULL;
	}
	if (m->mapped) {
		munmap(m->addr, m->len);
		m->mapped = false;
	}
	NAPI_TRY(env, napi_detach_arraybuffer(env, argv[0]));
	return make_undefined(env);
}

// mapMemlock(map) → bytes the kernel charges for the map ("memlock" in /proc/self/fdinfo/<fd>).
static napi_value js_map_memlock(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	char path[64], line[256];
	unsigned long long memlock = 0;
	bool found = false;
	if (!get_args(env, info, 1, argv))
		return NULL;
	struct fd_handle *h = fd_handle_get(env, argv[0], FD_MAP, "map");
	if (!h)
		return NULL;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", h->fd);
	FILE *f = fopen(path, "r");
	if (!f) {
		throw_errno(env, errno, NULL, "map \"%s\": read %s", h->name, path);
		return NULL;
	}
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &memlock) == 1) {
			found = true;
			break;
		}
	fclose(f);
	if (!found) {
		throw_errno(env, ENOTSUP, "the kernel reports no memlock figure", "map \"%s\"", h->name);
		return NULL;
	}
	return make_double(env, (double)memlock);
}

void map_mmap_exports(napi_env env, napi_value exports)
{
	static const struct export_entry fns[] = {
		{ "mapMmap", js_map_mmap },
		{ "mapUnmap", js_map_unmap },
		{ "mapMemlock", js_map_memlock },
	};
	export_functions(env, exports, fns, ARRAY_LEN(fns));
}
