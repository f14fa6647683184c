// lighthouse.calculated_remotes (Nebula 1.7+): for a peer inside a configured VPN range, a guessed underlay address
// made of the mask's network bits and the peer's own host bits, e.g. VPN 10.0.10.123 with mask 192.168.1.0/24 ->
// 192.168.1.123:port. It lets two nodes on one LAN handshake before (or without) a lighthouse answer. Like Nebula,
// the guesses are used only for peers without a static_host_map entry, alongside what lighthouses report.
// IPv6 ranges take IPv6 masks the same way (as Nebula 1.11 applies them; the mask's family must be the
// range's): VPN fd00::1:7b in fd00::/64 with mask 2001:db8:1::/64 -> 2001:db8:1::1:7b (docs/ipv6.md).

import { netContains, parseCidr, prefixToMask, maskToPrefix, formatIpv4, type Ipv4, type Ipv4Net } from '../ip/ipv4.js';
import { bigIntToIpv6, ipv6ToBigInt } from '../ip/ipv6.js';
import { formatIpAddr, parseIpPrefix, type IpPrefix } from '../ip/prefix.js';
import { vpnIpInPrefix, type VpnIp } from '../ip/vpn-ip.js';
import { udpAddr, type UdpAddr } from '../udp/addr.js';

export interface CalculatedRemotesSpec {
  vpnRange: string;
  remotes: readonly { mask: string; port: number }[];
}

interface Entry {
  range: Ipv4Net;
  remotes: { net: Ipv4; mask: number; port: number }[];
}

const ALL128 = (1n << 128n) - 1n;

interface Entry6 {
  range: IpPrefix;
  remotes: { net: bigint; mask: bigint; port: number }[];
}

function mask128(bits: number): bigint {
  return bits === 0 ? 0n : (ALL128 << BigInt(128 - bits)) & ALL128;
}

export class CalculatedRemotes {
  private readonly entries: Entry[];
  private readonly entries6: Entry6[];

  constructor(specs: readonly CalculatedRemotesSpec[]) {
    this.entries6 = specs
      .filter((s) => s.vpnRange.includes(':'))
      .map((s) => ({
        range: parseIpPrefix(s.vpnRange),
        remotes: s.remotes.map((r) => {
          const m = parseIpPrefix(r.mask);
          // Nebula refuses a mask of another family than its range (the config checks it first).
          if (m.addr.family !== 6) throw new RangeError(`calculated_remotes ${s.vpnRange}: mask ${r.mask} is not IPv6`);
          const mask = mask128(m.bits);
          return { net: ipv6ToBigInt(formatIpAddr(m.addr)) & mask, mask, port: r.port };
        }),
      }))
      .sort((a, b) => b.range.bits - a.range.bits);
    // Most specific range first, as Nebula's table lookup returns the longest match.
    this.entries = specs
      .filter((s) => !s.vpnRange.includes(':'))
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
  for(vpnIp: VpnIp): UdpAddr[] {
    if (typeof vpnIp === 'string') return this.for6(vpnIp);
    const entry = this.entries.find((e) => netContains(e.range, vpnIp));
    if (!entry) return [];
    return entry.remotes.map((r) => udpAddr(formatIpv4((r.net | (vpnIp & ~r.mask)) >>> 0), r.port));
  }

  private for6(vpnIp: string): UdpAddr[] {
    const entry = this.entries6.find((e) => vpnIpInPrefix(vpnIp, e.range));
    if (!entry) return [];
    const host = ipv6ToBigInt(vpnIp);
    return entry.remotes.map((r) => udpAddr(bigIntToIpv6((r.net & r.mask) | (host & ~r.mask & ALL128)), r.port));
  }
}
