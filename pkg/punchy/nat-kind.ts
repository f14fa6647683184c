// Telling a port-rewriting NAT from a port-preserving one from what a lighthouse reports: the first address it
// gives for a host is the one it sees the host's packets come from (learned), the rest are the host's own interface
// addresses (reported). A NAT that keeps the source port (Linux `masquerade`) shows the same port in both; one that
// picks a new port per destination (`masquerade random`, a symmetric NAT) shows another.

import type { UdpAddr } from '../udp/addr.js';

export type PortBehaviour = 'no-nat' | 'preserving' | 'rewriting' | 'unknown';

export function portBehaviour(addrs: readonly UdpAddr[]): PortBehaviour {
  if (addrs.length === 0) return 'unknown';
  const [learned, ...reported] = addrs;
  if (reported.some((r) => r.address === learned.address)) return 'no-nat';
  if (reported.length === 0) return 'unknown';
  return reported.some((r) => r.port === learned.port) ? 'preserving' : 'rewriting';
}
