// mesh_native: the native layer of the data path (TUN, batched UDP, netlink address events, AEAD). Flat
// <object>_<verb> exports; JS allocates and owns every buffer; C moves bytes between the kernel and those buffers,
// seals and opens them with node's own OpenSSL (aead.c), and throws errno-coded errors.
#ifndef MESH_NATIVE_H
#define MESH_NATIVE_H

#define NAPI_VERSION 8
#include <linux/virtio_net.h>
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

// A JS typed array seen from C: its bytes and element count (valid while the array is reachable from JS).
typedef struct {
  void *data;
  size_t length;
  size_t byte_length;
} mt_view_t;

// errors.c
napi_value mt_errno_error(napi_env env, const char *op, int err);
void mt_throw_errno(napi_env env, const char *op, int err);
void mt_throw_range(napi_env env, const char *msg);

// args.c (each returns 0 on success, or throws a TypeError and returns -1)
int mt_get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv);
// `want` arguments or up to `max` (the rest optional); *argc says how many were given.
int mt_get_args_upto(napi_env env, napi_callback_info info, size_t want, size_t max, napi_value *argv, size_t *argc);
int mt_get_i32(napi_env env, napi_value v, int32_t *out);
int mt_get_u32(napi_env env, napi_value v, uint32_t *out);
int mt_get_view(napi_env env, napi_value v, napi_typedarray_type type, mt_view_t *out);

// poll.c: batched reads woken by libuv. A reader fills up to slot_count slots without blocking and returns how
// many; *err is set for a failure other than "nothing more to read". A reader may keep its own `state` (freed
// with the poll) and set `pending` when it holds packets it has read but not yet handed out (the rest of a cut
// TSO packet): the poll then calls it again before waiting for the fd (within its budget of batches a loop
// iteration, from an idle handle: docs/state-machines.md "Receive batches").
typedef struct {
  int fd;
  uint8_t *slots;
  uint32_t slot_size;
  uint32_t slot_count;
  uint32_t *meta;
  void *state;
  int pending;
} mt_batch_t;
typedef uint32_t (*mt_reader_t)(mt_batch_t *batch, int *err);
napi_value mt_poll_start(napi_env env, napi_callback_info info, mt_reader_t reader, uint32_t stride, const char *name);
// The reader for an fd that hands out one message per read() (a plain TUN, a netlink socket): meta[i] = length of
// slot i (a longer message is cut to its slot). Leaves *err alone unless read() fails with more than EAGAIN.
uint32_t mt_read_each(mt_batch_t *batch, int *err);
napi_value mt_poll_stop(napi_env env, napi_callback_info info);

// checksum.c: RFC 1071 sums; fold() leaves the result in the byte order of the data summed.
uint64_t mt_csum_add(uint64_t sum, const uint8_t *data, size_t len);
uint16_t mt_csum_fold(uint64_t sum);
uint64_t mt_csum_pseudo4(const uint8_t *ip_header, uint8_t protocol, uint16_t l4_len);
uint64_t mt_csum_pseudo6(const uint8_t *ip_header, uint8_t protocol, uint32_t l4_len);

// offload.c: TSO cutting on read, GRO joining on write (TUN with IFF_VNET_HDR), IPv4 and IPv6 TCP; offload_udp.c
// the same for UDP (USO, where the kernel took TUN_F_USO4/6).
typedef struct virtio_net_hdr mt_vnet_hdr_t;
// Older kernel headers lack the UDP segmentation offload (Linux 6.2); the values are the kernel's ABI.
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif
typedef struct {
  const uint8_t *data;
  uint32_t len;
} mt_pkt_t;
// Where a joined (or single) packet goes: 1 taken, 0 refused, -errno on failure. iov[0] is its vnet header.
typedef int (*mt_sink_t)(void *ctx, struct iovec *iov, int iovcnt);
// The longest header of a joined packet: IPv6 and TCP with 40 bytes of options.
#define MT_GRO_HEADER_MAX 100
int mt_csum_complete(uint8_t *pkt, size_t len, uint16_t start, uint16_t offset);
uint32_t mt_tso_count(const uint8_t *pkt, size_t len, uint8_t gso_type, uint16_t gso_size);
size_t mt_tso_segment(const uint8_t *pkt, size_t len, uint16_t gso_size, uint32_t index, uint8_t *out, size_t cap);
// What one mt_gro_emit did: err, the errno of a failed write (0: none); accepted, how many packets the sink took;
// refused, 1 when the sink refused a joined write and its packets went one by one instead.
typedef struct {
  int err;
  uint32_t accepted;
  uint32_t refused;
} mt_emit_t;
// *uso: whether UDP datagrams may join (the device took the UDP offloads); cleared when one such write is refused.
uint32_t mt_gro_emit(const mt_pkt_t *pkts, uint32_t from, uint32_t count, int *uso, mt_sink_t sink, void *ctx,
                     mt_emit_t *out);
uint32_t mt_gro_write(int fd, const mt_pkt_t *pkts, uint32_t from, uint32_t count, int *uso, mt_emit_t *out);
// offload_udp.c: the datagrams of a UDP super-packet (gso_type UDP_L4); its join rule is in gro_rule.h.
uint32_t mt_uso_count(const uint8_t *pkt, size_t len, uint16_t gso_size);
size_t mt_uso_segment(const uint8_t *pkt, size_t len, uint16_t gso_size, uint32_t index, uint8_t *out, size_t cap);

// tun.c
int mt_vnet_write(int fd, const mt_vnet_hdr_t *hdr, const uint8_t *data, size_t len);
int mt_vnet_writev(int fd, struct iovec *iov, int iovcnt);
napi_value tun_open(napi_env env, napi_callback_info info);
napi_value tun_close(napi_env env, napi_callback_info info);
napi_value tun_write(napi_env env, napi_callback_info info);
napi_value tun_writev_batch(napi_env env, napi_callback_info info);
napi_value tun_poll_start(napi_env env, napi_callback_info info);
napi_value tun_socketpair(napi_env env, napi_callback_info info);
// The offloading reader's state and its step for one packet read (vnet header `h`, `len` bytes: the head in slot
// n, the rest in tso + slot_size); returns the new slot count. offload_probe.c drives it in unit tests.
#define MT_TSO_MAX 65536
typedef struct {
  int vnet;
  size_t tso_len; // the packet being cut, 0 when none
  uint16_t gso_size;
  uint32_t next_segment, segments;
  uint8_t tso[]; // slot_size + MT_TSO_MAX bytes when vnet: the head lands in a slot, the tail right behind its copy
} mt_tun_reader_t;
uint32_t mt_tun_take(mt_tun_reader_t *s, mt_batch_t *b, uint32_t n, const mt_vnet_hdr_t *h, size_t len);

// offload_probe.c: the offload steps on buffers instead of a TUN, for unit tests.
napi_value offload_tso_cut(napi_env env, napi_callback_info info);
napi_value offload_gro_join(napi_env env, napi_callback_info info);
napi_value offload_gro_join_udp(napi_env env, napi_callback_info info);

// udp.c
void mt_udp_forget_fd(int fd);
// Words 2..7 of a datagram's record (family, port, address) for a sender; a recvmmsg that retries EINTR and ICMP
// errors and returns how many messages came (0 when none; *err set for a failure other than "nothing queued").
void mt_udp_addr_to_meta(const struct sockaddr_storage *from, uint32_t *record);
struct mmsghdr; // <sys/socket.h> declares it under _GNU_SOURCE only
int mt_udp_recvmmsg(int fd, struct mmsghdr *msgs, uint32_t want, int *err);
// udp_gro.c: coalesced receives (UDP_GRO), cut into the batch; at most this many datagrams in one message.
#define MT_GRO_MAX_SEGMENTS 128
int mt_udp_gro_on(int fd);
void mt_udp_gro_forget(int fd);
uint32_t mt_udp_gro_read(mt_batch_t *b, int *err);
napi_value udp_set_gro(napi_env env, napi_callback_info info);
napi_value udp_gro_cut(napi_env env, napi_callback_info info);
napi_value udp_open(napi_env env, napi_callback_info info);
napi_value udp_set_buffers(napi_env env, napi_callback_info info);
napi_value udp_sendmmsg(napi_env env, napi_callback_info info);
napi_value udp_poll_start(napi_env env, napi_callback_info info);

// netlink.c
napi_value netlink_open_addr_watch(napi_env env, napi_callback_info info);
napi_value netlink_open_route_watch(napi_env env, napi_callback_info info);
napi_value netlink_poll_start(napi_env env, napi_callback_info info);

// aead.c
napi_value aead_create(napi_env env, napi_callback_info info);
napi_value aead_close(napi_env env, napi_callback_info info);
napi_value aead_seal(napi_env env, napi_callback_info info);
napi_value aead_open(napi_env env, napi_callback_info info);
napi_value aead_seal_batch(napi_env env, napi_callback_info info);
napi_value aead_open_batch(napi_env env, napi_callback_info info);
napi_value aead_seal_single(napi_env env, napi_callback_info info);
napi_value aead_open_single(napi_env env, napi_callback_info info);

#endif
