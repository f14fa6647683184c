// IP header fields shared by the TCP (offload.c) and UDP (offload_udp.c) offloads: byte-order reads and writes, the
// length fields of either family, and the header fields two packets must share to be joined into one.
#ifndef MESH_IP_FIELDS_H
#define MESH_IP_FIELDS_H

#include <string.h>

#include "mesh_native.h"

#define IPV4_HLEN 20
#define IPV6_HLEN 40
#define PROTO_TCP 6
#define PROTO_UDP 17
#define IP_MAX_LEN 65535 // IPv4 total length, IPv6 payload length: 16-bit fields

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

static inline int is_ipv6(const uint8_t *ip) {
  return (ip[0] >> 4) == 6;
}

static inline void ipv4_set_checksum(uint8_t *ip, size_t ihl) {
  ip[10] = ip[11] = 0;
  uint16_t c = (uint16_t) ~mt_csum_fold(mt_csum_add(0, ip, ihl));
  memcpy(ip + 10, &c, 2);
}

// Sets the lengths of a packet of `total` bytes whose IP header is `iphl` long (IPv4: total length and header
// checksum; IPv6: payload length, there is no header checksum).
static inline void ip_set_length(uint8_t *ip, size_t iphl, size_t total) {
  if (is_ipv6(ip)) {
    wr16(ip + 4, (uint16_t) (total - IPV6_HLEN));
  } else {
    wr16(ip + 2, (uint16_t) total);
    ipv4_set_checksum(ip, iphl);
  }
}

// The pseudo-header sum of a `proto` segment of `l4_len` bytes behind the IP header `ip` of either family.
static inline uint64_t l4_pseudo(const uint8_t *ip, uint8_t proto, uint32_t l4_len) {
  return is_ipv6(ip) ? mt_csum_pseudo6(ip, proto, l4_len) : mt_csum_pseudo4(ip, proto, (uint16_t) l4_len);
}

// The IP fields that must match for two packets to be one flow and be joined (Linux GRO's rules): IPv4 TOS,
// TTL, DF and the addresses; IPv6 version/traffic class/flow label, hop limit and the addresses.
static inline int same_ip_fields(const uint8_t *a, const uint8_t *b, uint32_t iphl) {
  if (iphl == IPV6_HLEN) return memcmp(a, b, 4) == 0 && a[7] == b[7] && memcmp(a + 8, b + 8, 32) == 0;
  if (a[1] != b[1] || a[8] != b[8] || (a[6] & 0x40) != (b[6] & 0x40)) return 0;
  return memcmp(a + 12, b + 12, 8) == 0;
}

// The IP header length of a packet that may be joined: IPv4 without options, no flag but DF, its total length
// the packet's and its header checksum correct, or IPv6 without extension headers and its payload length the
// packet's; the transport `proto` straight behind it and at least `min_l4` bytes of it. 0 for anything else.
static inline uint32_t joinable_ip_header(const uint8_t *p, uint32_t len, uint8_t proto, uint32_t min_l4) {
  if (len >= IPV4_HLEN + min_l4 && p[0] == 0x45) {
    if (p[9] != proto || rd16(p + 2) != len) return 0;
    // Any flag or offset bit but DF: MF, a fragment offset, or the reserved bit (which same_ip_fields does not
    // compare, so a later packet's would be lost to the first one's in the join; Linux GRO flushes on it too).
    if ((rd16(p + 6) & 0xbfff) != 0) return 0;
    if (mt_csum_fold(mt_csum_add(0, p, IPV4_HLEN)) != 0xffff) return 0;
    return IPV4_HLEN;
  }
  if (len >= IPV6_HLEN + min_l4 && is_ipv6(p)) {
    if (p[6] != proto || rd16(p + 4) != len - IPV6_HLEN) return 0; // an extension header, or another protocol
    return IPV6_HLEN;
  }
  return 0;
}

// The most packets one joined write carries (the kernel takes up to 64 segments of a UDP super-packet on every
// version with USO, 128 on newer ones).
#define GRO_MAX_SEGMENTS 64

#endif
