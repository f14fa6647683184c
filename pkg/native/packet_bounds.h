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

// Packets per group handed to the GRO join: tun_writev_batch writes a batch in groups of this many, and its probe
// groups the same way.
#define MT_PKT_GROUP 64

// Fills `pkts` with the next group of a checked batch, packets base.. (at most MT_PKT_GROUP); returns how many.
static inline uint32_t mt_pkt_group(mt_pkt_t *pkts, const mt_view_t *buf, const mt_view_t *offsets,
                                    const mt_view_t *lens, uint32_t base, uint32_t count) {
  const uint32_t *off = offsets->data;
  const uint32_t *len = lens->data;
  uint32_t n = count - base < MT_PKT_GROUP ? count - base : MT_PKT_GROUP;
  for (uint32_t i = 0; i < n; i++) {
    pkts[i].data = (const uint8_t *) buf->data + off[base + i];
    pkts[i].len = len[base + i];
  }
  return n;
}

#endif
