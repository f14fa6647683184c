// The address a TCP-attached peer has inside the daemon. Frames from an accepted connection enter the receive path
// as datagrams would, so they need a sender address that names the connection: the peer's real IP (so that
// remote_allow_list, the VPN-network check and logs see who it is) with a virtual port above 65535, one per
// connection. No UDP socket can send to such a port, so it never leaves this host: the underlay sends to it over
// its connection, and the lighthouse never hands it out (docs/tcp-fallback.md).

import type { UdpAddr } from '../udp/addr.js';

/** Virtual ports start here; 65536 + a connection number. */
export const TCP_PORT_BASE = 0x10000;
const TCP_PORT_SPAN = 0x7fff0000;

export function isTcpAddr(a: UdpAddr): boolean {
  return a.port >= TCP_PORT_BASE;
}

export function tcpAddr(address: string, conn: number): UdpAddr {
  return { address, port: TCP_PORT_BASE + (conn % TCP_PORT_SPAN) };
}
