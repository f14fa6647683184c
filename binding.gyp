{
  "targets": [
    {
      "target_name": "mesh_native",
      "sources": [
        "pkg/tun/native/binding.c",
        "pkg/tun/native/args.c",
        "pkg/tun/native/errors.c",
        "pkg/tun/native/tun.c",
        "pkg/tun/native/poll.c",
        "pkg/tun/native/udp.c",
        "pkg/tun/native/checksum.c",
        "pkg/tun/native/offload.c",
        "pkg/tun/native/offload_probe.c",
        "pkg/tun/native/netlink.c",
        "pkg/tun/native/aead.c"
      ],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"]
    }
  ]
}
