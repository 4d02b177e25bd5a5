// Batch map operations: whole-map lookup, multi-element update and delete in few syscalls. Where a
// map type has no batch support in the kernel (ENOTSUPP), the same result is produced element by
// element, so callers never need to know which map types the kernel batches.
#include "common.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
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


struct key_ref {
	uint32_t key, index;
};

static int cmp_key_ref(const void *a, const void *b)
{
	uint32_t x = ((const struct key_ref *)a)->key, y = ((const struct key_ref *)b)->key;
	return x < y ? -1 : x > y;
}

// Sums `fields` u64 counters of one per-CPU value over every CPU into out[0..fields).
static void sum_per_cpu(const uint8_t *value, uint32_t slot, int cpus, uint32_t fields, double *out)
{
	for (uint32_t f = 0; f < fields; f++) {
		uint64_t sum = 0;
		for (int c = 0; c < cpus; c++) {
			uint64_t v;
			memcpy(&v, value + (size_t)c * slot + f * 8, 8);
			sum += v;
		}
		out[f] = (double)sum;
	}
}

// Keys this far apart are read in one batch call (reading a few unused elements costs less than a
// system call), and a batch call reads at most this many elements (bounds the scratch buffer).
#define SUM_GAP 32
#define SUM_CHUNK 1024

// mapSumPerCpu(map, keys: Uint32Array, fields) → Float64Array(keys.length * fields): for every key,
// its per-CPU value's first `fields` u64 counters summed over the possible CPUs. Array maps are read
// with batch lookups over runs of nearby keys (only the runs, not the whole map); other maps key by
// key. A key without an element sums to 0. Keys must be u32 and below max_entries for arrays.
static napi_value js_map_sum_per_cpu(napi_env env, napi_callback_info info)
{
	napi_value argv[3], result, ab;
	if (!get_args(env, info, 3, argv))
		return NULL;
	struct fd_handle *h = fd_handle_get(env, argv[0], FD_MAP, "map");
	if (!h)
		return NULL;
	uint32_t fields;
	if (!get_u32_arg(env, argv[2], "fields", &fields))
		return NULL;
	if (!h->per_cpu || h->key_size != 4) {
		throw_type_error(env, "map \"%s\": sumPerCpu needs a per-CPU map with 4-byte keys", h->name);
		return NULL;
	}
	if (fields == 0 || (size_t)fields * 8 > h->value_size) {
		throw_range_error(env, "fields: %u u64 counters do not fit the %u-byte values of map \"%s\"", fields, h->value_size, h->name);
		return NULL;
	}
	bool is_typed;
	napi_typedarray_type ttype;
	size_t nkeys;
	void *kdata;
	if (napi_is_typedarray(env, argv[1], &is_typed) != napi_ok || !is_typed ||
	    napi_get_typedarray_info(env, argv[1], &ttype, &nkeys, &kdata, NULL, NULL) != napi_ok || ttype != napi_uint32_array) {
		throw_type_error(env, "keys must be a Uint32Array");
		return NULL;
	}
	const uint32_t *keys = kdata;
	bool is_array = h->map_type == BPF_MAP_TYPE_PERCPU_ARRAY;
	if (is_array) {
		for (size_t i = 0; i < nkeys; i++) {
			if (keys[i] >= h->max_entries) {
				throw_range_error(env, "keys[%zu]: %u is not below max_entries %u of map \"%s\"", i, keys[i], h->max_entries, h->name);
				return NULL;
			}
		}
	}
	int cpus = possible_cpus();
	uint32_t slot = h->value_stride / (uint32_t)cpus;
	double *out;
	NAPI_TRY(env, napi_create_arraybuffer(env, nkeys * fields * sizeof(double) + 1, (void **)&out, &ab));
	memset(out, 0, nkeys * fields * sizeof(double));
	NAPI_TRY(env, napi_create_typedarray(env, napi_float64_array, nkeys * fields, ab, 0, &result));
	if (nkeys == 0)
		return result;

	struct key_ref *order = malloc(nkeys * sizeof(*order));
	uint8_t *vals = malloc((size_t)SUM_CHUNK * (h->value_stride + 4) + 8);
	uint8_t *kbuf = malloc((size_t)SUM_CHUNK * 4 + 4);
	int err = 0;
	if (!order || !vals || !kbuf) {
		err = ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nkeys; i++)
		order[i] = (struct key_ref){ keys[i], (uint32_t)i };
	qsort(order, nkeys, sizeof(*order), cmp_key_ref);

	bool batched = is_array;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	size_t i = 0;
	while (i < nkeys) {
		uint32_t first = order[i].key;
		if (!batched) {
			if (bpf_map_lookup_elem(h->fd, &first, vals) == 0) {
				sum_per_cpu(vals, slot, cpus, fields, out + (size_t)order[i].index * fields);
			} else if (errno != ENOENT) {
				err = errno;
				goto out;
			}
			// duplicates of the same key share the sum
			size_t j = i + 1;
			for (; j < nkeys && order[j].key == first; j++)
				memcpy(out + (size_t)order[j].index * fields, out + (size_t)order[i].index * fields, fields * sizeof(double));
			i = j;
			continue;
		}
		// A run: keys from `first` while the gaps stay small and the run fits a chunk.
		size_t j = i + 1;
		while (j < nkeys && order[j].key - order[j - 1].key <= SUM_GAP && order[j].key - first < SUM_CHUNK)
			j++;
		uint32_t last = order[j - 1].key;
		uint32_t want = last - first + 1, got = want;
		uint32_t prev = first - 1, next_token;
		int rc = bpf_map_lookup_batch(h->fd, first == 0 ? NULL : &prev, &next_token, kbuf, vals, &got, &opts);
		if (rc && errno != ENOENT) {
			if (unsupported(errno) && i == 0) {  // no batch lookup on this kernel: key by key
				batched = false;
				continue;
			}
			err = errno;
			goto out;
		}
		if (got > want)
			got = want;
		for (size_t k = i; k < j; k++) {
			uint32_t pos = order[k].key - first;
			if (pos < got)
				sum_per_cpu(vals + (size_t)pos * h->value_stride, slot, cpus, fields, out + (size_t)order[k].index * fields);
		}
		i = j;
	}
out:
	free(order);
	free(vals);
	free(kbuf);
	if (err) {
		throw_errno(env, err, NULL, "map \"%s\" sum per CPU", h->name);
		return NULL;
	}
	return result;
}

// mapSetInnerBatch(map, keys: Buffer(count*keySize), inners: handle[]) → count. Points keys[i] at
// inners[i] (maps for a map-in-map, programs for a program array) with one BPF_MAP_UPDATE_BATCH:
// the kernel waits for running programs (an RCU grace period) once per call, not once per element,
// which is what makes installing thousands of inner maps cheap. Element by element where the kernel
// has no batch update for the map type. Elements before a failing one stay updated.
static napi_value js_map_set_inner_batch(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	if (!get_args(env, info, 3, argv))
		return NULL;
	struct fd_handle *h = fd_handle_get(env, argv[0], FD_MAP, "map");
	if (!h)
		return NULL;
	bool want_prog = h->map_type == BPF_MAP_TYPE_PROG_ARRAY;
	if (!want_prog && h->map_type != BPF_MAP_TYPE_ARRAY_OF_MAPS && h->map_type != BPF_MAP_TYPE_HASH_OF_MAPS) {
		throw_type_error(env, "map: \"%s\" is not a map-in-map or program array", h->name);
		return NULL;
	}
	bool is_array;
	uint32_t count;
	if (napi_is_array(env, argv[2], &is_array) != napi_ok || !is_array) {
		throw_type_error(env, "inners must be an array");
		return NULL;
	}
	NAPI_TRY(env, napi_get_array_length(env, argv[2], &count));
	uint8_t *keys;
	size_t klen;
	if (!get_buffer_arg(env, argv[1], "keys", (void **)&keys, &klen))
		return NULL;
	if (klen != (size_t)count * h->key_size) {
		throw_type_error(env, "keys: %u keys of map \"%s\" need %zu bytes, got %zu", count, h->name, (size_t)count * h->key_size, klen);
		return NULL;
	}
	uint32_t *fds = malloc((size_t)count * sizeof(uint32_t) + 4);
	if (!fds) {
		throw_errno(env, ENOMEM, NULL, "map \"%s\" set inner batch", h->name);
		return NULL;
	}
	for (uint32_t i = 0; i < count; i++) {
		napi_value v;
		char arg[32];
		snprintf(arg, sizeof(arg), "inners[%u]", i);
		struct fd_handle *inner = napi_get_element(env, argv[2], i, &v) == napi_ok ? fd_handle_get(env, v, want_prog ? FD_PROG : FD_MAP, arg) : NULL;
		if (!inner) {
			free(fds);
			return NULL;
		}
		fds[i] = (uint32_t)inner->fd;
	}
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t done = 0;
	while (done < count) {
		uint32_t n = count - done;
		if (bpf_map_update_batch(h->fd, keys + (size_t)done * h->key_size, fds + done, &n, &opts) == 0) {
			done = count;
			break;
		}
		int e = errno;
		if (n > count - done)
			n = 0;
		done += n;
		if (!(done == 0 && unsupported(e))) {
			free(fds);
			throw_errno(env, e, NULL, "map \"%s\" set inner batch: element %u of %u", h->name, done, count);
			return NULL;
		}
		for (; done < count; done++) {
			if (bpf_map_update_elem(h->fd, keys + (size_t)done * h->key_size, fds + done, BPF_ANY)) {
				int e2 = errno;
				free(fds);
				throw_errno(env, e2, NULL, "map \"%s\" set inner: element %u of %u", h->name, done, count);
				return NULL;
			}
		}
	}
	free(fds);
	return make_u32(env, done);
}

void map_batch_exports(napi_env env, napi_value exports)
{
	static const struct export_entry fns[] = {
		{ "mapLookupBatch", js_map_lookup_batch },
		{ "mapUpdateBatch", js_map_update_batch },
		{ "mapDeleteBatch", js_map_delete_batch },
		{ "mapSumPerCpu", js_map_sum_per_cpu },
		{ "mapSetInnerBatch", js_map_set_inner_batch },
	};
	export_functions(env, exports, fns, ARRAY_LEN(fns));
}
