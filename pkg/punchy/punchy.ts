// Keeping NAT mappings open (punchy.punch): every 10 s one byte goes to each tunnel's remote, so a home router
// that forgets an idle UDP mapping after 30-60 s keeps ours. Receivers drop it: it is shorter than a header.

import type { HostMap } from '../hostmap/hostmap.js';
import type { UdpConn } from '../udp/udp-conn.js';

export const PUNCH_INTERVAL_MS = 10_000;
/** The keep-alive byte; a reply to a punch notification is 0x00. */
export const KEEPALIVE_BYTE = Uint8Array.of(1);
export const PUNCH_BYTE = Uint8Array.of(0);

export function punchAll(hostmap: HostMap, udp: UdpConn): number {
  let sent = 0;
  for (const host of hostmap.byVpnIp.values()) {
    if (!host.remote) continue;
    (host.conn ?? udp).send(KEEPALIVE_BYTE, host.remote);
    sent++;
  }
  return sent;
}
