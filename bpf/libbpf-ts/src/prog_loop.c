// progTestRunLoop: BPF_PROG_TEST_RUN called back to back from C, `count` times with repeat = 1 —
// no JavaScript, allocation or copy-out between calls — optionally pinned to one CPU. Each call
// sees a fresh copy of the packet (the kernel copies data_in per call), so programs that rewrite or
// encapsulate it are measured on the packet as given. `mutateOffset` ≥ 0 writes the call number
// (start + i, big-endian u32) at that offset first: a new source address or port per call, e.g.
// a fresh 5-tuple for every SYN. Returns the kernel's per-call durations and how many calls
// returned something other than `expectRetval`.
#include "common.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

// progTestRunLoop(prog, data, count, expectRetval, mutateOffset (-1: none), mutateStart, cpu (-1: any))
//   → { durations: Uint32Array, mismatches, firstRetval }
static napi_value js_prog_test_run_loop(napi_env env, napi_callback_info info)
{
	napi_value argv[7], r, ab, arr;
	void *data;
	size_t data_len;
	uint32_t count, expect, start;
	int32_t mutate_off, cpu;
	if (!get_args(env, info, 7, argv))
		return NULL;
	struct fd_handle *h = fd_handle_get(env, argv[0], FD_PROG, "program");
	if (!h || !get_buffer_arg(env, argv[1], "data", &data, &data_len) || !get_u32_arg(env, argv[2], "count", &count) ||
	    !get_u32_arg(env, argv[3], "expectRetval", &expect) || !get_i32_arg(env, argv[4], "mutateOffset", &mutate_off) ||
	    !get_u32_arg(env, argv[5], "mutateStart", &start) || !get_i32_arg(env, argv[6], "cpu", &cpu))
		return NULL;
	if (mutate_off >= 0 && (size_t)mutate_off + 4 > data_len) {
		throw_range_error(env, "mutateOffset %d: the packet has %zu bytes", mutate_off, data_len);
		return NULL;
	}
	if (count == 0 || count > (1u << 26)) {
		throw_range_error(env, "count must be 1 … %u", 1u << 26);
		return NULL;
	}
	uint8_t *pkt = malloc(data_len);
	uint32_t *durations;
	NAPI_TRY(env, napi_create_arraybuffer(env, (size_t)count * 4, (void **)&durations, &ab));
	if (!pkt) {
		throw_errno(env, ENOMEM, NULL, "program \"%s\" test run loop", h->name);
		return NULL;
	}
	memcpy(pkt, data, data_len);
	cpu_set_t saved, one;
	bool pinned = false;
	if (cpu >= 0) {
		if (sched_getaffinity(0, sizeof(saved), &saved)) {
			free(pkt);
			throw_errno(env, errno, NULL, "sched_getaffinity");
			return NULL;
		}
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		if (sched_setaffinity(0, sizeof(one), &one)) {
			free(pkt);
			throw_errno(env, errno, NULL, "pin to CPU %d", cpu);
			return NULL;
		}
		pinned = true;
	}
	uint32_t mismatches = 0, first = 0;
	int err = 0;
	for (uint32_t i = 0; i < count; i++) {
		if (mutate_off >= 0) {
			uint32_t v = __builtin_bswap32(start + i);
			memcpy(pkt + mutate_off, &v, 4);
		}
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = (uint32_t)data_len, .repeat = 1);
		if (bpf_prog_test_run_opts(h->fd, &o)) {
			err = errno;
			break;
		}
		durations[i] = o.duration;
		if (i == 0)
			first = o.retval;
		if (o.retval != expect)
			mismatches++;
	}
	if (pinned)
		sched_setaffinity(0, sizeof(saved), &saved);
	free(pkt);
	if (err) {
		throw_errno(env, err, NULL, "program \"%s\" test run loop", h->name);
		return NULL;
	}
	NAPI_TRY(env, napi_create_typedarray(env, napi_uint32_array, count, ab, 0, &arr));
	NAPI_TRY(env, napi_create_object(env, &r));
	set_prop(env, r, "durations", arr);
	set_prop(env, r, "mismatches", make_u32(env, mismatches));
	set_prop(env, r, "firstRetval", make_u32(env, first));
	return r;
}

void prog_loop_exports(napi_env env, napi_value exports)
{
	static const struct export_entry fns[] = {
		{ "progTestRunLoop", js_prog_test_run_loop },
	};
	export_functions(env, exports, fns, ARRAY_LEN(fns));
}
