// The TUN file descriptor: open (TUNSETIFF), read batches (driven by poll.c), write one packet or a batch, close.
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "mesh_tun.h"

// tun_open(name: string): { fd, name }. An empty name lets the kernel pick one ("tun0", ...); a name with "%d"
// is a template the kernel fills in. The device is not persistent: closing the fd deletes it and its routes.
napi_value tun_open(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (mt_get_args(env, info, 1, argv) < 0) return NULL;

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

  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  memcpy(ifr.ifr_name, name, name_len);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    mt_throw_errno(env, "TUNSETIFF", err);
    return NULL;
  }

  napi_value result, fd_value, name_value;
  napi_create_object(env, &result);
  napi_create_int32(env, fd, &fd_value);
  napi_create_string_utf8(env, ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ), &name_value);
  napi_set_named_property(env, result, "fd", fd_value);
  napi_set_named_property(env, result, "name", name_value);
  return result;
}

// tun_close(fd): stop the poll first (tun_poll_stop), or epoll would watch a recycled descriptor.
napi_value tun_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (mt_get_args(env, info, 1, argv) < 0 || mt_get_i32(env, argv[0], &fd) < 0) return NULL;
  // Linux releases the descriptor even when close reports EINTR, so retrying could close someone else's fd.
  if (close(fd) < 0 && errno != EINTR) mt_throw_errno(env, "close", errno);
  return NULL;
}

// One packet into the kernel: 1 when accepted, 0 when the kernel refused this packet (EINVAL: not an IP packet),
// otherwise -errno. EAGAIN/ENOBUFS mean the queue is full; anything else means the fd is unusable.
static int write_packet(int fd, const uint8_t *data, size_t len) {
  for (;;) {
    if (write(fd, data, len) >= 0) return 1;
    if (errno == EINTR) continue;
    if (errno == EINVAL) return 0;
    return errno == EWOULDBLOCK ? -EAGAIN : -errno;
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

// tun_writev_batch(fd, buf, offsets, lens, count): packet i is buf[offsets[i] .. offsets[i] + lens[i]). A TUN
// takes one packet per write(), so this is one JS crossing and `count` syscalls. Returns how many packets the
// kernel accepted; refused packets are skipped, and it stops at the first EAGAIN/ENOBUFS (the queue is full,
// the rest would drop too).
napi_value tun_writev_batch(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  int32_t fd;
  uint32_t count;
  mt_view_t buf, offsets, lens;
  if (mt_get_args(env, info, 5, argv) < 0 || mt_get_i32(env, argv[0], &fd) < 0 ||
      mt_get_view(env, argv[1], napi_uint8_array, &buf) < 0 ||
      mt_get_view(env, argv[2], napi_uint32_array, &offsets) < 0 ||
      mt_get_view(env, argv[3], napi_uint32_array, &lens) < 0 || mt_get_u32(env, argv[4], &count) < 0) {
    return NULL;
  }
  if (count > offsets.length || count > lens.length) {
    mt_throw_range(env, "count exceeds the offsets or lens array");
    return NULL;
  }
  const uint32_t *off = offsets.data;
  const uint32_t *len = lens.data;
  for (uint32_t i = 0; i < count; i++) {
    if ((uint64_t) off[i] + len[i] > buf.byte_length) {
      mt_throw_range(env, "packet lies outside the buffer");
      return NULL;
    }
  }

  uint32_t written = 0;
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

  napi_value result;
  napi_create_uint32(env, written, &result);
  return result;
}

// One read() per packet: a TUN hands out exactly one packet per read. meta[i] = length of slot i.
static uint32_t tun_read_batch(const mt_batch_t *b, int *err) {
  uint32_t n = 0;
  *err = 0;
  while (n < b->slot_count) {
    ssize_t r = read(b->fd, b->slots + (size_t) n * b->slot_size, b->slot_size);
    if (r >= 0) {
      b->meta[n++] = (uint32_t) r;
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) *err = errno;
    break;
  }
  return n;
}

// tun_poll_start(fd, buf, lens: Uint32Array, slotSize, cb(err, count)): handle for tun_poll_stop.
napi_value tun_poll_start(napi_env env, napi_callback_info info) {
  return mt_poll_start(env, info, tun_read_batch, 1, "mesh:tun");
}
