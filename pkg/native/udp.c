// Batched UDP for the underlay: recvmmsg/sendmmsg on a socket of our own, so one JS crossing moves a batch of
// datagrams each way. Addresses travel as numbers in a per-packet Uint32Array record, never as strings:
//
//    word:   0        1        2         3      4        5        6        7
//         +--------+--------+---------+------+--------+--------+--------+--------+
//         | offset | length | family  | port | addr0  | addr1  | addr2  | addr3  |
//         +--------+--------+---------+------+--------+--------+--------+--------+
//   family 4: addr0 is the IPv4 address as a uint32 (1.2.3.4 = 0x01020304), addr1..3 are 0.
//   family 6: addr0..3 are the address's four 32-bit words, most significant first.
//   The family word's low byte is the family; on send, bits 8..15 may carry an IP TTL (hop limit) for that one
//   datagram (0: the socket's default), passed as ancillary data so no socket option has to be toggled.
// IPv4-mapped IPv6 senders (a dual-stack socket) are reported as family 4, and family-4 destinations are mapped
// when the socket is IPv6, so a peer has one spelling.
#define _GNU_SOURCE // recvmmsg, sendmmsg
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mesh_native.h"

#define META_WORDS 8
#define MMSG_MAX 64
#define FAMILY_MASK 0xff
#define TTL_SHIFT 8
// A full socket buffer drains in microseconds on a live link; past this we drop rather than stall the event loop.
#define SEND_WAIT_MS 20
#define SEND_WAITS_MAX 16
// UDP GSO: a run of datagrams to one destination, all one size but for a shorter last one, leaves as one
// sendmsg with UDP_SEGMENT; the kernel (or the NIC) cuts it back into those datagrams, so peers (Nebula among
// them) see exactly what separate sends would have produced, at a fraction of the per-datagram cost.
#define GSO_MAX_SEGMENTS 64
#define GSO_MAX_BYTES 65000
#define IOV_POOL 512

typedef union {
  struct sockaddr sa;
  struct sockaddr_in in4;
  struct sockaddr_in6 in6;
  struct sockaddr_storage storage;
} mt_sockaddr_t;

static const uint8_t V4_MAPPED_PREFIX[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static void addr_to_meta(const mt_sockaddr_t *a, uint32_t *m) {
  memset(m + 2, 0, 6 * sizeof(uint32_t));
  if (a->sa.sa_family == AF_INET) {
    m[2] = 4;
    m[3] = ntohs(a->in4.sin_port);
    m[4] = ntohl(a->in4.sin_addr.s_addr);
    return;
  }
  const uint8_t *b = a->in6.sin6_addr.s6_addr;
  m[3] = ntohs(a->in6.sin6_port);
  if (memcmp(b, V4_MAPPED_PREFIX, 12) == 0) {
    m[2] = 4;
    m[4] = (uint32_t) b[12] << 24 | (uint32_t) b[13] << 16 | (uint32_t) b[14] << 8 | b[15];
    return;
  }
  m[2] = 6;
  for (int i = 0; i < 4; i++) {
    m[4 + i] = (uint32_t) b[4 * i] << 24 | (uint32_t) b[4 * i + 1] << 16 | (uint32_t) b[4 * i + 2] << 8 | b[4 * i + 3];
  }
}

// Returns the sockaddr length, or 0 when this socket's family cannot reach the address.
static socklen_t meta_to_addr(const uint32_t *m, int socket_family, mt_sockaddr_t *a) {
  memset(a, 0, sizeof(*a));
  uint32_t family = m[2] & FAMILY_MASK;
  if (socket_family == AF_INET) {
    if (family != 4) return 0;
    a->in4.sin_family = AF_INET;
    a->in4.sin_port = htons((uint16_t) m[3]);
    a->in4.sin_addr.s_addr = htonl(m[4]);
    return sizeof(a->in4);
  }
  uint8_t *b = a->in6.sin6_addr.s6_addr;
  a->in6.sin6_family = AF_INET6;
  a->in6.sin6_port = htons((uint16_t) m[3]);
  if (family == 4) {
    memcpy(b, V4_MAPPED_PREFIX, 12);
    b[12] = m[4] >> 24, b[13] = m[4] >> 16, b[14] = m[4] >> 8, b[15] = m[4];
  } else {
    for (int i = 0; i < 4; i++) {
      b[4 * i] = m[4 + i] >> 24, b[4 * i + 1] = m[4 + i] >> 16, b[4 * i + 2] = m[4 + i] >> 8, b[4 * i + 3] = m[4 + i];
    }
  }
  return sizeof(a->in6);
}

static int socket_family(int fd) {
  mt_sockaddr_t a;
  socklen_t len = sizeof(a);
  if (getsockname(fd, &a.sa, &len) < 0) return -1;
  return a.sa.sa_family;
}

// udp_open(host: string, port: number): { fd, port }. An IPv6 host (including "::") gives a dual-stack socket.
napi_value udp_open(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char host[INET6_ADDRSTRLEN];
  uint32_t port;
  if (mt_get_args(env, info, 2, argv) < 0 || mt_get_u32(env, argv[1], &port) < 0) return NULL;
  if (napi_get_value_string_utf8(env, argv[0], host, sizeof(host), NULL) != napi_ok || port > 65535) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected a host address and a port");
    return NULL;
  }

  mt_sockaddr_t a;
  memset(&a, 0, sizeof(a));
  socklen_t len;
  if (inet_pton(AF_INET, host, &a.in4.sin_addr) == 1) {
    a.in4.sin_family = AF_INET;
    a.in4.sin_port = htons((uint16_t) port);
    len = sizeof(a.in4);
  } else if (inet_pton(AF_INET6, host, &a.in6.sin6_addr) == 1) {
    a.in6.sin6_family = AF_INET6;
    a.in6.sin6_port = htons((uint16_t) port);
    len = sizeof(a.in6);
  } else {
    mt_throw_errno(env, "inet_pton", EINVAL);
    return NULL;
  }

  int fd = socket(a.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    mt_throw_errno(env, "socket", errno);
    return NULL;
  }
  int off = 0;
  if (a.sa.sa_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
  if (bind(fd, &a.sa, len) < 0 || getsockname(fd, &a.sa, &len) < 0) {
    int err = errno;
    close(fd);
    mt_throw_errno(env, "bind", err);
    return NULL;
  }

  napi_value result, fd_value, port_value;
  napi_create_object(env, &result);
  napi_create_int32(env, fd, &fd_value);
  napi_create_uint32(env, ntohs(a.sa.sa_family == AF_INET ? a.in4.sin_port : a.in6.sin6_port), &port_value);
  napi_set_named_property(env, result, "fd", fd_value);
  napi_set_named_property(env, result, "port", port_value);
  return result;
}

// Sets one socket buffer, past net.core.[rw]mem_max when we are allowed to (the *FORCE options need
// CAP_NET_ADMIN), and returns what the kernel granted (it doubles the request for bookkeeping).
static int set_buffer(int fd, int force_opt, int opt, uint32_t bytes) {
  int v = (int) bytes;
  if (bytes > 0 && setsockopt(fd, SOL_SOCKET, force_opt, &v, sizeof(v)) < 0) {
    setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v));
  }
  socklen_t len = sizeof(v);
  return getsockopt(fd, SOL_SOCKET, opt, &v, &len) < 0 ? -errno : v;
}

// udp_set_buffers(fd, rcvbuf, sndbuf): { rcvbuf, sndbuf } as granted. 0 leaves a buffer as it is.
napi_value udp_set_buffers(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd;
  uint32_t rcv, snd;
  if (mt_get_args(env, info, 3, argv) < 0 || mt_get_i32(env, argv[0], &fd) < 0 || mt_get_u32(env, argv[1], &rcv) < 0 ||
      mt_get_u32(env, argv[2], &snd) < 0) {
    return NULL;
  }
  int got_rcv = set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, rcv);
  int got_snd = set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, snd);
  if (got_rcv < 0 || got_snd < 0) {
    mt_throw_errno(env, "getsockopt", got_rcv < 0 ? -got_rcv : -got_snd);
    return NULL;
  }
  napi_value result, r, s;
  napi_create_object(env, &result);
  napi_create_int32(env, got_rcv, &r);
  napi_create_int32(env, got_snd, &s);
  napi_set_named_property(env, result, "rcvbuf", r);
  napi_set_named_property(env, result, "sndbuf", s);
  return result;
}

// ICMP errors from an earlier send surface on the socket once (unreachable, refused); they say nothing about
// the datagrams now queued.
static int is_icmp_error(int err) {
  return err == ECONNREFUSED || err == EHOSTUNREACH || err == ENETUNREACH || err == EHOSTDOWN || err == ENETDOWN;
}

// Errors about one destination, which say nothing about the next datagram.
static int is_per_packet_error(int err) {
  switch (err) {
  case EPERM:  // a firewall rule rejected it
  case EACCES: // broadcast without SO_BROADCAST
  case EINVAL:
  case EMSGSIZE:
  case EAFNOSUPPORT:
  case EDESTADDRREQ:
    return 1;
  default:
    return is_icmp_error(err);
  }
}

// Ancillary data for a one-off TTL. IP_TTL also reaches an IPv4-mapped destination on a dual-stack socket (the
// kernel sends those through its IPv4 path, which reads SOL_IP messages); IPV6_HOPLIMIT reaches IPv6 ones.
typedef union {
  char buf[CMSG_SPACE(sizeof(int))];
  struct cmsghdr align;
} mt_ttl_cmsg_t;

static void attach_ttl(struct msghdr *h, mt_ttl_cmsg_t *c, uint32_t family, int ttl) {
  memset(c, 0, sizeof(*c));
  h->msg_control = c->buf;
  h->msg_controllen = sizeof(c->buf);
  struct cmsghdr *cm = CMSG_FIRSTHDR(h);
  cm->cmsg_level = family == 4 ? IPPROTO_IP : IPPROTO_IPV6;
  cm->cmsg_type = family == 4 ? IP_TTL : IPV6_HOPLIMIT;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &ttl, sizeof(int));
}

// Waits (briefly) for room in the socket's send buffer; 1 when there is some.
static int wait_writable(int fd) {
  struct pollfd p = {.fd = fd, .events = POLLOUT};
  for (;;) {
    int r = poll(&p, 1, SEND_WAIT_MS);
    if (r < 0 && errno == EINTR) continue;
    return r > 0 && (p.revents & POLLOUT);
  }
}

// Sockets whose route refused a GSO send (no checksum offload on the way out, an old kernel): they get one
// datagram per message from then on. Indexed by descriptor; cleared when the addon closes one (tun_close).
#define NO_GSO_TABLE 4096
static uint8_t no_gso_fds[NO_GSO_TABLE];

// The socket family, looked up once per descriptor instead of a getsockname per send batch (a syscall on every
// packet of a ping-pong exchange). 0 = not looked up yet.
static int fd_families[NO_GSO_TABLE];

void mt_udp_forget_fd(int fd) {
  if (fd >= 0 && fd < NO_GSO_TABLE) no_gso_fds[fd] = 0, fd_families[fd] = 0;
  mt_udp_gro_forget(fd);
}

void mt_udp_addr_to_meta(const struct sockaddr_storage *from, uint32_t *record) {
  addr_to_meta((const mt_sockaddr_t *) from, record);
}

static int cached_family(int fd) {
  if (fd < 0 || fd >= NO_GSO_TABLE) return socket_family(fd);
  if (fd_families[fd] == 0) fd_families[fd] = socket_family(fd);
  return fd_families[fd];
}

static int gso_allowed(int fd) {
  static int env_allows = -1;
  if (env_allows < 0) {
    const char *v = getenv("MESH_UDP_GSO");
    env_allows = v == NULL || strcmp(v, "0") != 0;
  }
  return env_allows && !(fd >= 0 && fd < NO_GSO_TABLE && no_gso_fds[fd]);
}

static void refuse_gso(int fd) {
  if (fd >= 0 && fd < NO_GSO_TABLE) no_gso_fds[fd] = 1;
}

typedef union {
  char buf[CMSG_SPACE(sizeof(uint16_t))];
  struct cmsghdr align;
} mt_gso_cmsg_t;

// Whether record `r` may join the GSO run that starts with `first` (its datagrams so far: `segments`, `bytes`).
static int joins_run(const uint32_t *first, const uint32_t *r, uint32_t segments, uint32_t bytes, uint32_t prev_len) {
  if (segments >= GSO_MAX_SEGMENTS || bytes + r[1] > GSO_MAX_BYTES) return 0;
  if (prev_len != first[1] || r[1] > first[1] || r[1] == 0) return 0; // only the last may be shorter
  if ((first[2] >> TTL_SHIFT) != 0 || (r[2] >> TTL_SHIFT) != 0) return 0;
  return memcmp(first + 2, r + 2, 6 * sizeof(uint32_t)) == 0; // family, port, address
}

// udp_sendmmsg(fd, buf, meta, count): datagram i is buf[offset .. offset + length) to the address in its record.
// Returns how many went out. A datagram the kernel rejects for its own reasons (unreachable, too big, filtered)
// is skipped. A full send buffer is waited out (SEND_WAIT_MS at a time, SEND_WAITS_MAX times per call), as a
// blocking sender would be, so a burst is paced by the link instead of dropped; past that, or at ENOBUFS, the
// batch stops. MESH_UDP_GSO=0 in the environment turns GSO off (for comparison).
napi_value udp_sendmmsg(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t fd;
  uint32_t count;
  mt_view_t buf, meta;
  if (mt_get_args(env, info, 4, argv) < 0 || mt_get_i32(env, argv[0], &fd) < 0 ||
      mt_get_view(env, argv[1], napi_uint8_array, &buf) < 0 ||
      mt_get_view(env, argv[2], napi_uint32_array, &meta) < 0 || mt_get_u32(env, argv[3], &count) < 0) {
    return NULL;
  }
  if ((uint64_t) count * META_WORDS > meta.length) {
    mt_throw_range(env, "count exceeds the meta records");
    return NULL;
  }
  const uint32_t *m = meta.data;
  for (uint32_t i = 0; i < count; i++) {
    if ((uint64_t) m[i * META_WORDS] + m[i * META_WORDS + 1] > buf.byte_length) {
      mt_throw_range(env, "datagram lies outside the buffer");
      return NULL;
    }
  }
  int family = cached_family(fd);
  if (family < 0) {
    if (fd >= 0 && fd < NO_GSO_TABLE) fd_families[fd] = 0;
    mt_throw_errno(env, "getsockname", errno);
    return NULL;
  }
  int gso = gso_allowed(fd);

  struct mmsghdr msgs[MMSG_MAX];
  struct iovec iov[IOV_POOL];
  mt_sockaddr_t to[MMSG_MAX];
  mt_ttl_cmsg_t ttl[MMSG_MAX];
  mt_gso_cmsg_t seg[MMSG_MAX];
  uint32_t first_record[MMSG_MAX], records[MMSG_MAX], datagrams[MMSG_MAX];
  uint32_t sent = 0;
  uint32_t waits = 0;
  uint32_t next = 0; // first record not yet handed to the kernel or skipped
  while (next < count) {
    // Build up to MMSG_MAX messages; a message is one datagram, or a GSO run of several.
    uint32_t n = 0, used_iov = 0;
    while (n < MMSG_MAX && next < count && used_iov < IOV_POOL) {
      const uint32_t *r = m + (size_t) next * META_WORDS;
      socklen_t len = meta_to_addr(r, family, &to[n]);
      if (len == 0) { // an IPv6 destination on an IPv4 socket: unreachable from here
        next++;
        continue;
      }
      uint32_t segments = 1, bytes = r[1], prev_len = r[1];
      iov[used_iov].iov_base = (uint8_t *) buf.data + r[0];
      iov[used_iov].iov_len = r[1];
      while (gso && next + segments < count && used_iov + segments < IOV_POOL) {
        const uint32_t *q = m + (size_t) (next + segments) * META_WORDS;
        if (!joins_run(r, q, segments, bytes, prev_len)) break;
        iov[used_iov + segments].iov_base = (uint8_t *) buf.data + q[0];
        iov[used_iov + segments].iov_len = q[1];
        bytes += q[1];
        prev_len = q[1];
        segments++;
      }
      struct msghdr *h = &msgs[n].msg_hdr;
      memset(h, 0, sizeof(*h));
      h->msg_name = &to[n];
      h->msg_namelen = len;
      h->msg_iov = &iov[used_iov];
      h->msg_iovlen = segments;
      int hops = (int) ((r[2] >> TTL_SHIFT) & 0xff);
      if (hops != 0) attach_ttl(h, &ttl[n], r[2] & FAMILY_MASK, hops);
      if (segments > 1) {
        memset(&seg[n], 0, sizeof(seg[n]));
        h->msg_control = seg[n].buf;
        h->msg_controllen = sizeof(seg[n].buf);
        struct cmsghdr *cm = CMSG_FIRSTHDR(h);
        cm->cmsg_level = SOL_UDP;
        cm->cmsg_type = UDP_SEGMENT;
        cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        uint16_t size = (uint16_t) r[1];
        memcpy(CMSG_DATA(cm), &size, sizeof(size));
      }
      first_record[n] = next;
      records[n] = segments;
      datagrams[n] = segments;
      used_iov += segments;
      next += segments;
      n++;
    }
    uint32_t done = 0;
    while (done < n) {
      int r = sendmmsg(fd, msgs + done, n - done, MSG_DONTWAIT);
      if (r > 0) {
        for (int k = 0; k < r; k++) sent += datagrams[done + (uint32_t) k];
        done += (uint32_t) r;
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      int err = r < 0 ? errno : EAGAIN;
      if (records[done] > 1 && (err == EIO || err == EINVAL || err == EOPNOTSUPP || err == EMSGSIZE)) {
        // The run goes again one datagram per message (then each too-big one is dropped on its own). EIO, EINVAL
        // and EOPNOTSUPP mean this socket's route cannot take GSO at all: not tried again on it.
        if (err != EMSGSIZE) refuse_gso(fd);
        gso = 0;
        next = first_record[done];
        goto rebuild;
      }
      if (is_per_packet_error(err)) {
        done++; // sendmmsg stopped at this message: drop it, go on with the next
        continue;
      }
      if ((err == EAGAIN || err == EWOULDBLOCK) && waits++ < SEND_WAITS_MAX && wait_writable(fd)) continue;
      if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) goto out;
      if (sent > 0) goto out;
      mt_throw_errno(env, "sendmmsg", err);
      return NULL;
    }
  rebuild:;
  }
out:;
  napi_value result;
  napi_create_uint32(env, sent, &result);
  return result;
}

int mt_udp_recvmmsg(int fd, struct mmsghdr *msgs, uint32_t want, int *err) {
  for (int attempt = 0;; attempt++) {
    int r = recvmmsg(fd, msgs, want, MSG_DONTWAIT, NULL);
    if (r >= 0) return r;
    if ((errno == EINTR || is_icmp_error(errno)) && attempt < 8) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK && !is_icmp_error(errno)) *err = errno;
    return 0;
  }
}

// One recvmmsg per batch. A datagram larger than its slot arrives cut short (MSG_TRUNC) and is dropped here, so
// the records stay dense: record k describes the k-th good datagram wherever its slot is. A socket with UDP_GRO
// (udp_set_gro) has its own reader, which cuts coalesced runs (udp_gro.c).
static uint32_t udp_read_batch(mt_batch_t *b, int *err) {
  if (mt_udp_gro_on(b->fd)) return mt_udp_gro_read(b, err);
  struct mmsghdr msgs[MMSG_MAX];
  struct iovec iov[MMSG_MAX];
  mt_sockaddr_t from[MMSG_MAX];
  uint32_t want = b->slot_count < MMSG_MAX ? b->slot_count : MMSG_MAX;
  for (uint32_t i = 0; i < want; i++) {
    iov[i].iov_base = b->slots + (size_t) i * b->slot_size;
    iov[i].iov_len = b->slot_size;
    memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
    msgs[i].msg_hdr.msg_name = &from[i];
    msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  *err = 0;
  int r = mt_udp_recvmmsg(b->fd, msgs, want, err);
  uint32_t n = 0;
  for (int i = 0; i < r; i++) {
    if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) continue;
    uint32_t *rec = b->meta + (size_t) n * META_WORDS;
    rec[0] = (uint32_t) i * b->slot_size;
    rec[1] = msgs[i].msg_len;
    addr_to_meta(&from[i], rec);
    n++;
  }
  // Fewer than asked (even 0, when all were oversized) just ends this wakeup: the poll is level-triggered, so
  // anything still queued wakes us again.
  return n;
}

// udp_poll_start(fd, buf, meta: Uint32Array (8 words per slot), slotSize, cb(err, count)): handle for
// udp_poll_stop. Record k (meta[8k .. 8k + 8)) describes datagram k of the batch.
napi_value udp_poll_start(napi_env env, napi_callback_info info) {
  return mt_poll_start(env, info, udp_read_batch, META_WORDS, "mesh:udp");
}
