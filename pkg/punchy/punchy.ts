// Keeping NAT mappings open (punchy.punch): every 10 s one byte goes to each tunnel's remote, so a home router
// that forgets an idle UDP mapping after 30-60 s keeps ours. Receivers drop it: it is shorter than a header.

import type { HostInfo } from '../hostmap/hostinfo.js';
import type { HostMap } from '../hostmap/hostmap.js';
import { sameAddr, type UdpAddr } from '../udp/addr.js';
import type { UdpConn } from '../udp/udp-conn.js';

export const PUNCH_INTERVAL_MS = 10_000;
/** The keep-alive byte; a reply to a punch notification is 0x00. */
export const KEEPALIVE_BYTE = Uint8Array.of(1);
export const PUNCH_BYTE = Uint8Array.of(0);

/**
 * @param allRemotes punchy.target_all_remotes (Nebula 1.7+): every address we know for a peer (static and from the
 *   lighthouses, bounded by their per-peer caps), punched as well as the one in use, so the NAT mappings toward a
 *   peer's other addresses stay open too.
 */
export function punchAll(hostmap: HostMap, udp: UdpConn, allRemotes?: (host: HostInfo) => readonly UdpAddr[]): number {
  let sent = 0;
  // Each tunnel once (byVpnIp holds a host under each of its overlay addresses).
  for (const host of hostmap.byPrimary.values()) sent += punchHost(host, udp, allRemotes);
  return sent;
}

/** One tunnel's keep-alives (see punchAll); returns how many datagrams went out. */
export function punchHost(host: HostInfo, udp: UdpConn, allRemotes?: (host: HostInfo) => readonly UdpAddr[]): number {
  let sent = 0;
  if (host.remote) {
    (host.conn ?? udp).send(KEEPALIVE_BYTE, host.remote);
    sent++;
  }
  if (!allRemotes) return sent;
  for (const addr of allRemotes(host)) {
    if (host.remote && sameAddr(addr, host.remote)) continue;
    udp.send(KEEPALIVE_BYTE, addr);
    sent++;
  }
  return sent;
}
