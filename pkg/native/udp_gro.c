// Coalesced receives on the underlay socket (UDP_GRO; docs/ipv6.md "Offloads", "The underlay socket").
//
// A peer that sends a run of equal-sized datagrams with UDP_SEGMENT (udp.c) hands its kernel one buffer. Without
// UDP_GRO on our socket, the receiving kernel cuts it back into datagrams before queueing them (one buffer, one
// queueing and one recvmmsg slot each; on a veth or loopback hop all of it on the sender's CPU). With UDP_GRO it
// queues the run whole and recvmmsg returns it as one message with its segment size in a control message; the cut
// is done here, into the batch's slots, so JS sees the same datagrams, in the same order, from the same sender.
//
// Nothing the kernel hands us is trusted: a message is dropped (as a truncated one is) when its control data was
// cut short or carries a malformed UDP_GRO record, when the segment size is 0 or larger than a slot, when it would
// make more than MT_GRO_MAX_SEGMENTS datagrams, or when it is a single datagram longer than a slot.
//
// MT_GRO_MAX_SEGMENTS is 128: the most a sender's kernel puts in one UDP_SEGMENT send (Linux 6.18 takes 128 and
// refuses 129), and such a run crosses a veth or loopback whole; our own sends use at most 64 (udp.c). The count
// costs nothing to allow: the region bounds the memory and `pending` hands out any number (docs/ipv6.md).
// Messages land in a region of this reader's own (a run may be up to 64 KiB, a slot 9 KiB) and are copied into the
// slots; a run that does not fit in the batch's free slots is handed out from there in the next batch (`pending`).
// The regions are allocated with the first read and touched only as far as messages fill them.
#define _GNU_SOURCE // recvmmsg
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "mesh_native.h"

#ifndef UDP_GRO
#define UDP_GRO 104 // the kernel's ABI (Linux >= 5.0); older headers lack it
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif

#define META_WORDS 8
#define GRO_MESSAGES 64
// Largest message one recvmsg can return: a UDP payload is at most 65507 bytes (IPv4) or 65527 (IPv6).
#define GRO_REGION 65536
#define GRO_FD_TABLE 4096
// About as many datagrams as one wakeup of the plain reader takes (poll.c: 4 batches of 64) per recvmmsg: the
// messages asked for are this over the datagrams per message of the last read, so runs held back for the next
// batches never keep the event loop from the TUN and timers much longer than single datagrams would.
#define GRO_DATAGRAMS_PER_READ 256

typedef union {
  char buf[CMSG_SPACE(sizeof(int))];
  struct cmsghdr align;
} mt_gro_cmsg_t;

typedef struct {
  uint32_t count;       // messages the last recvmmsg returned
  uint32_t cur;         // the message being handed out
  uint32_t offset;      // where its next datagram starts
  uint32_t per_message; // datagrams per message in the last read, rounded up; before the first, 64
  uint32_t seg[GRO_MESSAGES];
  uint32_t addr[GRO_MESSAGES][META_WORDS]; // words 2..7 of each message's records (family, port, address)
  struct mmsghdr msgs[GRO_MESSAGES];
  struct iovec iov[GRO_MESSAGES];
  struct sockaddr_storage from[GRO_MESSAGES];
  mt_gro_cmsg_t ctrl[GRO_MESSAGES];
  uint8_t region[]; // GRO_MESSAGES * GRO_REGION
} mt_gro_reader_t;

static uint8_t gro_fds[GRO_FD_TABLE];

int mt_udp_gro_on(int fd) {
  return fd >= 0 && fd < GRO_FD_TABLE && gro_fds[fd];
}

void mt_udp_gro_forget(int fd) {
  if (fd >= 0 && fd < GRO_FD_TABLE) gro_fds[fd] = 0;
}

static uint32_t gro_segment_size(const struct msghdr *h, uint32_t len, uint32_t slot_size) {
  if (h->msg_flags & (MSG_TRUNC | MSG_CTRUNC)) return 0;
  int found = 0, size = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR((struct msghdr *) h, c)) {
    if (c->cmsg_level != SOL_UDP || c->cmsg_type != UDP_GRO) continue;
    if (found || c->cmsg_len != CMSG_LEN(sizeof(int))) return 0; // twice, or not one int: malformed
    // CMSG_FIRSTHDR vouches only for the record's header: its int must lie inside the control data too.
    if ((size_t) ((char *) c - (char *) h->msg_control) + c->cmsg_len > h->msg_controllen) return 0;
    memcpy(&size, CMSG_DATA(c), sizeof(int));
    found = 1;
  }
  // One datagram: a zero-length one is one (empty) datagram, as without UDP_GRO.
  if (!found) return len <= slot_size ? (len > 0 ? len : 1) : 0;
  if (size <= 0 || (uint32_t) size > slot_size) return 0;
  if ((uint32_t) size >= len) return len > 0 ? len : 1;
  if ((len - 1) / (uint32_t) size + 1 > MT_GRO_MAX_SEGMENTS) return 0;
  return (uint32_t) size;
}

// Hands out datagrams from the held messages into slots n.. of the batch; returns the new count.
static uint32_t emit(mt_gro_reader_t *s, mt_batch_t *b, uint32_t n) {
  while (s->cur < s->count && n < b->slot_count) {
    uint32_t i = s->cur, len = s->msgs[i].msg_len, seg = s->seg[i];
    if (seg == 0) {
      s->cur++, s->offset = 0;
      continue;
    }
    uint32_t part = len - s->offset < seg ? len - s->offset : seg;
    uint8_t *slot = b->slots + (size_t) n * b->slot_size;
    memcpy(slot, s->region + (size_t) i * GRO_REGION + s->offset, part);
    uint32_t *rec = b->meta + (size_t) n * META_WORDS;
    memcpy(rec, s->addr[i], sizeof(s->addr[i]));
    rec[0] = n * b->slot_size;
    rec[1] = part;
    n++;
    s->offset += seg;
    if (s->offset >= len) s->cur++, s->offset = 0;
  }
  return n;
}

static mt_gro_reader_t *reader_state(mt_batch_t *b) {
  if (b->state == NULL) {
    // calloc of this size maps fresh zero pages: only the pages messages reach become resident.
    mt_gro_reader_t *s = calloc(1, sizeof(mt_gro_reader_t) + (size_t) GRO_MESSAGES * GRO_REGION);
    if (s != NULL) s->per_message = 64; // before the first read: full runs as we send them (udp.c)
    b->state = s;                       // freed with the poll
  }
  return b->state;
}

// Takes `count` messages as recvmmsg left them in s (their lengths, senders, control data): sizes and addresses.
static void gro_take(mt_gro_reader_t *s, uint32_t count, uint32_t slot_size) {
  s->count = count, s->cur = 0, s->offset = 0;
  uint32_t datagrams = 0;
  for (uint32_t i = 0; i < count; i++) {
    s->seg[i] = gro_segment_size(&s->msgs[i].msg_hdr, s->msgs[i].msg_len, slot_size);
    if (s->seg[i] == 0) continue;
    mt_udp_addr_to_meta(&s->from[i], s->addr[i]);
    datagrams += s->msgs[i].msg_len > s->seg[i] ? (s->msgs[i].msg_len - 1) / s->seg[i] + 1 : 1;
  }
  if (count > 0) s->per_message = datagrams > count ? (datagrams + count - 1) / count : 1;
}

uint32_t mt_udp_gro_read(mt_batch_t *b, int *err) {
  *err = 0;
  mt_gro_reader_t *s = reader_state(b);
  if (s == NULL) {
    *err = ENOMEM;
    return 0;
  }
  // Held datagrams go first, and a call that hands some out reads nothing new: poll.c then calls again only while
  // some are held or the batch is full, and the socket (level-triggered) wakes it for the rest.
  if (s->cur < s->count) {
    uint32_t n = emit(s, b, 0);
    b->pending = s->cur < s->count;
    return n;
  }
  uint32_t want = GRO_DATAGRAMS_PER_READ / (s->per_message > 0 ? s->per_message : 1);
  if (want > b->slot_count) want = b->slot_count;
  if (want > GRO_MESSAGES) want = GRO_MESSAGES;
  if (want == 0) want = 1;
  for (uint32_t i = 0; i < want; i++) {
    s->iov[i].iov_base = s->region + (size_t) i * GRO_REGION;
    s->iov[i].iov_len = GRO_REGION;
    struct msghdr *h = &s->msgs[i].msg_hdr;
    memset(h, 0, sizeof(*h));
    h->msg_name = &s->from[i];
    h->msg_namelen = sizeof(s->from[i]);
    h->msg_iov = &s->iov[i];
    h->msg_iovlen = 1;
    h->msg_control = s->ctrl[i].buf;
    h->msg_controllen = sizeof(s->ctrl[i].buf);
  }
  int r = mt_udp_recvmmsg(b->fd, s->msgs, want, err);
  gro_take(s, r > 0 ? (uint32_t) r : 0, b->slot_size);
  uint32_t n = emit(s, b, 0);
  b->pending = s->cur < s->count;
  return n;
}

// udp_set_gro(fd, on): whether the socket now hands over coalesced runs (false where the kernel has no UDP_GRO).
napi_value udp_set_gro(napi_env env, napi_callback_info info) {
  napi_value argv[2], result;
  int32_t fd;
  bool on;
  if (mt_get_args(env, info, 2, argv) < 0 || mt_get_i32(env, argv[0], &fd) < 0) return NULL;
  if (napi_get_value_bool(env, argv[1], &on) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "on must be a boolean");
    return NULL;
  }
  int v = on ? 1 : 0;
  int taken = fd >= 0 && fd < GRO_FD_TABLE && setsockopt(fd, SOL_UDP, UDP_GRO, &v, sizeof(v)) == 0 && on;
  if (fd >= 0 && fd < GRO_FD_TABLE) gro_fds[fd] = (uint8_t) taken;
  napi_get_boolean(env, taken, &result);
  return result;
}

// udp_gro_cut(data, control, flags, slotSize, batch, slots, meta): count -- for unit tests and fuzzing: `data` as
// one message recvmmsg returned with `control` as its control data and `flags` as its msg_flags, handed out in
// batches of `batch` slots (as the reader does across calls) into slots / meta (8 words per datagram, the sender
// 192.0.2.1:4242). Datagrams past the room in slots / meta are counted but not written.
napi_value udp_gro_cut(napi_env env, napi_callback_info info) {
  napi_value argv[7], result;
  mt_view_t data, control, slots, meta;
  uint32_t flags, slot_size, batch;
  if (mt_get_args(env, info, 7, argv) < 0 || mt_get_view(env, argv[0], napi_uint8_array, &data) < 0 ||
      mt_get_view(env, argv[1], napi_uint8_array, &control) < 0 || mt_get_u32(env, argv[2], &flags) < 0 ||
      mt_get_u32(env, argv[3], &slot_size) < 0 || mt_get_u32(env, argv[4], &batch) < 0 ||
      mt_get_view(env, argv[5], napi_uint8_array, &slots) < 0 ||
      mt_get_view(env, argv[6], napi_uint32_array, &meta) < 0) {
    return NULL;
  }
  if (data.byte_length > GRO_REGION || control.byte_length > 256 || slot_size == 0 || slot_size > GRO_REGION ||
      batch == 0 || batch > 256) {
    mt_throw_range(env, "data, control, slot size or batch out of range");
    return NULL;
  }
  mt_gro_reader_t *s = calloc(1, sizeof(*s) + GRO_REGION);
  uint8_t *tmp = malloc((size_t) batch * slot_size + 256);
  uint32_t *tmp_meta = malloc((size_t) batch * META_WORDS * sizeof(uint32_t));
  uint64_t *ctrl = calloc(1, 256 + sizeof(uint64_t)); // aligned for cmsghdr
  if (s == NULL || tmp == NULL || tmp_meta == NULL || ctrl == NULL) {
    free(s), free(tmp), free(tmp_meta), free(ctrl);
    mt_throw_errno(env, "calloc", ENOMEM);
    return NULL;
  }
  memcpy(s->region, data.data, data.byte_length);
  // Past the control data the bytes are not zero but a plausible segment size (100) in every int, as stale memory
  // after a real record could be: a parse that reads past msg_controllen takes it (fuzz-udp-gro's cut records).
  for (size_t i = 0; i < (256 + sizeof(uint64_t)) / sizeof(uint32_t); i++) ((uint32_t *) ctrl)[i] = 100;
  memcpy(ctrl, control.data, control.byte_length);
  struct sockaddr_in *from = (struct sockaddr_in *) &s->from[0];
  from->sin_family = AF_INET, from->sin_port = htons(4242), from->sin_addr.s_addr = htonl(0xc0000201);
  struct msghdr *h = &s->msgs[0].msg_hdr;
  h->msg_control = control.byte_length > 0 ? ctrl : NULL;
  h->msg_controllen = control.byte_length;
  h->msg_flags = (int) flags;
  s->msgs[0].msg_len = (uint32_t) data.byte_length;
  gro_take(s, 1, slot_size);

  mt_batch_t b = {.fd = -1, .slots = tmp, .slot_size = slot_size, .slot_count = batch, .meta = tmp_meta};
  uint32_t total = 0, room_slots = (uint32_t) (slots.byte_length / slot_size), room_meta = meta.length / META_WORDS;
  // Each round hands out at least one datagram while any is held, and there are at most MT_GRO_MAX_SEGMENTS.
  for (uint32_t round = 0; round <= MT_GRO_MAX_SEGMENTS && s->cur < s->count; round++) {
    uint32_t n = emit(s, &b, 0);
    for (uint32_t k = 0; k < n; k++, total++) {
      if (total >= room_slots || total >= room_meta) continue;
      uint32_t *rec = tmp_meta + (size_t) k * META_WORDS;
      if (rec[0] != k * slot_size || rec[1] > slot_size) continue; // never: the records point into their slots
      memcpy((uint8_t *) slots.data + (size_t) total * slot_size, tmp + rec[0], rec[1]);
      memcpy((uint32_t *) meta.data + (size_t) total * META_WORDS, rec, META_WORDS * sizeof(uint32_t));
      ((uint32_t *) meta.data)[(size_t) total * META_WORDS] = total * slot_size;
    }
  }
  free(s), free(tmp), free(tmp_meta), free(ctrl);
  napi_create_uint32(env, total, &result);
  return result;
}
