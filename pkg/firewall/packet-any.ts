// Either family's packet into the firewall's record, the version nibble deciding, and its addresses as VpnIp:
// for callers outside the verdict (drop log, unsafe-route choice) that want the fields the firewall read.

import type { VpnIp } from '../ip/vpn-ip.js';
import { vpnIp6FromBytes } from '../ip/vpn-ip.js';
import type { DropReason } from './drop-reason.js';
import { parseIpv4Packet, type FirewallPacket } from './packet.js';
import { parseIpv6Packet } from './packet-ipv6.js';

/** parseIpv6Packet for version 6, parseIpv4Packet for anything else (as Firewall.filter decides). */
export function parseFirewallPacket(buf: Uint8Array, incoming: boolean, out: FirewallPacket): DropReason | null {
  if (buf.length > 0 && buf[0] >>> 4 === 6) return parseIpv6Packet(buf, incoming, out);
  return parseIpv4Packet(buf, incoming, out);
}

/** The parsed packet's local address (one string for IPv6: for logs, not the hot path). */
export function packetLocalAddr(p: FirewallPacket): VpnIp {
  return p.ipv6 ? vpnIpOfWords(p.local6!) : p.localIp;
}

export function packetRemoteAddr(p: FirewallPacket): VpnIp {
  return p.ipv6 ? vpnIpOfWords(p.remote6!) : p.remoteIp;
}

function vpnIpOfWords(words: Uint32Array): VpnIp {
  const b = new Uint8Array(16);
  for (let i = 0; i < 4; i++) {
    b[4 * i] = words[i] >>> 24;
    b[4 * i + 1] = (words[i] >>> 16) & 0xff;
    b[4 * i + 2] = (words[i] >>> 8) & 0xff;
    b[4 * i + 3] = words[i] & 0xff;
  }
  return vpnIp6FromBytes(b, 0);
}
