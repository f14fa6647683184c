// Joining a write batch's packets into one super-packet and cutting one back into packets, for TCP (offload.c) and
// UDP (offload_udp.c) alike: the steps both transports share are offload.c's, what differs is a rule each
// transport hands in (mt_gro_rule_t, an explicit interface) or does after the shared cut (docs/ipv6.md "Offloads").
#ifndef MESH_GRO_RULE_H
#define MESH_GRO_RULE_H

#include "ip_fields.h"
#include "mesh_native.h"

// A packet that may join a group, as its transport's parse found it.
typedef struct {
  const uint8_t *p;
  uint32_t len;
  uint32_t iphl;    // the IP header
  uint32_t hlen;    // the IP and transport headers
  uint32_t payload; // len - hlen, never 0
  uint32_t seq;     // TCP: its sequence number
} mt_gro_pkt_t;

typedef struct {
  uint8_t proto;        // PROTO_TCP or PROTO_UDP: the partial checksum's pseudo-header
  uint16_t csum_offset; // where the checksum sits in the transport header
  // Fills *out for a packet of this transport that may join a group; 0 for one that may not.
  int (*parse)(const uint8_t *p, uint32_t len, mt_gro_pkt_t *out);
  // The transport's own conditions for `next`, the group's packet number `index`, to follow `prev` in the group
  // that starts with `first`. The shared ones (headers of one length, same IP fields and ports, the first one's
  // payload size but a shorter last, the 16-bit IP length) are checked before it.
  int (*continues)(const mt_gro_pkt_t *first, const mt_gro_pkt_t *prev, const mt_gro_pkt_t *next, uint32_t index);
  // The super-packet's transport fields in `header` (the first packet's headers, IP length already set) and its
  // vnet header's gso_type; the partial checksum is set after it.
  void (*header)(const mt_gro_pkt_t *group, uint32_t n, uint32_t total, uint8_t *header, mt_vnet_hdr_t *h);
} mt_gro_rule_t;

// offload_udp.c's rule: datagrams of one UDP flow, where the device took TUN_F_USO4/6.
extern const mt_gro_rule_t mt_udp_rule;

// The group of `rule`'s packets starting at pkts[from]: returns how many it joins (< 2: none), and for a group fills
// `header` (MT_GRO_HEADER_MAX bytes), *h, and iov[0] (the header) .. iov[n] (the packets' payloads).
uint32_t mt_gro_join(const mt_gro_rule_t *rule, const mt_pkt_t *pkts, uint32_t from, uint32_t count, uint8_t *header,
                     mt_vnet_hdr_t *h, struct iovec *iov);

// Segment `index` of a super-packet whose IP and transport headers are `hlen` bytes (IP `iphl`), `gso_size` payload
// bytes a segment, written to out[0 .. cap): the headers and its slice of payload, its IPv4 id the first one's +
// index (as the kernel's segmentation numbers them) and its IP length set. Returns its length (0: none or no
// room); the caller sets its transport's fields and checksum.
size_t mt_cut_segment(const uint8_t *pkt, size_t len, size_t iphl, size_t hlen, uint16_t gso_size, uint32_t index,
                      uint8_t *out, size_t cap);

// The `proto` checksum of the packet's transport part computed from scratch (its checksum field must be zero).
static inline uint16_t l4_checksum(const uint8_t *pkt, size_t iphl, uint8_t proto, size_t total) {
  uint32_t l4_len = (uint32_t) (total - iphl);
  return (uint16_t) ~mt_csum_fold(mt_csum_add(l4_pseudo(pkt, proto, l4_len), pkt + iphl, l4_len));
}

#endif
