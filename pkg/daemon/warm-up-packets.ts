// The data packets the warm-up's throwaway first contact exchanges (warm-up.ts): the kinds a real first contact
// starts with, so their code paths are the warm ones. A ping or a TCP connect is what usually opens a tunnel, and both
// are packets the peer answers, which the sender's path health watches (datapath/path-health.ts expectsAnswer: its
// timers and the per-tunnel relay check run on the first of them); UDP is neither. Checksums are left zero: nothing
// on the path checks them.

import { parseIpv4 } from '../ip/ipv4.js';

/** The kinds in turn: packet `i` of the exchange is KINDS[i % KINDS.length]. */
const KINDS = ['icmp', 'tcp', 'udp'] as const;
const IPV4_HEADER = 20;
const CLIENT_PORT = 40000;
const SERVER_PORT = 443;
const ICMP_ECHO_REQUEST = 8;
const ICMP_ECHO_REPLY = 0;
const TCP_SYN = 0x02;
const TCP_SYN_ACK = 0x12;

/** An IPv4 packet of `protocol` from `from` to `to` with `body` room after the header; returns it and a view. */
function ipv4(from: string, to: string, protocol: number, body: number): { out: Uint8Array; v: DataView } {
  const out = new Uint8Array(IPV4_HEADER + body);
  const v = new DataView(out.buffer);
  out[0] = 0x45;
  v.setUint16(2, out.length);
  out[8] = 64;
  out[9] = protocol;
  v.setUint32(12, parseIpv4(from));
  v.setUint32(16, parseIpv4(to));
  return { out, v };
}

/**
 * Packet `i` of the exchange: the opener's (an echo request, a SYN, a UDP datagram to the server port) or, with
 * `answer`, the other side's reply to it (echo reply, SYN-ACK, a datagram back).
 */
export function warmUpPacket(from: string, to: string, i: number, answer: boolean): Uint8Array {
  const kind = KINDS[i % KINDS.length];
  const clientPort = CLIENT_PORT + i;
  const [srcPort, dstPort] = answer ? [SERVER_PORT, clientPort] : [clientPort, SERVER_PORT];
  if (kind === 'icmp') {
    const { out, v } = ipv4(from, to, 1, 8 + 32);
    out[IPV4_HEADER] = answer ? ICMP_ECHO_REPLY : ICMP_ECHO_REQUEST;
    v.setUint16(IPV4_HEADER + 4, 1);
    v.setUint16(IPV4_HEADER + 6, i);
    return out;
  }
  if (kind === 'tcp') {
    const { out, v } = ipv4(from, to, 6, 20);
    v.setUint16(IPV4_HEADER, srcPort);
    v.setUint16(IPV4_HEADER + 2, dstPort);
    v.setUint32(IPV4_HEADER + 4, 1000 + i);
    if (answer) v.setUint32(IPV4_HEADER + 8, 1001 + i);
    out[IPV4_HEADER + 12] = 5 << 4;
    out[IPV4_HEADER + 13] = answer ? TCP_SYN_ACK : TCP_SYN;
    v.setUint16(IPV4_HEADER + 14, 65535);
    return out;
  }
  const { out, v } = ipv4(from, to, 17, 8 + 32);
  v.setUint16(IPV4_HEADER, srcPort);
  v.setUint16(IPV4_HEADER + 2, dstPort);
  v.setUint16(IPV4_HEADER + 4, 8 + 32);
  return out;
}
