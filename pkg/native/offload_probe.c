// The offload steps of offload.c and tun.c run on JS buffers instead of a TUN, so unit tests (and fuzzing) reach
// exactly the code the device uses without root or a kernel in the loop:
//
//   offload_tso_cut(hdr, pkt, slots, slotSize, lens): count -- what one readv of `hdr` (the 10-byte vnet header)
//       and `pkt` turns into: the packets in slots[i * slotSize ..], their lengths in lens (at most one batch:
//       segments past the last slot are dropped here, where the device would deliver them with the next batch).
//   offload_gro_join(buf, offsets, lens, count, out, outLens[, refuseGsoType, refusals]): records -- the writes a
//       tun_writev_batch of those packets makes, back to back in `out`, each record vnet header + packet, its
//       length in outLens. With refuseGsoType (>= 0) the buffer refuses records of that gso_type, as a kernel
//       refusing a joined write would; refusals[0] is increased as tun_writev_batch increases it.
//   offload_gro_join_udp(...): the same on a device that took the UDP offloads too (TUN_F_USO4/6).
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mesh_native.h"
#include "packet_bounds.h"

#define MAX_SLOT 65536

napi_value offload_tso_cut(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  mt_view_t hdr, pkt, slots, lens;
  uint32_t slot_size;
  if (mt_get_args(env, info, 5, argv) < 0 || mt_get_view(env, argv[0], napi_uint8_array, &hdr) < 0 ||
      mt_get_view(env, argv[1], napi_uint8_array, &pkt) < 0 ||
      mt_get_view(env, argv[2], napi_uint8_array, &slots) < 0 || mt_get_u32(env, argv[3], &slot_size) < 0 ||
      mt_get_view(env, argv[4], napi_uint32_array, &lens) < 0) {
    return NULL;
  }
  if (hdr.byte_length < sizeof(mt_vnet_hdr_t)) {
    mt_throw_range(env, "the vnet header is 10 bytes");
    return NULL;
  }
  if (slot_size == 0 || slot_size > MAX_SLOT || slots.byte_length < slot_size || lens.length == 0) {
    mt_throw_range(env, "no room for one slot");
    return NULL;
  }
  if (pkt.byte_length > (size_t) slot_size + MT_TSO_MAX) {
    mt_throw_range(env, "longer than one read can be");
    return NULL;
  }
  uint32_t slot_count = (uint32_t) (slots.byte_length / slot_size);
  if (slot_count > lens.length) slot_count = (uint32_t) lens.length;

  mt_vnet_hdr_t h;
  memcpy(&h, hdr.data, sizeof(h));
  mt_tun_reader_t *s = calloc(1, sizeof(*s) + slot_size + MT_TSO_MAX);
  if (s == NULL) {
    mt_throw_errno(env, "calloc", ENOMEM);
    return NULL;
  }
  s->vnet = 1;
  mt_batch_t b = {.fd = -1, .slots = slots.data, .slot_size = slot_size, .slot_count = slot_count, .meta = lens.data};
  // Where readv would have put the bytes: the head in the first free slot, the rest behind the tso copy.
  size_t len = pkt.byte_length;
  size_t head = len < slot_size ? len : slot_size;
  memcpy(b.slots, pkt.data, head);
  if (len > head) memcpy(s->tso + slot_size, (const uint8_t *) pkt.data + head, len - head);
  uint32_t n = len == 0 ? 0 : mt_tun_take(s, &b, 0, &h, len);
  free(s);

  napi_value result;
  napi_create_uint32(env, n, &result);
  return result;
}

typedef struct {
  uint8_t *out;
  size_t cap, used;
  uint32_t *lens;
  size_t max_records, records;
  int refuse_gso_type; // -1: none
} buffer_sink_t;

static int buffer_sink(void *ctx, struct iovec *iov, int iovcnt) {
  buffer_sink_t *s = ctx;
  if (s->refuse_gso_type >= 0 && ((const mt_vnet_hdr_t *) iov[0].iov_base)->gso_type == s->refuse_gso_type) return 0;
  size_t total = 0;
  for (int i = 0; i < iovcnt; i++) total += iov[i].iov_len;
  if (s->records >= s->max_records || total > s->cap - s->used) return -ENOBUFS;
  for (int i = 0; i < iovcnt; i++) {
    memcpy(s->out + s->used, iov[i].iov_base, iov[i].iov_len);
    s->used += iov[i].iov_len;
  }
  s->lens[s->records++] = (uint32_t) total;
  return 1;
}

static napi_value gro_join(napi_env env, napi_callback_info info, int uso) {
  napi_value argv[8];
  size_t argc;
  mt_view_t buf, offsets, lens, out, out_lens, refusals = {0};
  uint32_t count;
  int32_t refuse = -1;
  if (mt_get_args_upto(env, info, 6, 8, argv, &argc) < 0 || mt_get_view(env, argv[0], napi_uint8_array, &buf) < 0 ||
      mt_get_view(env, argv[1], napi_uint32_array, &offsets) < 0 ||
      mt_get_view(env, argv[2], napi_uint32_array, &lens) < 0 || mt_get_u32(env, argv[3], &count) < 0 ||
      mt_get_view(env, argv[4], napi_uint8_array, &out) < 0 ||
      mt_get_view(env, argv[5], napi_uint32_array, &out_lens) < 0 ||
      (argc > 6 && mt_get_i32(env, argv[6], &refuse) < 0) ||
      (argc > 7 && mt_get_view(env, argv[7], napi_uint32_array, &refusals) < 0)) {
    return NULL;
  }
  if (mt_check_packet_batch(env, &buf, &offsets, &lens, count) < 0) return NULL;
  if (argc > 7 && refusals.length == 0) {
    mt_throw_range(env, "refusals needs one element");
    return NULL;
  }
  buffer_sink_t sink = {.out = out.data,
                        .cap = out.byte_length,
                        .lens = out_lens.data,
                        .max_records = out_lens.length,
                        .refuse_gso_type = refuse < 0 ? -1 : refuse};
  // Grouped as tun_writev_batch groups them (mt_pkt_group, packet_bounds.h).
  mt_pkt_t pkts[MT_PKT_GROUP];
  for (uint32_t base = 0; base < count; base += MT_PKT_GROUP) {
    uint32_t chunk = mt_pkt_group(pkts, &buf, &offsets, &lens, base, count);
    for (uint32_t i = 0; i < chunk;) {
      mt_emit_t e;
      // `uso` lives across the batch as the fd's remembered flags do (tun.c): a refusal ends UDP joins.
      i += mt_gro_emit(pkts, i, chunk, &uso, buffer_sink, &sink, &e);
      if (e.refused && refusals.length > 0) ((uint32_t *) refusals.data)[0] += e.refused;
      if (e.err) {
        mt_throw_range(env, "the output buffer or its lengths array is too small");
        return NULL;
      }
    }
  }
  napi_value result;
  napi_create_uint32(env, (uint32_t) sink.records, &result);
  return result;
}

napi_value offload_gro_join(napi_env env, napi_callback_info info) {
  return gro_join(env, info, 0);
}

napi_value offload_gro_join_udp(napi_env env, napi_callback_info info) {
  return gro_join(env, info, 1);
}
