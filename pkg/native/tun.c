// The TUN file descriptor: open (TUNSETIFF), read batches (driven by poll.c), write one packet or a batch, close.
//
// By default the device is opened with IFF_VNET_HDR and TCP offloads for IPv4 and IPv6 (offload.c): reads cut TSO
// super-packets back into MTU-sized packets, batch writes join segments of one TCP flow. Where the kernel takes
// them (Linux >= 6.2), UDP segmentation offloads too (offload_udp.c): batch writes join datagrams of one UDP flow.
// JS sees plain IP packets either way. MESH_TUN_OFFLOAD=0 in the environment opens a plain device (for comparison,
// or a kernel that refuses); MESH_TUN_USO=0 keeps the TCP offloads but not the UDP ones.
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mesh_native.h"
#include "packet_bounds.h"

// Which descriptors carry a virtio_net_hdr (VNET_HDR) and which of those took the UDP offloads too (VNET_USO), so
// a write knows without a syscall. Set by tun_open, cleared by tun_close; descriptors past the table are asked
// with TUNGETIFF (which cannot tell the offloads: they get TCP joins only).
#define VNET_TABLE 4096
#define VNET_HDR 1
#define VNET_USO 2
// Older kernel headers lack them (Linux 6.2); the values are the kernel's ABI.
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif
static uint8_t vnet_fds[VNET_TABLE];

static int fd_has_vnet(int fd) {
  if (fd >= 0 && fd < VNET_TABLE) return vnet_fds[fd];
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  return ioctl(fd, TUNGETIFF, &ifr) == 0 && (ifr.ifr_flags & IFF_VNET_HDR) ? VNET_HDR : 0;
}

static void remember_vnet(int fd, int vnet) {
  if (fd >= 0 && fd < VNET_TABLE) vnet_fds[fd] = (uint8_t) vnet;
}

static int env_not_zero(const char *name) {
  const char *v = getenv(name);
  return v == NULL || strcmp(v, "0") != 0;
}

// Sets the offloads of a vnet device; returns VNET_HDR, or VNET_HDR | VNET_USO when `udp` asks for the UDP ones and
// the kernel took them as well (before 6.2 it refuses unknown flags with EINVAL, and the TCP ones alone are set).
static int set_offloads(int fd, int udp) {
  const unsigned tcp = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
  if (udp && env_not_zero("MESH_TUN_USO") && ioctl(fd, TUNSETOFFLOAD, tcp | TUN_F_USO4 | TUN_F_USO6) == 0)
    return VNET_HDR | VNET_USO;
  // Without the offloads the header stays (all zero on reads); the device then simply behaves as a plain one.
  ioctl(fd, TUNSETOFFLOAD, tcp);
  return VNET_HDR;
}

// tun_open(name: string[, udpOffload: boolean]): { fd, name, offload, udpOffload }. An empty name lets the kernel
// pick one ("tun0", ...); a name with "%d" is a template the kernel fills in. The device is not persistent: closing
// the fd deletes it and its routes. udpOffload false (tun.udp_offload) asks for no UDP offloads, as MESH_TUN_USO=0.
napi_value tun_open(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc;
  bool udp = true;
  if (mt_get_args_upto(env, info, 1, 2, argv, &argc) < 0) return NULL;
  if (argc > 1 && napi_get_value_bool(env, argv[1], &udp) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "udpOffload must be a boolean");
    return NULL;
  }

  char name[IFNAMSIZ + 1];
  size_t name_len = 0;
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof(name), &name_len) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "name must be a string");
    return NULL;
  }
  if (name_len >= IFNAMSIZ) {
    mt_throw_errno(env, "TUNSETIFF", ENAMETOOLONG);
    return NULL;
  }

  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    mt_throw_errno(env, "open /dev/net/tun", errno);
    return NULL;
  }

  int vnet = env_not_zero("MESH_TUN_OFFLOAD");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
  memcpy(ifr.ifr_name, name, name_len);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    mt_throw_errno(env, "TUNSETIFF", err);
    return NULL;
  }
  int mode = vnet ? set_offloads(fd, udp) : 0;
  remember_vnet(fd, mode);

  napi_value result, fd_value, name_value, offload_value, udp_offload_value;
  napi_create_object(env, &result);
  napi_create_int32(env, fd, &fd_value);
  napi_create_string_utf8(env, ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ), &name_value);
  napi_get_boolean(env, vnet, &offload_value);
  napi_get_boolean(env, (mode & VNET_USO) != 0, &udp_offload_value);
  napi_set_named_property(env, result, "fd", fd_value);
  napi_set_named_property(env, result, "name", name_value);
  napi_set_named_property(env, result, "offload", offload_value);
  napi_set_named_property(env, result, "udpOffload", udp_offload_value);
  return result;
}

// tun_close(fd): stop the poll first (tun_poll_stop), or epoll would watch a recycled descriptor.
napi_value tun_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (mt_get_args(env, info, 1, argv) < 0 || mt_get_i32(env, argv[0], &fd) < 0) return NULL;
  remember_vnet(fd, 0);
  mt_udp_forget_fd(fd);
  // Linux releases the descriptor even when close reports EINTR, so retrying could close someone else's fd.
  if (close(fd) < 0 && errno != EINTR) mt_throw_errno(env, "close", errno);
  return NULL;
}

// 1 when the kernel took the write, 0 when it refused this packet (EINVAL: not an IP packet), otherwise -errno.
// EAGAIN/ENOBUFS mean the queue is full; anything else means the fd is unusable.
static int write_result(ssize_t r) {
  if (r >= 0) return 1;
  if (errno == EINVAL) return 0;
  return errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

int mt_vnet_writev(int fd, struct iovec *iov, int iovcnt) {
  for (;;) {
    ssize_t r = writev(fd, iov, iovcnt);
    if (r < 0 && errno == EINTR) continue;
    return write_result(r);
  }
}

// One packet behind a virtio_net_hdr (all zero when `hdr` is NULL: a plain packet, checksums complete).
int mt_vnet_write(int fd, const mt_vnet_hdr_t *hdr, const uint8_t *data, size_t len) {
  mt_vnet_hdr_t zero;
  memset(&zero, 0, sizeof(zero));
  struct iovec iov[2] = {{(void *) (hdr ? hdr : &zero), sizeof(zero)}, {(void *) data, len}};
  return mt_vnet_writev(fd, iov, 2);
}

static int write_packet(int fd, const uint8_t *data, size_t len) {
  if (fd_has_vnet(fd)) return mt_vnet_write(fd, NULL, data, len);
  for (;;) {
    ssize_t r = write(fd, data, len);
    if (r < 0 && errno == EINTR) continue;
    return write_result(r);
  }
}

static int is_full(int r) {
  return r == -EAGAIN || r == -ENOBUFS;
}

// tun_write(fd, buf, off, len): 1 if the kernel took the packet, 0 if it was dropped (queue full or refused).
napi_value tun_write(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t fd;
  uint32_t off, len;
  mt_view_t buf;
  if (mt_get_args(env, info, 4, argv) < 0 || mt_get_i32(env, argv[0], &fd) < 0 ||
      mt_get_view(env, argv[1], napi_uint8_array, &buf) < 0 || mt_get_u32(env, argv[2], &off) < 0 ||
      mt_get_u32(env, argv[3], &len) < 0) {
    return NULL;
  }
  if ((uint64_t) off + len > buf.byte_length) {
    mt_throw_range(env, "packet lies outside the buffer");
    return NULL;
  }

  int r = write_packet(fd, (const uint8_t *) buf.data + off, len);
  if (is_full(r)) r = 0;
  if (r < 0) {
    mt_throw_errno(env, "write", -r);
    return NULL;
  }
  napi_value result;
  napi_create_uint32(env, (uint32_t) r, &result);
  return result;
}

// tun_writev_batch(fd, buf, offsets, lens, count[, refusals]): packet i is buf[offsets[i] .. offsets[i] + lens[i]).
// A TUN takes one packet per write(), so this is one JS crossing and `count` syscalls. Returns how many packets the
// kernel accepted; refused packets are skipped, and it stops at the first EAGAIN/ENOBUFS (the queue is full,
// the rest would drop too). A joined write the kernel refuses is written again one packet at a time (and a
// refused UDP one ends UDP joins on the fd); refusals[0] (a Uint32Array) is increased by how many were refused.
napi_value tun_writev_batch(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  size_t argc;
  int32_t fd;
  uint32_t count;
  mt_view_t buf, offsets, lens, refusals = {0};
  if (mt_get_args_upto(env, info, 5, 6, argv, &argc) < 0 || mt_get_i32(env, argv[0], &fd) < 0 ||
      mt_get_view(env, argv[1], napi_uint8_array, &buf) < 0 ||
      mt_get_view(env, argv[2], napi_uint32_array, &offsets) < 0 ||
      mt_get_view(env, argv[3], napi_uint32_array, &lens) < 0 || mt_get_u32(env, argv[4], &count) < 0 ||
      (argc > 5 && mt_get_view(env, argv[5], napi_uint32_array, &refusals) < 0)) {
    return NULL;
  }
  if (mt_check_packet_batch(env, &buf, &offsets, &lens, count) < 0) return NULL;
  if (argc > 5 && refusals.length == 0) {
    mt_throw_range(env, "refusals needs one element");
    return NULL;
  }

  uint32_t written = 0;
  int mode = fd_has_vnet(fd);
  if (mode) {
    int uso = (mode & VNET_USO) != 0;
    mt_pkt_t pkts[MT_PKT_GROUP];
    for (uint32_t base = 0; base < count; base += MT_PKT_GROUP) {
      uint32_t chunk = mt_pkt_group(pkts, &buf, &offsets, &lens, base, count);
      for (uint32_t i = 0; i < chunk;) {
        mt_emit_t e;
        i += mt_gro_write(fd, pkts, i, chunk, &uso, &e);
        written += e.accepted;
        if (e.refused) {
          if (refusals.length > 0) ((uint32_t *) refusals.data)[0] += e.refused;
          if (!uso) remember_vnet(fd, mode & ~VNET_USO);
        }
        if (e.err == EAGAIN || e.err == ENOBUFS) goto done;
        if (e.err) {
          if (written > 0) goto done;
          mt_throw_errno(env, "write", e.err);
          return NULL;
        }
      }
    }
  } else {
    const uint32_t *off = offsets.data;
    const uint32_t *len = lens.data;
    for (uint32_t i = 0; i < count; i++) {
      int r = write_packet(fd, (const uint8_t *) buf.data + off[i], len[i]);
      if (is_full(r)) break;
      if (r < 0) {
        // Packets already handed to the kernel are gone, so a partial batch reports its count; the next call on
        // a broken fd fails at its first packet and throws.
        if (written > 0) break;
        mt_throw_errno(env, "write", -r);
        return NULL;
      }
      written += (uint32_t) r;
    }
  }
done:;
  napi_value result;
  napi_create_uint32(env, written, &result);
  return result;
}

// A reader on an offloading TUN keeps the super-packet it is cutting (mt_tun_reader_t): one may yield more
// segments than a batch has slots left, and the rest go out first in the next batch.
static uint32_t emit_segments(mt_tun_reader_t *s, mt_batch_t *b, uint32_t n) {
  while (s->next_segment < s->segments && n < b->slot_count) {
    uint8_t *slot = b->slots + (size_t) n * b->slot_size;
    size_t len = mt_tso_segment(s->tso, s->tso_len, s->gso_size, s->next_segment++, slot, b->slot_size);
    if (len > 0) b->meta[n++] = (uint32_t) len;
  }
  if (s->next_segment >= s->segments) s->tso_len = 0;
  return n;
}

uint32_t mt_tun_take(mt_tun_reader_t *s, mt_batch_t *b, uint32_t n, const mt_vnet_hdr_t *h, size_t len) {
  uint8_t *slot = b->slots + (size_t) n * b->slot_size;
  if (h->gso_type == VIRTIO_NET_HDR_GSO_NONE) {
    if (len > b->slot_size) return n; // longer than the MTU slot: the kernel never sends one without GSO
    if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && mt_csum_complete(slot, len, h->csum_start, h->csum_offset) < 0)
      return n;
    b->meta[n++] = (uint32_t) len;
    return n;
  }
  // Make the super-packet contiguous (its head is in the slot), then cut it into the slots from here on.
  memcpy(s->tso, slot, len < b->slot_size ? len : b->slot_size);
  uint8_t gso_type = h->gso_type & (uint8_t) ~VIRTIO_NET_HDR_GSO_ECN;
  uint32_t count = mt_tso_count(s->tso, len, gso_type, h->gso_size);
  if (count == 0) return n; // not a TSO packet we asked for: dropped, as a full queue would
  s->tso_len = len;
  s->gso_size = h->gso_size;
  s->next_segment = 0;
  s->segments = count;
  return emit_segments(s, b, n);
}

static uint32_t read_offloaded(mt_batch_t *b, mt_tun_reader_t *s, int *err) {
  uint32_t n = emit_segments(s, b, 0);
  while (n < b->slot_count) {
    mt_vnet_hdr_t h;
    uint8_t *slot = b->slots + (size_t) n * b->slot_size;
    struct iovec iov[3] = {{&h, sizeof(h)}, {slot, b->slot_size}, {s->tso + b->slot_size, MT_TSO_MAX}};
    ssize_t r = readv(b->fd, iov, 3);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) *err = errno;
      break;
    }
    if ((size_t) r <= sizeof(h)) continue;
    n = mt_tun_take(s, b, n, &h, (size_t) r - sizeof(h));
  }
  b->pending = s->tso_len != 0;
  return n;
}

static uint32_t tun_read_batch(mt_batch_t *b, int *err) {
  *err = 0;
  mt_tun_reader_t *s = b->state;
  if (s == NULL) {
    int vnet = fd_has_vnet(b->fd);
    s = calloc(1, sizeof(*s) + (vnet ? b->slot_size + MT_TSO_MAX : 0));
    if (s == NULL) {
      *err = ENOMEM;
      return 0;
    }
    s->vnet = vnet;
    b->state = s; // freed with the poll
  }
  // Without offloads a TUN hands out exactly one packet per read().
  return s->vnet ? read_offloaded(b, s, err) : mt_read_each(b, err);
}

// tun_poll_start(fd, buf, lens: Uint32Array, slotSize, cb(err, count)): handle for tun_poll_stop.
napi_value tun_poll_start(napi_env env, napi_callback_info info) {
  return mt_poll_start(env, info, tun_read_batch, 1, "mesh:tun");
}

// tun_socketpair(): [fd0, fd1], the two ends of a non-blocking AF_UNIX SOCK_SEQPACKET pair. fd0 stands in for a TUN
// without offloads: one whole packet per read and per write, so tun_poll_start, tun_write and tun_writev_batch work
// on it unchanged; fd1 is the other side (the start-up warm-up's throwaway nodes run their TUN code on such a pair,
// docs/state-machines.md "Start-up warm-up"). Stop any poll on an end before closing the other: a closed peer
// makes the end readable at EOF for ever. Both ends close with tun_close.
napi_value tun_socketpair(napi_env env, napi_callback_info info) {
  (void) info;
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0) {
    mt_throw_errno(env, "socketpair", errno);
    return NULL;
  }
  remember_vnet(fds[0], 0);
  remember_vnet(fds[1], 0);
  napi_value result, fd;
  napi_create_array_with_length(env, 2, &result);
  for (uint32_t i = 0; i < 2; i++) {
    napi_create_int32(env, fds[i], &fd);
    napi_set_element(env, result, i, fd);
  }
  return result;
}
