// The bounds check of a packet batch handed in from JS as (buf, offsets, lens, count): packet i is
// buf[offsets[i] .. offsets[i] + lens[i]). tun_writev_batch (tun.c) and its probe offload_gro_join
// (offload_probe.c) take the same arguments, so they check them here, once, the same way: the probe tests the
// device's check, not a copy of it.
#ifndef MESH_PACKET_BOUNDS_H
#define MESH_PACKET_BOUNDS_H

#include "mesh_native.h"

// 0 when `count` fits both arrays and every packet lies inside `buf`; else throws a RangeError and returns -1.
// The sum is taken in 64 bits so an offset near 2^32 cannot wrap past the check.
static inline int mt_check_packet_batch(napi_env env, const mt_view_t *buf, const mt_view_t *offsets,
                                        const mt_view_t *lens, uint32_t count) {
  if (count > offsets->length || count > lens->length) {
    mt_throw_range(env, "count exceeds the offsets or lens array");
    return -1;
  }
  const uint32_t *off = offsets->data;
  const uint32_t *len = lens->data;
  for (uint32_t i = 0; i < count; i++) {
    if ((uint64_t) off[i] + len[i] > buf->byte_length) {
      mt_throw_range(env, "packet lies outside the buffer");
      return -1;
    }
  }
  return 0;
}

#endif
