// Keeping NAT mappings open (punchy.punch): every 10 s one byte goes to each tunnel's remote, so a home router
// that forgets an idle UDP mapping after 30-60 s keeps ours. Receivers drop it: it is shorter than a header.
// A tunnel that sent a packet to that very remote within the interval is skipped: the packet kept the same mappings
// open (Nebula 1.6.1 punches every tunnel regardless; a lighthouse acks every host's update, so its punches were
// as many datagrams again as its answers: docs/differences-from-nebula.md).

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

/** Whether a tunnel packet went to the tunnel's remote within the last PUNCH_INTERVAL_MS before `now`. */
export function sentToRemoteRecently(host: HostInfo, now: number): boolean {
  return host.remote !== null && host.sentTo === host.remote && now - host.sentToAt < PUNCH_INTERVAL_MS;
}

/**
 * One tunnel's keep-alives (see punchAll); returns how many datagrams went out. With `now`, the remote is skipped if
 * the tunnel sent there recently (sentToRemoteRecently).
 */
export function punchHost(
  host: HostInfo,
  udp: UdpConn,
  allRemotes?: (host: HostInfo) => readonly UdpAddr[],
  now: number | null = null,
): number {
  let sent = 0;
  if (host.remote && (now === null || !sentToRemoteRecently(host, now))) {
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
