// The Internet checksum (RFC 1071) for the offload code: a ones'-complement sum carried in 64 bits, folded at the
// end. Sums of byte ranges combine by addition as long as every range but the last has even length.
#include <string.h>

#include "mesh_native.h"

uint64_t mt_csum_add(uint64_t sum, const uint8_t *data, size_t len) {
  // Native-endian 32-bit loads: the ones'-complement sum is byte-order independent once folded and stored back
  // the same way (RFC 1071 §2(B)).
  while (len >= 4) {
    uint32_t w;
    memcpy(&w, data, 4);
    sum += w;
    data += 4;
    len -= 4;
  }
  if (len >= 2) {
    uint16_t w;
    memcpy(&w, data, 2);
    sum += w;
    data += 2;
    len -= 2;
  }
  if (len == 1) {
    uint16_t w = 0;
    memcpy(&w, data, 1); // the odd byte is the high-order byte of a zero-padded word (in network order)
    sum += w;
  }
  return sum;
}

// Folds to 16 bits, still in the same (native) byte arrangement as the data that was summed.
uint16_t mt_csum_fold(uint64_t sum) {
  sum = (sum & 0xffffffff) + (sum >> 32);
  sum = (sum & 0xffffffff) + (sum >> 32);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t) sum;
}

// Sum of the IPv4 pseudo-header for a TCP/UDP segment of `l4_len` bytes (addresses straight from the IP header).
uint64_t mt_csum_pseudo4(const uint8_t *ip_header, uint8_t protocol, uint16_t l4_len) {
  uint64_t sum = mt_csum_add(0, ip_header + 12, 8);
  uint8_t tail[4] = {0, protocol, (uint8_t) (l4_len >> 8), (uint8_t) l4_len};
  return mt_csum_add(sum, tail, 4);
}

// Sum of the IPv6 pseudo-header (RFC 8200 8.1: source, destination, 32-bit upper-layer length, next header) for
// a segment of `l4_len` bytes; the addresses straight from the fixed IPv6 header.
uint64_t mt_csum_pseudo6(const uint8_t *ip_header, uint8_t protocol, uint32_t l4_len) {
  uint64_t sum = mt_csum_add(0, ip_header + 8, 32);
  uint8_t tail[8] = {
      (uint8_t) (l4_len >> 24), (uint8_t) (l4_len >> 16), (uint8_t) (l4_len >> 8), (uint8_t) l4_len, 0, 0, 0, protocol};
  return mt_csum_add(sum, tail, 8);
}
