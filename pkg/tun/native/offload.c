// TCP offloads on a TUN opened with IFF_VNET_HDR (tun.c), so the kernel's TCP stack on either end of the tunnel
// moves 64 KB at a time while the tunnel itself still carries MTU-sized packets, as Nebula peers expect:
//
//   read  (TSO)  the kernel hands over one TCP/IPv4 super-packet with a virtio_net_hdr (gso_size = MSS); we cut
//                it into MSS-sized segments, each a whole packet with its own IP id, TCP sequence number and both
//                checksums, exactly what the kernel would have sent without offload.
//   write (GRO)  consecutive segments of one TCP flow in a write batch are joined back into one super-packet
//                (gso_type TCPV4, checksum left partial), so the receiving stack walks one packet, not forty.
//
// Every packet starts with this header (10 bytes, host byte order on a legacy TUN):
//
//    byte:   0        1          2..3       4..5       6..7         8..9
//         +-------+----------+----------+----------+------------+-------------+
//         | flags | gso_type | hdr_len  | gso_size | csum_start | csum_offset |
//         +-------+----------+----------+----------+------------+-------------+
//   flags NEEDS_CSUM: the checksum at csum_start + csum_offset holds only the pseudo-header sum.
//
// Only IPv4 TCP is joined or cut (mesh's overlay is IPv4); anything else passes through one packet at a time.
#include <string.h>

#include "mesh_native.h"

#define IPV4_HLEN 20
#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_PSH 0x08
#define TCP_FLAG_ACK 0x10
#define TCP_FLAG_CWR 0x80
#define GRO_MAX_SEGMENTS 64
#define IPV4_MAX_LEN 65535

static inline uint16_t rd16(const uint8_t *p) {
  return (uint16_t) (p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p) {
  return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static inline void wr16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t) (v >> 8), p[1] = (uint8_t) v;
}

static inline void wr32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t) (v >> 24), p[1] = (uint8_t) (v >> 16), p[2] = (uint8_t) (v >> 8), p[3] = (uint8_t) v;
}

static void ipv4_set_checksum(uint8_t *ip, size_t ihl) {
  ip[10] = ip[11] = 0;
  uint16_t c = (uint16_t) ~mt_csum_fold(mt_csum_add(0, ip, ihl));
  memcpy(ip + 10, &c, 2);
}

// ---- read side ----

int mt_csum_complete(uint8_t *pkt, size_t len, uint16_t start, uint16_t offset) {
  if ((size_t) start + offset + 2 > len) return -1;
  uint16_t c = (uint16_t) ~mt_csum_fold(mt_csum_add(0, pkt + start, len - start));
  // UDP reserves a zero checksum for "none" (RFC 768): a computed zero goes out as all ones.
  if (c == 0 && len >= IPV4_HLEN && (pkt[0] >> 4) == 4 && pkt[9] == 17) c = 0xffff;
  memcpy(pkt + start + offset, &c, 2);
  return 0;
}

uint32_t mt_tso4_count(const uint8_t *pkt, size_t len, uint16_t gso_size) {
  if (gso_size == 0 || len < IPV4_HLEN || (pkt[0] >> 4) != 4 || pkt[9] != 6) return 0;
  size_t ihl = (size_t) (pkt[0] & 0x0f) * 4;
  if (ihl < IPV4_HLEN || len < ihl + 20) return 0;
  size_t hlen = ihl + (size_t) (pkt[ihl + 12] >> 4) * 4;
  if (hlen < ihl + 20 || hlen >= len) return 0;
  size_t payload = len - hlen;
  return (uint32_t) ((payload + gso_size - 1) / gso_size);
}

size_t mt_tso4_segment(const uint8_t *pkt, size_t len, uint16_t gso_size, uint32_t index, uint8_t *out, size_t cap) {
  size_t ihl = (size_t) (pkt[0] & 0x0f) * 4;
  size_t hlen = ihl + (size_t) (pkt[ihl + 12] >> 4) * 4;
  size_t start = hlen + (size_t) index * gso_size;
  if (start >= len) return 0;
  size_t seg = len - start < gso_size ? len - start : gso_size;
  size_t total = hlen + seg;
  if (total > cap) return 0;
  int last = start + seg == len;
  memcpy(out, pkt, hlen);
  memcpy(out + hlen, pkt + start, seg);

  wr16(out + 2, (uint16_t) total);
  wr16(out + 4, (uint16_t) (rd16(pkt + 4) + index)); // each segment its own IP id, as the kernel's TSO does
  ipv4_set_checksum(out, ihl);

  uint8_t *tcp = out + ihl;
  wr32(tcp + 4, rd32(pkt + ihl + 4) + (uint32_t) (index * gso_size));
  if (!last) tcp[13] &= (uint8_t) ~(TCP_FLAG_FIN | TCP_FLAG_PSH);
  if (index > 0) tcp[13] &= (uint8_t) ~TCP_FLAG_CWR;
  tcp[16] = tcp[17] = 0;
  uint64_t sum = mt_csum_pseudo4(out, 6, (uint16_t) (total - ihl));
  uint16_t c = (uint16_t) ~mt_csum_fold(mt_csum_add(sum, tcp, total - ihl));
  memcpy(tcp + 16, &c, 2);
  return total;
}

// ---- write side ----

// A TCP/IPv4 segment that may join a group: no IP options, not a fragment, flags ACK or ACK|PSH, some payload,
// and both checksums correct (the joined packet's checksum is left to the kernel as partial, so a segment that
// would have failed verification must not hide inside it).
typedef struct {
  const uint8_t *p;
  uint32_t len;
  uint32_t hlen;
  uint32_t payload;
  uint32_t seq;
} mt_seg_t;

static int parse_segment(const uint8_t *p, uint32_t len, mt_seg_t *s) {
  if (len < IPV4_HLEN + 20 || p[0] != 0x45 || p[9] != 6 || rd16(p + 2) != len) return 0;
  if ((rd16(p + 6) & 0x3fff) != 0) return 0; // MF set or a fragment offset
  const uint8_t *tcp = p + IPV4_HLEN;
  uint32_t hlen = IPV4_HLEN + (uint32_t) (tcp[12] >> 4) * 4;
  if (hlen < IPV4_HLEN + 20 || hlen >= len) return 0;
  if ((tcp[13] & (uint8_t) ~TCP_FLAG_PSH) != TCP_FLAG_ACK) return 0;
  if (mt_csum_fold(mt_csum_add(0, p, IPV4_HLEN)) != 0xffff) return 0;
  uint64_t sum = mt_csum_pseudo4(p, 6, (uint16_t) (len - IPV4_HLEN));
  if (mt_csum_fold(mt_csum_add(sum, tcp, len - IPV4_HLEN)) != 0xffff) return 0;
  s->p = p;
  s->len = len;
  s->hlen = hlen;
  s->payload = len - hlen;
  s->seq = rd32(tcp + 4);
  return 1;
}

// Whether `next` continues the group that starts with `first` and so far ends with `prev` (the rules Linux GRO
// applies: same flow and header fields, in-order sequence, equal-sized segments but for a shorter last one, and
// a PSH ends the group).
static int continues(const mt_seg_t *first, const mt_seg_t *prev, const mt_seg_t *next, uint32_t total) {
  const uint8_t *a = first->p, *b = next->p;
  if (next->hlen != first->hlen || prev->payload != first->payload || next->payload > first->payload) return 0;
  if (total + next->payload > IPV4_MAX_LEN) return 0;
  if (prev->p[IPV4_HLEN + 13] & TCP_FLAG_PSH) return 0;
  if (next->seq != prev->seq + prev->payload) return 0;
  if (a[1] != b[1] || a[8] != b[8] || (a[6] & 0x40) != (b[6] & 0x40)) return 0; // TOS, TTL, DF
  if (memcmp(a + 12, b + 12, 8) != 0) return 0;                                 // addresses
  const uint8_t *ta = a + IPV4_HLEN, *tb = b + IPV4_HLEN;
  if (memcmp(ta, tb, 4) != 0) return 0;                                         // ports
  if (memcmp(ta + 8, tb + 8, 4) != 0) return 0;                                 // ack number
  if (memcmp(ta + 14, tb + 14, 2) != 0) return 0;                               // window
  return memcmp(ta + 20, tb + 20, first->hlen - IPV4_HLEN - 20) == 0;           // options (timestamps)
}

// Writes packets[from ..) starting a group at `from`; returns how many packets the group took (>= 1), and sets
// *accepted to how many of them the kernel took. write_one writes a packet on its own.
uint32_t mt_gro_write(int fd, const mt_pkt_t *pkts, uint32_t from, uint32_t count, int *err, uint32_t *accepted) {
  mt_seg_t segs[GRO_MAX_SEGMENTS];
  *err = 0;
  *accepted = 0;
  uint32_t n = 0;
  if (parse_segment(pkts[from].data, pkts[from].len, &segs[0])) {
    n = 1;
    uint32_t total = segs[0].len;
    while (n < GRO_MAX_SEGMENTS && from + n < count &&
           parse_segment(pkts[from + n].data, pkts[from + n].len, &segs[n]) &&
           continues(&segs[0], &segs[n - 1], &segs[n], total)) {
      total += segs[n].payload;
      n++;
    }
  }
  if (n <= 1) {
    int r = mt_vnet_write(fd, NULL, pkts[from].data, pkts[from].len);
    if (r < 0) *err = -r;
    else *accepted = (uint32_t) r;
    return 1;
  }

  const mt_seg_t *first = &segs[0];
  uint32_t total = first->len;
  for (uint32_t i = 1; i < n; i++) total += segs[i].payload;
  uint8_t header[IPV4_HLEN + 60];
  memcpy(header, first->p, first->hlen);
  wr16(header + 2, (uint16_t) total);
  ipv4_set_checksum(header, IPV4_HLEN);
  uint8_t *tcp = header + IPV4_HLEN;
  tcp[13] |= segs[n - 1].p[IPV4_HLEN + 13] & TCP_FLAG_PSH;
  tcp[16] = tcp[17] = 0;
  uint16_t pseudo = mt_csum_fold(mt_csum_pseudo4(header, 6, (uint16_t) (total - IPV4_HLEN)));
  memcpy(tcp + 16, &pseudo, 2);

  mt_vnet_hdr_t h;
  memset(&h, 0, sizeof(h));
  h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
  h.hdr_len = (uint16_t) first->hlen;
  h.gso_size = (uint16_t) first->payload;
  h.csum_start = IPV4_HLEN;
  h.csum_offset = 16;

  struct iovec iov[GRO_MAX_SEGMENTS + 2];
  iov[0].iov_base = &h;
  iov[0].iov_len = sizeof(h);
  iov[1].iov_base = header;
  iov[1].iov_len = first->hlen;
  for (uint32_t i = 0; i < n; i++) {
    iov[i + 2].iov_base = (void *) (segs[i].p + segs[i].hlen);
    iov[i + 2].iov_len = segs[i].payload;
  }
  int r = mt_vnet_writev(fd, iov, (int) n + 2);
  if (r < 0) *err = -r;
  else *accepted = r ? n : 0;
  return n;
}
