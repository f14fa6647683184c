// TCP offloads on a TUN opened with IFF_VNET_HDR (tun.c), so the kernel's TCP stack on either end of the tunnel
// moves 64 KB at a time while the tunnel itself still carries MTU-sized packets, as Nebula peers expect:
//
//   read  (TSO)  the kernel hands over one TCP super-packet (IPv4 or IPv6) with a virtio_net_hdr (gso_size =
//                MSS); we cut it into MSS-sized segments, each a whole packet with its own TCP sequence number
//                and checksum (IPv4: also its own IP id and header checksum; IPv6: its payload length), exactly
//                what the kernel would have sent without offload.
//   write (GRO)  consecutive segments of one TCP flow in a write batch are joined back into one super-packet
//                (gso_type TCPV4 or TCPV6, checksum left partial), so the receiving stack walks one packet, not
//                forty.
//
// Every packet starts with this header (10 bytes, host byte order on a legacy TUN):
//
//    byte:   0        1          2..3       4..5       6..7         8..9
//         +-------+----------+----------+----------+------------+-------------+
//         | flags | gso_type | hdr_len  | gso_size | csum_start | csum_offset |
//         +-------+----------+----------+----------+------------+-------------+
//   flags NEEDS_CSUM: the checksum at csum_start + csum_offset holds only the pseudo-header sum.
//
// Only TCP straight behind the IP header is joined or cut: an IPv4 header without options on the write side, an
// IPv6 header whose next header is TCP (any extension header -- hop-by-hop, routing, fragment, ... -- makes the
// packet pass through on its own, as Linux GRO flushes it). UDP datagrams are cut and joined the same way by
// offload_udp.c where the kernel took TUN_F_USO4/6 (docs/ipv6.md "Offloads"). Everything else passes
// through one packet at a time. See docs/ipv6.md.
#include <string.h>

#include "gro_rule.h"
#include "ip_fields.h"
#include "mesh_native.h"

#define TCP_HLEN 20
#define UDP_CSUM_OFFSET 6
#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_PSH 0x08
#define TCP_FLAG_ACK 0x10
#define TCP_FLAG_CWR 0x80

// The pseudo-header sum of the TCP segment of `l4_len` bytes behind the IP header `ip` of either family.
static uint64_t tcp_pseudo(const uint8_t *ip, uint32_t l4_len) {
  return l4_pseudo(ip, PROTO_TCP, l4_len);
}

// ---- read side ----

int mt_csum_complete(uint8_t *pkt, size_t len, uint16_t start, uint16_t offset) {
  if ((size_t) start + offset + 2 > len) return -1;
  uint16_t c = (uint16_t) ~mt_csum_fold(mt_csum_add(0, pkt + start, len - start));
  // UDP reserves a zero checksum for "none" (RFC 768; over IPv6 it is not even allowed, RFC 8200 8.1): a computed
  // zero goes out as all ones. IPv6 may carry extension headers, so its UDP is known by the checksum's offset.
  if (c == 0 && len >= IPV4_HLEN && (pkt[0] >> 4) == 4 && pkt[9] == PROTO_UDP) c = 0xffff;
  if (c == 0 && len >= IPV6_HLEN && is_ipv6(pkt) && offset == UDP_CSUM_OFFSET) c = 0xffff;
  memcpy(pkt + start + offset, &c, 2);
  return 0;
}

// The IP header length of a TSO packet of `gso_type`, or 0 when it is not one we can cut.
static size_t tso_ip_header(const uint8_t *pkt, size_t len, uint8_t gso_type) {
  if (gso_type == VIRTIO_NET_HDR_GSO_TCPV4) {
    if (len < IPV4_HLEN || (pkt[0] >> 4) != 4 || pkt[9] != PROTO_TCP) return 0;
    size_t ihl = (size_t) (pkt[0] & 0x0f) * 4;
    return ihl < IPV4_HLEN ? 0 : ihl;
  }
  // An extension header between IPv6 and TCP: not cut (Linux TCP sends none with TSO), dropped by the caller.
  if (gso_type == VIRTIO_NET_HDR_GSO_TCPV6)
    return len >= IPV6_HLEN && is_ipv6(pkt) && pkt[6] == PROTO_TCP ? IPV6_HLEN : 0;
  return 0;
}

uint32_t mt_tso_count(const uint8_t *pkt, size_t len, uint8_t gso_type, uint16_t gso_size) {
  if (gso_type == VIRTIO_NET_HDR_GSO_UDP_L4) return mt_uso_count(pkt, len, gso_size);
  size_t iphl = tso_ip_header(pkt, len, gso_type);
  if (gso_size == 0 || iphl == 0 || len < iphl + TCP_HLEN) return 0;
  size_t hlen = iphl + (size_t) (pkt[iphl + 12] >> 4) * 4;
  if (hlen < iphl + TCP_HLEN || hlen >= len) return 0;
  size_t payload = len - hlen;
  return (uint32_t) ((payload + gso_size - 1) / gso_size);
}

size_t mt_cut_segment(const uint8_t *pkt, size_t len, size_t iphl, size_t hlen, uint16_t gso_size, uint32_t index,
                      uint8_t *out, size_t cap) {
  size_t start = hlen + (size_t) index * gso_size;
  if (start >= len) return 0;
  size_t seg = len - start < gso_size ? len - start : gso_size;
  size_t total = hlen + seg;
  if (total > cap || total - iphl > IP_MAX_LEN) return 0;
  memcpy(out, pkt, hlen);
  memcpy(out + hlen, pkt + start, seg);
  // IPv4: each segment its own IP id, as the kernel's TSO does (IPv6 has no id outside a fragment header).
  if (!is_ipv6(pkt)) wr16(out + 4, (uint16_t) (rd16(pkt + 4) + index));
  ip_set_length(out, iphl, total);
  return total;
}

// Segment `index` of a packet mt_tso_count accepted (TCP or UDP), written to out[0 .. cap); returns its length (0:
// none/no room).
size_t mt_tso_segment(const uint8_t *pkt, size_t len, uint16_t gso_size, uint32_t index, uint8_t *out, size_t cap) {
  // mt_tso_count accepted it, so the protocol byte says which kind of super-packet this is.
  if ((is_ipv6(pkt) ? pkt[6] : pkt[9]) == PROTO_UDP) return mt_uso_segment(pkt, len, gso_size, index, out, cap);
  size_t iphl = is_ipv6(pkt) ? IPV6_HLEN : (size_t) (pkt[0] & 0x0f) * 4;
  size_t hlen = iphl + (size_t) (pkt[iphl + 12] >> 4) * 4;
  size_t total = mt_cut_segment(pkt, len, iphl, hlen, gso_size, index, out, cap);
  if (total == 0) return 0;
  int last = hlen + (size_t) (index + 1) * gso_size >= len;
  uint8_t *tcp = out + iphl;
  wr32(tcp + 4, rd32(pkt + iphl + 4) + (uint32_t) (index * gso_size));
  if (!last) tcp[13] &= (uint8_t) ~(TCP_FLAG_FIN | TCP_FLAG_PSH);
  if (index > 0) tcp[13] &= (uint8_t) ~TCP_FLAG_CWR;
  tcp[16] = tcp[17] = 0;
  uint16_t c = l4_checksum(out, iphl, PROTO_TCP, total);
  memcpy(tcp + 16, &c, 2);
  return total;
}

// ---- write side ----

// The steps of a join both transports share (gro_rule.h): whether `next` continues the group that starts with
// `first` and so far ends with `prev` (`total` bytes so far) -- headers of one length, the first one's payload size
// but a shorter last one, the 16-bit IP length not passed, the same IP fields and ports -- and then the rule's own.
static int continues(const mt_gro_rule_t *rule, const mt_gro_pkt_t *first, const mt_gro_pkt_t *prev,
                     const mt_gro_pkt_t *next, uint32_t index, uint32_t total) {
  uint32_t iphl = first->iphl;
  if (next->iphl != iphl || next->hlen != first->hlen) return 0;
  if (prev->payload != first->payload || next->payload > first->payload) return 0;
  // The length field: IPv4's total length counts its header, IPv6's payload length does not.
  uint32_t length_field = total + next->payload - (iphl == IPV6_HLEN ? IPV6_HLEN : 0);
  if (length_field > IP_MAX_LEN) return 0;
  if (!same_ip_fields(first->p, next->p, iphl)) return 0;
  if (memcmp(first->p + iphl, next->p + iphl, 4) != 0) return 0; // ports
  return rule->continues(first, prev, next, index);
}

// The header of a group's super-packet (its first packet's, lengths and partial checksum set) and its vnet header.
static void group_header(const mt_gro_rule_t *rule, const mt_gro_pkt_t *group, uint32_t n, uint32_t total,
                         uint8_t *header, mt_vnet_hdr_t *h) {
  const mt_gro_pkt_t *first = &group[0];
  uint32_t iphl = first->iphl;
  memcpy(header, first->p, first->hlen);
  ip_set_length(header, iphl, total);
  memset(h, 0, sizeof(*h));
  h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  h->hdr_len = (uint16_t) first->hlen;
  h->gso_size = (uint16_t) first->payload;
  h->csum_start = (uint16_t) iphl;
  h->csum_offset = rule->csum_offset;
  rule->header(group, n, total, header, h);
  uint16_t pseudo = mt_csum_fold(l4_pseudo(header, rule->proto, total - iphl));
  memcpy(header + iphl + rule->csum_offset, &pseudo, 2);
}

uint32_t mt_gro_join(const mt_gro_rule_t *rule, const mt_pkt_t *pkts, uint32_t from, uint32_t count, uint8_t *header,
                     mt_vnet_hdr_t *h, struct iovec *iov) {
  mt_gro_pkt_t group[GRO_MAX_SEGMENTS];
  if (!rule->parse(pkts[from].data, pkts[from].len, &group[0])) return 0;
  uint32_t n = 1;
  uint32_t total = group[0].len;
  while (n < GRO_MAX_SEGMENTS && from + n < count && rule->parse(pkts[from + n].data, pkts[from + n].len, &group[n]) &&
         continues(rule, &group[0], &group[n - 1], &group[n], n, total)) {
    total += group[n].payload;
    n++;
  }
  if (n < 2) return n;
  group_header(rule, group, n, total, header, h);
  iov[0].iov_base = header;
  iov[0].iov_len = group[0].hlen;
  for (uint32_t i = 0; i < n; i++) {
    iov[i + 1].iov_base = (void *) (group[i].p + group[i].hlen);
    iov[i + 1].iov_len = group[i].payload;
  }
  return n;
}

// A TCP segment that may join a group: IPv4 without options and not a fragment, or IPv6 without extension
// headers; flags ACK or ACK|PSH, some payload, the IP lengths matching the packet, and the checksums correct (the
// joined packet's checksum is left to the kernel as partial, so a segment that would have failed verification
// must not hide inside it).
static int tcp_parse(const uint8_t *p, uint32_t len, mt_gro_pkt_t *s) {
  uint32_t iphl = joinable_ip_header(p, len, PROTO_TCP, TCP_HLEN);
  if (iphl == 0) return 0;
  const uint8_t *tcp = p + iphl;
  uint32_t hlen = iphl + (uint32_t) (tcp[12] >> 4) * 4;
  if (hlen < iphl + TCP_HLEN || hlen >= len) return 0;
  if ((tcp[13] & (uint8_t) ~TCP_FLAG_PSH) != TCP_FLAG_ACK) return 0;
  if (mt_csum_fold(mt_csum_add(tcp_pseudo(p, len - iphl), tcp, len - iphl)) != 0xffff) return 0;
  s->p = p;
  s->len = len;
  s->iphl = iphl;
  s->hlen = hlen;
  s->payload = len - hlen;
  s->seq = rd32(tcp + 4);
  return 1;
}

// TCP's own rules (Linux GRO's): an in-order sequence, a PSH ends the group, and the same ack, window and options.
static int tcp_continues(const mt_gro_pkt_t *first, const mt_gro_pkt_t *prev, const mt_gro_pkt_t *next,
                         uint32_t index) {
  uint32_t iphl = first->iphl;
  if (prev->p[iphl + 13] & TCP_FLAG_PSH) return 0;
  if (next->seq != prev->seq + prev->payload) return 0;
  const uint8_t *ta = first->p + iphl, *tb = next->p + iphl;
  if (memcmp(ta + 8, tb + 8, 4) != 0) return 0;                        // ack number
  if (memcmp(ta + 14, tb + 14, 2) != 0) return 0;                      // window
  return memcmp(ta + 20, tb + 20, first->hlen - iphl - TCP_HLEN) == 0; // options (timestamps)
}

// The group's PSH (from its last segment) and gso_type.
static void tcp_header(const mt_gro_pkt_t *group, uint32_t n, uint32_t total, uint8_t *header, mt_vnet_hdr_t *h) {
  uint32_t iphl = group[0].iphl;
  header[iphl + 13] |= group[n - 1].p[iphl + 13] & TCP_FLAG_PSH;
  h->gso_type = iphl == IPV6_HLEN ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
}

static const mt_gro_rule_t tcp_rule = {
    .proto = PROTO_TCP, .csum_offset = 16, .parse = tcp_parse, .continues = tcp_continues, .header = tcp_header};

// pkts[from .. from + n) one by one behind an all-zero vnet header (plain packets, checksums complete), until the
// first failure.
static void emit_each(const mt_pkt_t *pkts, uint32_t from, uint32_t n, mt_sink_t sink, void *ctx, mt_emit_t *out) {
  mt_vnet_hdr_t h;
  memset(&h, 0, sizeof(h));
  for (uint32_t i = from; i < from + n; i++) {
    struct iovec iov[2] = {{&h, sizeof(h)}, {(void *) pkts[i].data, pkts[i].len}};
    int r = sink(ctx, iov, 2);
    if (r < 0) {
      out->err = -r;
      return;
    }
    out->accepted += (uint32_t) r;
  }
}

// Hands packets[from ..) to `sink`, starting a group at `from` (TCP, or UDP while *uso: the device takes UDP
// super-packets); returns how many packets the group took (>= 1) and fills *out. A packet that starts no group
// goes alone behind an all-zero vnet header (a plain packet, checksums complete).
uint32_t mt_gro_emit(const mt_pkt_t *pkts, uint32_t from, uint32_t count, int *uso, mt_sink_t sink, void *ctx,
                     mt_emit_t *out) {
  mt_vnet_hdr_t h;
  uint8_t header[MT_GRO_HEADER_MAX];
  struct iovec iov[GRO_MAX_SEGMENTS + 2];
  memset(out, 0, sizeof(*out));
  uint32_t n = mt_gro_join(&tcp_rule, pkts, from, count, header, &h, iov + 1);
  if (n < 2 && *uso) n = mt_gro_join(&mt_udp_rule, pkts, from, count, header, &h, iov + 1);
  if (n < 2) {
    n = 1;
    memset(&h, 0, sizeof(h));
    iov[1].iov_base = (void *) pkts[from].data;
    iov[1].iov_len = pkts[from].len;
  }
  iov[0].iov_base = &h;
  iov[0].iov_len = sizeof(h);
  int r = sink(ctx, iov, (int) n + 2 - (n == 1));
  if (r == 0 && n >= 2) {
    // The kernel refused the joined packet (virtio_net_hdr_to_skb's checks differ across versions): its packets
    // must not be lost with it, so they go one by one, and a refused UDP_L4 write ends UDP joins on this device
    // (docs/ipv6.md "Offloads").
    if (h.gso_type == VIRTIO_NET_HDR_GSO_UDP_L4) *uso = 0;
    out->refused = 1;
    emit_each(pkts, from, n, sink, ctx, out);
  } else if (r < 0) {
    out->err = -r;
  } else {
    out->accepted = r ? n : 0;
  }
  return n;
}

static int fd_sink(void *ctx, struct iovec *iov, int iovcnt) {
  return mt_vnet_writev(*(int *) ctx, iov, iovcnt);
}

uint32_t mt_gro_write(int fd, const mt_pkt_t *pkts, uint32_t from, uint32_t count, int *uso, mt_emit_t *out) {
  return mt_gro_emit(pkts, from, count, uso, fd_sink, &fd, out);
}
