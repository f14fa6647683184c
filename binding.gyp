{
  "targets": [
    {
      "target_name": "mesh_native",
      "sources": [
        "pkg/native/binding.c",
        "pkg/native/args.c",
        "pkg/native/errors.c",
        "pkg/native/tun.c",
        "pkg/native/poll.c",
        "pkg/native/udp.c",
        "pkg/native/udp_gro.c",
        "pkg/native/checksum.c",
        "pkg/native/offload.c",
        "pkg/native/offload_udp.c",
        "pkg/native/offload_probe.c",
        "pkg/native/netlink.c",
        "pkg/native/aead.c"
      ],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"]
    }
  ]
}
