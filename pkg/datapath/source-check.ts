// Step 1 of the outside pipeline, the loop check: a datagram whose source is inside one of our overlay networks came
// back through our own TUN and is dropped. The verdict for the last sender is kept: parsing the address for every
// datagram showed in profiles, and a batch of datagrams nearly always comes from one or a few senders. Kept per
// identity (a reload may bring networks), and one per node (outside-path.ts), so nodes never share it.

import { netContains, parseIpv4 } from '../ip/ipv4.js';
import { parseVpnIp, type VpnIp } from '../ip/vpn-ip.js';
import { NO_IPV4_NET, type LocalIdentity } from '../handshake/identity.js';
import { inNetworks } from '../handshake/peer-addrs.js';

export class SourceCheck {
  private lastSource = '';
  private lastIdentity: LocalIdentity | null = null;
  private lastInside = false;

  /** Whether `address` (a datagram's source) is inside one of `id`'s overlay networks. */
  insideVpnNet(address: string, id: LocalIdentity): boolean {
    if (address !== this.lastSource || id !== this.lastIdentity) {
      this.lastInside = sourceInside(address, id);
      this.lastSource = address;
      this.lastIdentity = id;
    }
    return this.lastInside;
  }
}

/**
 * The IPv4 fast path as before (one network, uint32 compare); other networks (IPv6 ones, a second IPv4 one) only
 * when the certificate has them, and IPv6 text is parsed only then.
 */
function sourceInside(address: string, id: LocalIdentity): boolean {
  const several = id.vpnNetworks.length > 1;
  if (!address.includes(':')) {
    const ip = parseIpv4(address);
    return (id.vpnNet !== NO_IPV4_NET && netContains(id.vpnNet, ip)) || (several && inNetworks(ip, id.vpnNetworks));
  }
  if (id.vpnNet !== NO_IPV4_NET && !several) return false; // one IPv4 network: no IPv6 one to be inside
  const ip = parseSource(address);
  return ip !== null && inNetworks(ip, id.vpnNetworks);
}

function parseSource(address: string): VpnIp | null {
  try {
    // A zone (fe80::1%eth0) is an underlay link-local address, never an overlay one.
    return address.includes('%') ? null : parseVpnIp(address);
  } catch {
    return null;
  }
}
