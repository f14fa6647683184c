// With tun.disabled there is no interface to deliver to, but a host should still answer `ping` on its overlay
// address (a lighthouse in the README's quickstart runs that way), as Nebula's disabled device does: an IPv4 ICMP
// echo request that passed the inbound firewall is turned into its echo reply, which then travels the inside
// pipeline like any packet read from a TUN (outbound firewall, the tunnel, UDP). The reply is the request's size
// and goes only back through the tunnel it came from, so it can make us send no more than we were sent.

import { internetChecksum } from '../firewall/checksum.js';

const ICMP = 1;
const ECHO_REQUEST = 8;
const ECHO_REPLY = 0;
const REPLY_TTL = 64;

/** The echo reply for an unfragmented IPv4 ICMP echo request, or null for anything else. */
export function icmpEchoReply(packet: Uint8Array): Uint8Array | null {
  if (packet.length < 20 || packet[0] >> 4 !== 4) return null;
  const ihl = (packet[0] & 0x0f) * 4;
  const total = (packet[2] << 8) | packet[3];
  if (ihl < 20 || total < ihl + 8 || total > packet.length || packet[9] !== ICMP) return null;
  // A fragment (more fragments, or an offset) is not a whole request: the kernel would reassemble first.
  if (((packet[6] & 0x3f) << 8 | packet[7]) !== 0) return null;
  if (packet[ihl] !== ECHO_REQUEST || packet[ihl + 1] !== 0) return null;
  if (internetChecksum(packet, ihl, total) !== 0) return null;

  const reply = Uint8Array.from(packet.subarray(0, total));
  reply.set(packet.subarray(16, 20), 12);
  reply.set(packet.subarray(12, 16), 16);
  reply[8] = REPLY_TTL;
  reply[10] = 0;
  reply[11] = 0;
  const ipSum = internetChecksum(reply, 0, ihl);
  reply[10] = ipSum >> 8;
  reply[11] = ipSum & 0xff;
  reply[ihl] = ECHO_REPLY;
  reply[ihl + 2] = 0;
  reply[ihl + 3] = 0;
  const icmpSum = internetChecksum(reply, ihl, total);
  reply[ihl + 2] = icmpSum >> 8;
  reply[ihl + 3] = icmpSum & 0xff;
  return reply;
}
