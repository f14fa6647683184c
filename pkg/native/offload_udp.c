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

#include "gro_rule.h"
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
  size_t total = mt_cut_segment(pkt, len, iphl, iphl + UDP_HLEN, gso_size, index, out, cap);
  if (total == 0) return 0;
  uint8_t *udp = out + iphl;
  wr16(udp + 4, (uint16_t) (total - iphl));
  udp[6] = udp[7] = 0;
  uint16_t c = l4_checksum(out, iphl, PROTO_UDP, total);
  if (c == 0) c = 0xffff; // zero means "no checksum" (RFC 768); IPv6 forbids it (RFC 8200 8.1)
  memcpy(udp + 6, &c, 2);
  return total;
}

// ---- write side: the UDP rule of offload.c's join (gro_rule.h) ----

static int udp_parse(const uint8_t *p, uint32_t len, mt_gro_pkt_t *d) {
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
  d->hlen = iphl + UDP_HLEN;
  d->payload = l4_len - UDP_HLEN;
  d->seq = 0;
  return 1;
}

// Segmentation gives datagram `index` the first one's IPv4 id plus `index`.
static int udp_continues(const mt_gro_pkt_t *first, const mt_gro_pkt_t *prev, const mt_gro_pkt_t *next,
                         uint32_t index) {
  return first->iphl == IPV6_HLEN || rd16(next->p + 4) == (uint16_t) (rd16(first->p + 4) + index);
}

// The super-packet's UDP length (the whole payload) and gso_type.
static void udp_header(const mt_gro_pkt_t *group, uint32_t n, uint32_t total, uint8_t *header, mt_vnet_hdr_t *h) {
  uint32_t iphl = group[0].iphl;
  wr16(header + iphl + 4, (uint16_t) (total - iphl));
  h->gso_type = VIRTIO_NET_HDR_GSO_UDP_L4;
}

const mt_gro_rule_t mt_udp_rule = {.proto = PROTO_UDP,
                                   .csum_offset = UDP_CSUM_OFFSET,
                                   .parse = udp_parse,
                                   .continues = udp_continues,
                                   .header = udp_header};
