// UDP segmentation offload on a TUN that took TUN_F_USO4 | TUN_F_USO6 (Linux >= 6.2; tun.c asks at open), the UDP
// half of offload.c. A UDP flood through the tunnel otherwise costs the receiving host one write() and one trip up
// the IP stack per datagram (docs/ipv6.md "Offloads"):
//
//   write (GRO)  consecutive datagrams of one UDP flow in a write batch go to the kernel as one super-packet
//                (gso_type UDP_L4, gso_size = the datagrams' payload size, checksum left partial). The kernel cuts
//                it back into the same datagrams where it must -- at a socket without UDP_GRO, on forwarding -- so
//                every datagram keeps its boundaries, bytes and order; a socket with UDP_GRO gets it whole.
//   read  (TSO)  a local sender using UDP_SEGMENT hands over one such super-packet; we cut it into its datagrams,
//                each a whole packet with its own UDP length and checksum (IPv4: its own IP id and header
//                checksum), as the kernel would have sent them without offload.
//
// A datagram joins only what segmentation gives back byte for byte: the same flow (addresses, ports) and IP fields
// (TOS/traffic class, TTL/hop limit, DF, flow label), IPv4 ids counting up by one, every payload the first one's
// size but a shorter last one, no IPv4 options or fragments, no IPv6 extension headers, a checksum that is present
// (IPv4 allows zero, "none": segmentation would fill one in) and correct (a partial checksum must not hide a
// datagram the receiver would have dropped). Anything else is written alone.
#include <string.h>

#include "ip_fields.h"
#include "mesh_native.h"

#define UDP_HLEN 8
#define UDP_CSUM_OFFSET 6

// ---- read side ----

// The IP header length of a UDP super-packet we can cut, or 0.
static size_t uso_ip_header(const uint8_t *pkt, size_t len) {
  if (len >= IPV4_HLEN && (pkt[0] >> 4) == 4 && pkt[9] == PROTO_UDP) {
    size_t ihl = (size_t) (pkt[0] & 0x0f) * 4;
    return ihl < IPV4_HLEN ? 0 : ihl;
  }
  // Linux sends no extension header between IPv6 and a segmented UDP payload; one here is not cut.
  return len >= IPV6_HLEN && is_ipv6(pkt) && pkt[6] == PROTO_UDP ? IPV6_HLEN : 0;
}

uint32_t mt_uso_count(const uint8_t *pkt, size_t len, uint16_t gso_size) {
  size_t iphl = uso_ip_header(pkt, len);
  if (gso_size == 0 || iphl == 0 || len <= iphl + UDP_HLEN) return 0;
  size_t payload = len - iphl - UDP_HLEN;
  return (uint32_t) ((payload + gso_size - 1) / gso_size);
}

// Datagram `index` of a super-packet mt_uso_count accepted, written to out[0 .. cap); returns its length (0: none or
// no room).
size_t mt_uso_segment(const uint8_t *pkt, size_t len, uint16_t gso_size, uint32_t index, uint8_t *out, size_t cap) {
  size_t iphl = is_ipv6(pkt) ? IPV6_HLEN : (size_t) (pkt[0] & 0x0f) * 4;
  size_t hlen = iphl + UDP_HLEN;
  size_t start = hlen + (size_t) index * gso_size;
  if (start >= len) return 0;
  size_t seg = len - start < gso_size ? len - start : gso_size;
  size_t total = hlen + seg;
  if (total > cap || total - iphl > IP_MAX_LEN) return 0;
  memcpy(out, pkt, hlen);
  memcpy(out + hlen, pkt + start, seg);

  if (!is_ipv6(pkt)) wr16(out + 4, (uint16_t) (rd16(pkt + 4) + index));
  ip_set_length(out, iphl, total);
  uint8_t *udp = out + iphl;
  wr16(udp + 4, (uint16_t) (total - iphl));
  udp[6] = udp[7] = 0;
  uint16_t c =
      (uint16_t) ~mt_csum_fold(mt_csum_add(l4_pseudo(out, PROTO_UDP, (uint32_t) (total - iphl)), udp, total - iphl));
  if (c == 0) c = 0xffff; // zero means "no checksum" (RFC 768); IPv6 forbids it (RFC 8200 8.1)
  memcpy(udp + 6, &c, 2);
  return total;
}

// ---- write side ----

typedef struct {
  const uint8_t *p;
  uint32_t len;
  uint32_t iphl;
  uint32_t payload;
} udp_dgram_t;

static int parse_datagram(const uint8_t *p, uint32_t len, udp_dgram_t *d) {
  uint32_t iphl = joinable_ip_header(p, len, PROTO_UDP, UDP_HLEN);
  if (iphl == 0) return 0;
  const uint8_t *udp = p + iphl;
  uint32_t l4_len = len - iphl;
  if (rd16(udp + 4) != l4_len || l4_len == UDP_HLEN) return 0; // a length that lies, or no payload to segment
  if (rd16(udp + 6) == 0) return 0;
  if (mt_csum_fold(mt_csum_add(l4_pseudo(p, PROTO_UDP, l4_len), udp, l4_len)) != 0xffff) return 0;
  d->p = p;
  d->len = len;
  d->iphl = iphl;
  d->payload = l4_len - UDP_HLEN;
  return 1;
}

// Whether `next`, the group's datagram number `index`, continues the group that starts with `first` and so far
// ends with `prev`; `total` is the group's length so far.
static int continues(const udp_dgram_t *first, const udp_dgram_t *prev, const udp_dgram_t *next, uint32_t index,
                     uint32_t total) {
  uint32_t iphl = first->iphl;
  if (next->iphl != iphl) return 0;
  if (prev->payload != first->payload || next->payload > first->payload) return 0;
  uint32_t length_field = total + next->payload - (iphl == IPV6_HLEN ? IPV6_HLEN : 0);
  if (length_field > IP_MAX_LEN) return 0;
  if (!same_ip_fields(first->p, next->p, iphl)) return 0;
  if (memcmp(first->p + iphl, next->p + iphl, 4) != 0) return 0; // ports
  // Segmentation gives datagram i the first one's IPv4 id plus i.
  return iphl == IPV6_HLEN || rd16(next->p + 4) == (uint16_t) (rd16(first->p + 4) + index);
}

static void group_header(const udp_dgram_t *first, uint32_t total, uint8_t *header, mt_vnet_hdr_t *h) {
  uint32_t iphl = first->iphl;
  memcpy(header, first->p, iphl + UDP_HLEN);
  ip_set_length(header, iphl, total);
  uint8_t *udp = header + iphl;
  wr16(udp + 4, (uint16_t) (total - iphl));
  uint16_t pseudo = mt_csum_fold(l4_pseudo(header, PROTO_UDP, total - iphl));
  memcpy(udp + 6, &pseudo, 2);

  memset(h, 0, sizeof(*h));
  h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  h->gso_type = VIRTIO_NET_HDR_GSO_UDP_L4;
  h->hdr_len = (uint16_t) (iphl + UDP_HLEN);
  h->gso_size = (uint16_t) first->payload;
  h->csum_start = (uint16_t) iphl;
  h->csum_offset = UDP_CSUM_OFFSET;
}

uint32_t mt_udp_join(const mt_pkt_t *pkts, uint32_t from, uint32_t count, uint8_t *header, mt_vnet_hdr_t *h,
                     struct iovec *iov) {
  udp_dgram_t d[GRO_MAX_SEGMENTS];
  if (!parse_datagram(pkts[from].data, pkts[from].len, &d[0])) return 0;
  uint32_t n = 1;
  uint32_t total = d[0].len;
  while (n < GRO_MAX_SEGMENTS && from + n < count && parse_datagram(pkts[from + n].data, pkts[from + n].len, &d[n]) &&
         continues(&d[0], &d[n - 1], &d[n], n, total)) {
    total += d[n].payload;
    n++;
  }
  if (n < 2) return n;
  group_header(&d[0], total, header, h);
  iov[0].iov_base = header;
  iov[0].iov_len = d[0].iphl + UDP_HLEN;
  for (uint32_t i = 0; i < n; i++) {
    iov[i + 1].iov_base = (void *) (d[i].p + d[i].iphl + UDP_HLEN);
    iov[i + 1].iov_len = d[i].payload;
  }
  return n;
}
