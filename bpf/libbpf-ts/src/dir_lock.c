// An exclusive flock(2) on a directory (e.g. a BPF pin directory), for "one process per
// directory" rules. The kernel drops the lock when the last fd of the open file goes away, so a
// process killed with SIGKILL never leaves a stale lock behind, unlike a pid file. The fd is
// O_CLOEXEC: children (systemd-notify, ip) never inherit it.
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

// dirLock(path) → fd holding the lock, or -1 when another open file holds it.
static napi_value js_dir_lock(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	char *path;
	int fd, err;

	if (!get_args(env, info, 1, argv) || !(path = get_string_arg(env, argv[0], "path")))
		return NULL;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		throw_errno(env, err, NULL, "lock directory %s", path);
		free(path);
		return NULL;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		err = errno;
		close(fd);
		if (err == EWOULDBLOCK) {
			free(path);
			return make_i64(env, -1);
		}
		throw_errno(env, err, NULL, "lock directory %s", path);
		free(path);
		return NULL;
	}
	free(path);
	return make_i64(env, fd);
}

// dirUnlock(fd): closing the fd releases the lock.
static napi_value js_dir_unlock(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	int32_t fd;

	if (!get_args(env, info, 1, argv) || !get_i32_arg(env, argv[0], "fd", &fd))
		return NULL;
	if (fd >= 0)
		close(fd);
	return make_undefined(env);
}

void dir_lock_exports(napi_env env, napi_value exports)
{
	static const struct export_entry fns[] = {
		{ "dirLock", js_dir_lock },
		{ "dirUnlock", js_dir_unlock },
	};
	export_functions(env, exports, fns, ARRAY_LEN(fns));
}
