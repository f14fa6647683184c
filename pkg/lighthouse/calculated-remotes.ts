// lighthouse.calculated_remotes (Nebula 1.7+): for a peer inside a configured VPN range, a guessed underlay address
// made of the mask's network bits and the peer's own host bits, e.g. VPN 10.0.10.123 with mask 192.168.1.0/24 ->
// 192.168.1.123:port. It lets two nodes on one LAN handshake before (or without) a lighthouse answer. Like Nebula,
// the guesses are used only for peers without a static_host_map entry, alongside what lighthouses report.

import { netContains, parseCidr, prefixToMask, maskToPrefix, formatIpv4, type Ipv4, type Ipv4Net } from '../ip/ipv4.js';
import { udpAddr, type UdpAddr } from '../udp/addr.js';

export interface CalculatedRemotesSpec {
  vpnRange: string;
  remotes: readonly { mask: string; port: number }[];
}

interface Entry {
  range: Ipv4Net;
  remotes: { net: Ipv4; mask: number; port: number }[];
}

export class CalculatedRemotes {
  private readonly entries: Entry[];

  constructor(specs: readonly CalculatedRemotesSpec[]) {
    // Most specific range first, as Nebula's table lookup returns the longest match.
    this.entries = specs
      .map((s) => {
        const range = parseCidr(s.vpnRange);
        return {
          range: { ip: (range.ip & range.mask) >>> 0, mask: range.mask },
          remotes: s.remotes.map((r) => {
            const m = parseCidr(r.mask);
            return { net: (m.ip & m.mask) >>> 0, mask: prefixToMask(maskToPrefix(m.mask)), port: r.port };
          }),
        };
      })
      .sort((a, b) => maskToPrefix(b.range.mask) - maskToPrefix(a.range.mask));
  }

  /** The guessed remotes for `vpnIp`, [] when no range holds it. */
  for(vpnIp: Ipv4): UdpAddr[] {
    const entry = this.entries.find((e) => netContains(e.range, vpnIp));
    if (!entry) return [];
    return entry.remotes.map((r) => udpAddr(formatIpv4((r.net | (vpnIp & ~r.mask)) >>> 0), r.port));
  }
}
