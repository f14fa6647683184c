// Module registration: the flat export table.
#include "mesh_native.h"

static void export_fn(napi_env env, napi_value exports, const char *name, napi_callback fn) {
  napi_value value;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &value);
  napi_set_named_property(env, exports, name, value);
}

static napi_value init(napi_env env, napi_value exports) {
  export_fn(env, exports, "tun_open", tun_open);
  export_fn(env, exports, "tun_close", tun_close);
  export_fn(env, exports, "tun_write", tun_write);
  export_fn(env, exports, "tun_writev_batch", tun_writev_batch);
  export_fn(env, exports, "tun_poll_start", tun_poll_start);
  export_fn(env, exports, "tun_poll_stop", mt_poll_stop);
  export_fn(env, exports, "tun_socketpair", tun_socketpair);
  export_fn(env, exports, "offload_tso_cut", offload_tso_cut);
  export_fn(env, exports, "offload_gro_join", offload_gro_join);
  export_fn(env, exports, "offload_gro_join_udp", offload_gro_join_udp);

  export_fn(env, exports, "udp_open", udp_open);
  export_fn(env, exports, "udp_set_buffers", udp_set_buffers);
  export_fn(env, exports, "udp_sendmmsg", udp_sendmmsg);
  export_fn(env, exports, "udp_set_gro", udp_set_gro);
  export_fn(env, exports, "udp_gro_cut", udp_gro_cut);
  export_fn(env, exports, "udp_poll_start", udp_poll_start);
  export_fn(env, exports, "udp_poll_stop", mt_poll_stop);
  export_fn(env, exports, "udp_close", tun_close); // closing a descriptor is the same for all three

  export_fn(env, exports, "netlink_open_addr_watch", netlink_open_addr_watch);
  export_fn(env, exports, "netlink_open_route_watch", netlink_open_route_watch);
  export_fn(env, exports, "netlink_poll_start", netlink_poll_start);
  export_fn(env, exports, "netlink_poll_stop", mt_poll_stop);
  export_fn(env, exports, "netlink_close", tun_close);

  export_fn(env, exports, "aead_create", aead_create);
  export_fn(env, exports, "aead_close", aead_close);
  export_fn(env, exports, "aead_seal", aead_seal);
  export_fn(env, exports, "aead_open", aead_open);
  export_fn(env, exports, "aead_seal_batch", aead_seal_batch);
  export_fn(env, exports, "aead_open_batch", aead_open_batch);
  export_fn(env, exports, "aead_seal_single", aead_seal_single);
  export_fn(env, exports, "aead_open_single", aead_open_single);

  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
