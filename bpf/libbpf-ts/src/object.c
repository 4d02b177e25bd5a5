// bpf_object lifecycle: open an ELF file, configure it (load-time constants, map sizes, reused
// maps), load it, then hand out independent fd handles for its programs and maps.
#include "common.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const napi_type_tag OBJ_TAG = { 0x6c6962627066ULL, 0x74732d6f626a7631ULL };

enum obj_state { OBJ_OPENED, OBJ_LOADED, OBJ_LOAD_FAILED, OBJ_CLOSED };

struct obj_handle {
	struct bpf_object *obj;
	enum obj_state state;
	char *path;
};

static void obj_finalize(napi_env env, void *data, void *hint)
{
	struct obj_handle *o = data;
	if (o->obj)
		bpf_object__close(o->obj);
	free(o->path);
	free(o);
}

static const char *state_text(enum obj_state s)
{
	switch (s) {
	case OBJ_OPENED: return "not loaded yet";
	case OBJ_LOADED: return "already loaded";
	case OBJ_LOAD_FAILED: return "failed to load";
	case OBJ_CLOSED: return "closed";
	}
	return "?";
}

// want: the state the operation needs (OBJ_OPENED = configure, OBJ_LOADED = use); OBJ_CLOSED = any.
static struct obj_handle *obj_get(napi_env env, napi_value v, enum obj_state want, const char *op)
{
	struct obj_handle *o = unwrap_tagged(env, v, &OBJ_TAG);
	if (!o) {
		throw_type_error(env, "object must be a BPF object handle");
		return NULL;
	}
	if (o->state == OBJ_CLOSED) {
		throw_state_error(env, EBADF, "%s: BPF object \"%s\" is closed", op, o->path);
		return NULL;
	}
	if (want != OBJ_CLOSED && o->state != want) {
		throw_state_error(env, want == OBJ_OPENED ? EBUSY : EINVAL, "%s: BPF object \"%s\" is %s", op, o->path,
				  state_text(o->state));
		return NULL;
	}
	return o;
}

// Comma-separated list of names for "not found" messages.
static char *map_name_list(struct bpf_object *obj)
{
	char *s = strdup("");
	struct bpf_map *m;
	bpf_object__for_each_map(m, obj) {
		char *n = NULL;
		if (asprintf(&n, "%s%s%s", s, *s ? ", " : "", bpf_map__name(m)) < 0)
			break;
		free(s);
		s = n;
	}
	return s;
}

static char *prog_name_list(struct bpf_object *obj)
{
	char *s = strdup("");
	struct bpf_program *p;
	bpf_object__for_each_program(p, obj) {
		char *n = NULL;
		if (asprintf(&n, "%s%s%s", s, *s ? ", " : "", bpf_program__name(p)) < 0)
			break;
		free(s);
		s = n;
	}
	return s;
}

static struct bpf_map *find_map(napi_env env, struct obj_handle *o, napi_value name_v, char **name_out)
{
	char *name = get_string_arg(env, name_v, "map name");
	if (!name)
		return NULL;
	struct bpf_map *m = bpf_object__find_map_by_name(o->obj, name);
	if (!m) {
		char *names = map_name_list(o->obj);
		throw_state_error(env, ENOENT, "map \"%s\" not found in \"%s\" (maps: %s)", name, o->path, names ? names : "");
		free(names);
		free(name);
		return NULL;
	}
	*name_out = name;
	return m;
}

static struct bpf_program *find_prog(napi_env env, struct obj_handle *o, napi_value name_v, char **name_out)
{
	char *name = get_string_arg(env, name_v, "program name");
	if (!name)
		return NULL;
	struct bpf_program *p = bpf_object__find_program_by_name(o->obj, name);
	if (!p) {
		char *names = prog_name_list(o->obj);
		throw_state_error(env, ENOENT, "program \"%s\" not found in \"%s\" (programs: %s)", name, o->path,
				  names ? names : "");
		free(names);
		free(name);
		return NULL;
	}
	*name_out = name;
	return p;
}

// The verifier's verdict is at the end of its log, before its closing statistics line
// ("processed N insns ..."): keep the last few lines before that for the message.
static char *log_tail(const char *log, int lines)
{
	const char *end = log + strlen(log);
	while (end > log && (end[-1] == '\n' || end[-1] == ' '))
		end--;
	const char *last = end;
	while (last > log && last[-1] != '\n')
		last--;
	if (!strncmp(last, "processed ", 10) && last > log)
		for (end = last; end > log && (end[-1] == '\n' || end[-1] == ' ');)
			end--;
	const char *p = end;
	int seen = 0;
	while (p > log) {
		if (p[-1] == '\n' && ++seen == lines)
			break;
		p--;
	}
	char *tail = strndup(p, (size_t)(end - p));
	char *flat = tail ? log_flatten(tail) : NULL;
	free(tail);
	return flat;
}

static void forward_warnings(const struct log_capture *cap)
{
	if (cap->len)
		fputs(cap->text, stderr);
}

/* ---- exported functions ---------------------------------------------------------------------- */

static napi_value js_obj_open(napi_env env, napi_callback_info info)
{
	napi_value argv[1], result;
	if (!get_args(env, info, 1, argv))
		return NULL;
	char *path = get_string_arg(env, argv[0], "path");
	if (!path)
		return NULL;
	struct log_capture cap;
	log_capture_begin(&cap);
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	int err = errno;
	log_capture_end(&cap);
	if (!obj) {
		char *lines = log_flatten(cap.text ? cap.text : "");
		throw_errno(env, err, lines, "open BPF object \"%s\"", path);
		free(lines);
		free(path);
		log_capture_free(&cap);
		return NULL;
	}
	forward_warnings(&cap);
	log_capture_free(&cap);
	struct obj_handle *o = calloc(1, sizeof(*o));
	if (!o || napi_create_object(env, &result) != napi_ok || napi_type_tag_object(env, result, &OBJ_TAG) != napi_ok ||
	    napi_wrap(env, result, o, obj_finalize, NULL, NULL) != napi_ok) {
		bpf_object__close(obj);
		free(o);
		free(path);
		napi_throw_last_status(env, "wrap BPF object");
		return NULL;
	}
	o->obj = obj;
	o->path = path;
	o->state = OBJ_OPENED;
	return result;
}

struct global_var {
	struct bpf_map *map;
	const char *section;
	uint32_t offset, size;
};

// Global variables live in the datasec maps (.rodata, .data, .bss); BTF says where each one is.
static int find_global_var(struct bpf_object *obj, const char *name, struct global_var *out)
{
	const struct btf *btf = bpf_object__btf(obj);
	if (!btf)
		return ENODATA;
	uint32_t n = btf__type_cnt(btf);
	for (uint32_t id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		if (!btf_is_datasec(t))
			continue;
		const char *sec = btf__name_by_offset(btf, t->name_off);
		const struct btf_var_secinfo *vs = btf_var_secinfos(t);
		for (uint16_t i = 0; i < btf_vlen(t); i++, vs++) {
			const struct btf_type *vt = btf__type_by_id(btf, vs->type);
			if (!vt || !btf_is_var(vt) || strcmp(btf__name_by_offset(btf, vt->name_off), name))
				continue;
			out->map = bpf_object__find_map_by_name(obj, sec);
			out->section = sec;
			out->offset = vs->offset;
			out->size = vs->size;
			return out->map ? 0 : ENOENT;
		}
	}
	return ENOENT;
}

static struct obj_handle *lookup_var(napi_env env, napi_value *argv, const char *op, struct global_var *var, char **name)
{
	struct obj_handle *o = obj_get(env, argv[0], OBJ_OPENED, op);
	if (!o)
		return NULL;
	*name = get_string_arg(env, argv[1], "variable name");
	if (!*name)
		return NULL;
	int err = find_global_var(o->obj, *name, var);
	if (err) {
		throw_state_error(env, err, "%s \"%s\": no global variable of that name in \"%s\"%s", op, *name, o->path,
				  err == ENODATA ? " (object has no BTF; compile with -g)" : "");
		free(*name);
		return NULL;
	}
	if (!strcmp(var->section, ".kconfig") || !strcmp(var->section, ".ksyms")) {
		throw_state_error(env, EINVAL, "%s \"%s\": is an extern (%s), libbpf resolves it", op, *name, var->section);
		free(*name);
		return NULL;
	}
	return o;
}

// constInfo(obj, name) → { section, offset, size }: lets JS encode numbers with the variable's width.
static napi_value js_obj_const_info(napi_env env, napi_callback_info info)
{
	napi_value argv[2], r;
	struct global_var var;
	char *name;
	if (!get_args(env, info, 2, argv) || !lookup_var(env, argv, "constInfo", &var, &name))
		return NULL;
	free(name);
	NAPI_TRY(env, napi_create_object(env, &r));
	set_prop(env, r, "section", make_string(env, var.section));
	set_prop(env, r, "offset", make_u32(env, var.offset));
	set_prop(env, r, "size", make_u32(env, var.size));
	return r;
}

static napi_value js_obj_set_const(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	struct global_var var;
	char *name;
	void *data;
	size_t len;
	if (!get_args(env, info, 3, argv) || !lookup_var(env, argv, "setConst", &var, &name))
		return NULL;
	if (!get_buffer_arg(env, argv[2], "value", &data, &len)) {
		free(name);
		return NULL;
	}
	if (len != var.size) {
		throw_type_error(env, "setConst \"%s\": value is %zu bytes but the variable is %u bytes", name, len, var.size);
		free(name);
		return NULL;
	}
	size_t map_size = 0;
	// Before load the initial value is libbpf's private writable copy (what skeletons write to).
	char *init = (char *)bpf_map__initial_value(var.map, &map_size);
	if (!init || (size_t)var.offset + var.size > map_size) {
		throw_state_error(env, EINVAL, "setConst \"%s\": section %s has no writable initial value", name, var.section);
		free(name);
		return NULL;
	}
	memcpy(init + var.offset, data, len);
	free(name);
	return make_undefined(env);
}

static napi_value js_obj_set_max_entries(napi_env env, napi_callback_info info)
{
	napi_value argv[4];
	uint32_t n;
	bool inner = false;
	char *name = NULL;
	if (!get_args(env, info, 4, argv))
		return NULL;
	struct obj_handle *o = obj_get(env, argv[0], OBJ_OPENED, "setMapMaxEntries");
	if (!o || !get_u32_arg(env, argv[2], "maxEntries", &n))
		return NULL;
	if (n == 0) {
		throw_range_error(env, "maxEntries must be at least 1");
		return NULL;
	}
	if (!is_nullish(env, argv[3]))
		napi_get_value_bool(env, argv[3], &inner);
	struct bpf_map *m = find_map(env, o, argv[1], &name);
	if (!m)
		return NULL;
	if (inner) {
		/* libbpf 1.1 dereferences the inner template's (unset) object pointer here and crashes.
		 * Map-in-map users declare the template with BPF_F_INNER_MAP and create inner maps of any
		 * size with BpfMap.create instead. */
		throw_state_error(env, ENOTSUP, "map \"%s\": resizing an inner map template is not supported with libbpf 1.1; declare it with BPF_F_INNER_MAP", name);
		free(name);
		return NULL;
	}
	int err = bpf_map__set_max_entries(m, n);
	if (err)
		throw_errno(env, -err, NULL, "map \"%s\"%s set max entries %u", name, inner ? " inner template" : "", n);
	free(name);
	return make_undefined(env);
}

static napi_value js_obj_reuse_map(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	char *name = NULL;
	if (!get_args(env, info, 3, argv))
		return NULL;
	struct obj_handle *o = obj_get(env, argv[0], OBJ_OPENED, "reuseMap");
	struct fd_handle *h = o ? fd_handle_get(env, argv[2], FD_MAP, "existing") : NULL;
	struct bpf_map *m = h ? find_map(env, o, argv[1], &name) : NULL;
	if (!m)
		return NULL;
	int err = bpf_map__reuse_fd(m, h->fd);
	if (err)
		throw_errno(env, -err, NULL, "map \"%s\" reuse fd of \"%s\"", name, h->name);
	free(name);
	return make_undefined(env);
}

static napi_value js_obj_set_autoload(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	char *name = NULL;
	bool autoload;
	if (!get_args(env, info, 3, argv))
		return NULL;
	struct obj_handle *o = obj_get(env, argv[0], OBJ_OPENED, "setAutoload");
	if (!o)
		return NULL;
	if (napi_get_value_bool(env, argv[2], &autoload) != napi_ok) {
		throw_type_error(env, "autoload must be a boolean");
		return NULL;
	}
	struct bpf_program *p = find_prog(env, o, argv[1], &name);
	if (!p)
		return NULL;
	int err = bpf_program__set_autoload(p, autoload);
	if (err)
		throw_errno(env, -err, NULL, "program \"%s\" set autoload", name);
	free(name);
	return make_undefined(env);
}

static napi_value js_obj_load(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	if (!get_args(env, info, 1, argv))
		return NULL;
	struct obj_handle *o = obj_get(env, argv[0], OBJ_OPENED, "load");
	if (!o)
		return NULL;
	struct log_capture cap;
	log_capture_begin(&cap);
	int err = bpf_object__load(o->obj);
	log_capture_end(&cap);
	if (!err) {
		o->state = OBJ_LOADED;
		forward_warnings(&cap);
		log_capture_free(&cap);
		return make_undefined(env);
	}
	// libbpf counts a failed load as loaded; the object can only be closed now.
	o->state = OBJ_LOAD_FAILED;
	char *vlog = NULL, *lines = NULL;
	log_capture_split(&cap, &vlog, &lines);
	char *flat = lines ? log_flatten(lines) : NULL;
	char *tail = vlog ? log_tail(vlog, 3) : NULL;
	char *detail = NULL;
	if (asprintf(&detail, "%s%s%s", flat ? flat : "", tail ? "; verifier: " : "", tail ? tail : "") < 0)
		detail = NULL;
	throw_errno_log(env, -err, detail, vlog, "load BPF object \"%s\"", o->path);
	free(detail);
	free(tail);
	free(flat);
	free(lines);
	free(vlog);
	log_capture_free(&cap);
	return NULL;
}

static napi_value name_array(napi_env env, struct obj_handle *o, bool progs)
{
	napi_value arr;
	uint32_t i = 0;
	NAPI_TRY(env, napi_create_array(env, &arr));
	if (progs) {
		struct bpf_program *p;
		bpf_object__for_each_program(p, o->obj)
			napi_set_element(env, arr, i++, make_string(env, bpf_program__name(p)));
	} else {
		struct bpf_map *m;
		bpf_object__for_each_map(m, o->obj)
			napi_set_element(env, arr, i++, make_string(env, bpf_map__name(m)));
	}
	return arr;
}

static napi_value js_obj_program_names(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	if (!get_args(env, info, 1, argv))
		return NULL;
	struct obj_handle *o = obj_get(env, argv[0], OBJ_CLOSED, "programNames");
	return o ? name_array(env, o, true) : NULL;
}

static napi_value js_obj_map_names(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	if (!get_args(env, info, 1, argv))
		return NULL;
	struct obj_handle *o = obj_get(env, argv[0], OBJ_CLOSED, "mapNames");
	return o ? name_array(env, o, false) : NULL;
}

// Handles get their own duplicate of libbpf's fd, so they never dangle when the object closes.
static napi_value wrap_dup(napi_env env, int fd, enum fd_kind kind, const char *name)
{
	int dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dup < 0) {
		throw_errno(env, errno, NULL, "%s \"%s\" duplicate fd", kind_name(kind), name);
		return NULL;
	}
	return fd_handle_wrap(env, dup, kind, name);
}

static napi_value js_obj_program(napi_env env, napi_callback_info info)
{
	napi_value argv[2], r = NULL;
	char *name = NULL;
	if (!get_args(env, info, 2, argv))
		return NULL;
	struct obj_handle *o = obj_get(env, argv[0], OBJ_LOADED, "program");
	struct bpf_program *p = o ? find_prog(env, o, argv[1], &name) : NULL;
	if (!p)
		return NULL;
	int fd = bpf_program__fd(p);
	if (fd < 0)
		throw_state_error(env, ENOENT, "program \"%s\" was not loaded (autoload off?)", name);
	else
		r = wrap_dup(env, fd, FD_PROG, name);
	free(name);
	return r;
}

static napi_value js_obj_map(napi_env env, napi_callback_info info)
{
	napi_value argv[2], r = NULL;
	char *name = NULL;
	if (!get_args(env, info, 2, argv))
		return NULL;
	struct obj_handle *o = obj_get(env, argv[0], OBJ_LOADED, "map");
	struct bpf_map *m = o ? find_map(env, o, argv[1], &name) : NULL;
	if (!m)
		return NULL;
	int fd = bpf_map__fd(m);
	if (fd < 0)
		throw_state_error(env, ENOENT, "map \"%s\" was not created", name);
	else
		r = wrap_dup(env, fd, FD_MAP, bpf_map__name(m));
	free(name);
	return r;
}

static napi_value js_obj_close(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	if (!get_args(env, info, 1, argv))
		return NULL;
	struct obj_handle *o = unwrap_tagged(env, argv[0], &OBJ_TAG);
	if (!o) {
		throw_type_error(env, "object must be a BPF object handle");
		return NULL;
	}
	if (o->obj) {
		bpf_object__close(o->obj);
		o->obj = NULL;
	}
	o->state = OBJ_CLOSED;
	return make_undefined(env);
}

void object_exports(napi_env env, napi_value exports)
{
	static const struct export_entry fns[] = {
		{ "objOpen", js_obj_open },
		{ "objConstInfo", js_obj_const_info },
		{ "objSetConst", js_obj_set_const },
		{ "objSetMaxEntries", js_obj_set_max_entries },
		{ "objReuseMap", js_obj_reuse_map },
		{ "objSetAutoload", js_obj_set_autoload },
		{ "objLoad", js_obj_load },
		{ "objProgramNames", js_obj_program_names },
		{ "objMapNames", js_obj_map_names },
		{ "objProgram", js_obj_program },
		{ "objMap", js_obj_map },
		{ "objClose", js_obj_close },
	};
	export_functions(env, exports, fns, ARRAY_LEN(fns));
}
