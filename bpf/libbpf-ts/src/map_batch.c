// Batch map operations: whole-map lookup, multi-element update and delete in few syscalls. Where a
// map type has no batch support in the kernel (ENOTSUPP), the same result is produced element by
// element, so callers never need to know which map types the kernel batches.
#include "common.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifndef ENOTSUPP
#define ENOTSUPP 524
#endif

static bool unsupported(int err)
{
	return err == ENOTSUPP || err == EOPNOTSUPP;
}

struct kv_buf {
	uint8_t *keys, *values;
	size_t count, cap;
	size_t ks, vs;
};

static bool kv_reserve(struct kv_buf *b, size_t more)
{
	if (b->count + more <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->count + more)
		cap *= 2;
	// +1 keeps malloc(0) away for zero-sized keys or values
	uint8_t *k = realloc(b->keys, cap * b->ks + 1);
	if (!k)
		return false;
	b->keys = k;
	uint8_t *v = realloc(b->values, cap * b->vs + 1);
	if (!v)
		return false;
	b->values = v;
	b->cap = cap;
	return true;
}

static void free_finalizer(napi_env env, void *data, void *hint)
{
	free(data);
}

// Hands a malloc'd block to JS without copying it.
static napi_value external_buffer(napi_env env, uint8_t *data, size_t len)
{
	napi_value r;
	if (napi_create_external_buffer(env, len, data, free_finalizer, NULL, &r) != napi_ok) {
		free(data);
		napi_throw_last_status(env, "napi_create_external_buffer");
		return NULL;
	}
	return r;
}

static int lookup_by_iteration(struct fd_handle *h, struct kv_buf *b)
{
	uint8_t *cur = NULL, *next = malloc(b->ks + 1), *prev = malloc(b->ks + 1);
	int err = 0;
	if (!next || !prev) {
		err = ENOMEM;
		goto out;
	}
	while (bpf_map_get_next_key(h->fd, cur, next) == 0) {
		if (!kv_reserve(b, 1)) {
			err = ENOMEM;
			goto out;
		}
		if (bpf_map_lookup_elem(h->fd, next, b->values + b->count * b->vs) == 0) {
			memcpy(b->keys + b->count * b->ks, next, b->ks);
			b->count++;
		} else if (errno != ENOENT) {  // ENOENT: deleted between next_key and lookup
			err = errno;
			goto out;
		}
		memcpy(prev, next, b->ks);
		cur = prev;
	}
	if (errno != ENOENT)
		err = errno;
out:
	free(next);
	free(prev);
	return err;
}

// mapLookupBatch(map) → { count, keys: Buffer(count*keySize), values: Buffer(count*valueStride), batched }
static napi_value js_map_lookup_batch(napi_env env, napi_callback_info info)
{
	napi_value argv[1], r;
	if (!get_args(env, info, 1, argv))
		return NULL;
	struct fd_handle *h = fd_handle_get(env, argv[0], FD_MAP, "map");
	if (!h)
		return NULL;
	struct kv_buf b = { .ks = h->key_size, .vs = h->value_stride };
	// The resume token is a key for arrays and a bucket index for hashes: size it for both.
	size_t tok_size = h->key_size > 8 ? h->key_size : 8;
	uint8_t *in_tok = calloc(1, tok_size), *out_tok = calloc(1, tok_size);
	uint32_t chunk = 4096;
	bool first = true, batched = true;
	int err = 0;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	if (!in_tok || !out_tok) {
		err = ENOMEM;
		goto done;
	}
	for (;;) {
		if (!kv_reserve(&b, chunk)) {
			err = ENOMEM;
			break;
		}
		uint32_t n = chunk;
		int rc = bpf_map_lookup_batch(h->fd, first ? NULL : in_tok, out_tok, b.keys + b.count * b.ks,
					      b.values + b.count * b.vs, &n, &opts);
		int e = rc ? errno : 0;
		if (e && e != ENOENT && e != ENOSPC)
			n = 0;
		b.count += n;
		if (e == ENOENT)  // end of map
			break;
		if (e == ENOSPC && n == 0) {  // one hash bucket holds more than `chunk` elements
			chunk *= 2;
			continue;
		}
		if (e) {
			if (first && b.count == 0 && unsupported(e)) {
				batched = false;
				err = lookup_by_iteration(h, &b);
			} else {
				err = e;
			}
			break;
		}
		memcpy(in_tok, out_tok, tok_size);
		first = false;
	}
done:
	free(in_tok);
	free(out_tok);
	if (err) {
		free(b.keys);
		free(b.values);
		throw_errno(env, err, NULL, "map \"%s\" lookup batch", h->name);
		return NULL;
	}
	NAPI_TRY(env, napi_create_object(env, &r));
	set_prop(env, r, "count", make_u32(env, (uint32_t)b.count));
	set_prop(env, r, "keys", external_buffer(env, b.keys, b.count * b.ks));
	set_prop(env, r, "values", external_buffer(env, b.values, b.count * b.vs));
	set_prop(env, r, "batched", make_bool(env, batched));
	return r;
}

static bool batch_buffers(napi_env env, struct fd_handle *h, napi_value kv, napi_value vv, napi_value cv,
			  uint8_t **keys, uint8_t **values, uint32_t *count)
{
	size_t klen, vlen = 0;
	if (!get_u32_arg(env, cv, "count", count) || !get_buffer_arg(env, kv, "keys", (void **)keys, &klen))
		return false;
	if (klen != (size_t)*count * h->key_size) {
		throw_type_error(env, "keys: %u keys of map \"%s\" need %zu bytes, got %zu", *count, h->name,
				 (size_t)*count * h->key_size, klen);
		return false;
	}
	if (!vv)
		return true;
	if (!get_buffer_arg(env, vv, "values", (void **)values, &vlen))
		return false;
	if (vlen != (size_t)*count * h->value_stride) {
		throw_type_error(env, "values: %u values of map \"%s\" need %zu bytes, got %zu", *count, h->name,
				 (size_t)*count * h->value_stride, vlen);
		return false;
	}
	return true;
}

// mapUpdateBatch(map, keys, values, count, flags). Elements before a failing one stay updated.
static napi_value js_map_update_batch(napi_env env, napi_callback_info info)
{
	napi_value argv[5];
	uint8_t *keys, *values;
	uint32_t count, flags = BPF_ANY;
	if (!get_args(env, info, 5, argv))
		return NULL;
	struct fd_handle *h = fd_handle_get(env, argv[0], FD_MAP, "map");
	if (!h || !batch_buffers(env, h, argv[1], argv[2], argv[3], &keys, &values, &count) ||
	    (!is_nullish(env, argv[4]) && !get_u32_arg(env, argv[4], "flags", &flags)))
		return NULL;
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = flags);
	uint32_t done = 0;
	while (done < count) {
		uint32_t n = count - done;
		if (bpf_map_update_batch(h->fd, keys + (size_t)done * h->key_size, values + (size_t)done * h->value_stride,
					 &n, &opts) == 0) {
			done = count;
			break;
		}
		int e = errno;
		if (n > count - done)
			n = 0;
		done += n;
		if (!(done == 0 && unsupported(e))) {
			throw_errno(env, e, NULL, "map \"%s\" update batch: element %u of %u", h->name, done, count);
			return NULL;
		}
		for (; done < count; done++) {  // no batch support: element by element
			if (bpf_map_update_elem(h->fd, keys + (size_t)done * h->key_size,
						values + (size_t)done * h->value_stride, flags)) {
				throw_errno(env, errno, NULL, "map \"%s\" update: element %u of %u", h->name, done, count);
				return NULL;
			}
		}
	}
	return make_u32(env, done);
}

// mapDeleteBatch(map, keys, count) → number deleted; absent keys are skipped, not errors.
static napi_value js_map_delete_batch(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	uint8_t *keys;
	uint32_t count;
	if (!get_args(env, info, 3, argv))
		return NULL;
	struct fd_handle *h = fd_handle_get(env, argv[0], FD_MAP, "map");
	if (!h || !batch_buffers(env, h, argv[1], NULL, argv[2], &keys, NULL, &count))
		return NULL;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t done = 0, deleted = 0;
	bool batched = true;
	while (done < count) {
		const uint8_t *key = keys + (size_t)done * h->key_size;
		if (!batched) {
			if (bpf_map_delete_elem(h->fd, key) == 0)
				deleted++;
			else if (errno != ENOENT)
				goto fail;
			done++;
			continue;
		}
		uint32_t n = count - done;
		int rc = bpf_map_delete_batch(h->fd, key, &n, &opts);
		int e = rc ? errno : 0;
		if (n > count - done)
			n = 0;
		deleted += n;
		done += n;
		if (!e)
			break;
		if (e == ENOENT) {  // the key at `done` is absent: skip it and go on
			done++;
			continue;
		}
		if (unsupported(e) && n == 0) {
			batched = false;
			continue;
		}
		errno = e;
		goto fail;
	}
	return make_u32(env, deleted);
fail:
	throw_errno(env, errno, NULL, "map \"%s\" delete batch: element %u of %u", h->name, done, count);
	return NULL;
}

void map_batch_exports(napi_env env, napi_value exports)
{
	static const struct export_entry fns[] = {
		{ "mapLookupBatch", js_map_lookup_batch },
		{ "mapUpdateBatch", js_map_update_batch },
		{ "mapDeleteBatch", js_map_delete_batch },
	};
	export_functions(env, exports, fns, ARRAY_LEN(fns));
}
