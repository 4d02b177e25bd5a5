# libbpf-ts: N-API (C, NAPI_VERSION 8) binding to the system libbpf (Debian libbpf-dev 1.1).
# Build: npx --no-install node-gyp rebuild --nodedir=/usr  →  build/Release/libbpf_ts.node
{
  "targets": [
    {
      "target_name": "libbpf_ts",
      # gyp strips a leading "lib" from target names; put it back so the file is libbpf_ts.node
      "product_prefix": "lib",
      "sources": [
        "src/addon.c",
        "src/errors.c",
        "src/napi_util.c",
        "src/fd_handle.c",
        "src/object.c",
        "src/map_ops.c",
        "src/map_batch.c",
        "src/map_mmap.c",
        "src/prog_ops.c",
        "src/prog_loop.c",
        "src/netlink.c",
        "src/ringbuf.c",
        "src/capture_ring.c",
        "src/dir_lock.c",
        "src/prober.c"
      ],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter",
                 "-Wno-missing-field-initializers", "-fvisibility=hidden"],
      "libraries": ["<!@(pkg-config --libs libbpf)"],
      "include_dirs": ["<!@(pkg-config --cflags-only-I libbpf | sed 's/-I//g')"]
    }
  ]
}
