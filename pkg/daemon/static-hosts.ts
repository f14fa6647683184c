// static_host_map: overlay address (IPv4 or IPv6) -> underlay addresses. Names are resolved once at load, as Nebula
// does. A key outside all of our networks is refused: no handshake with it could be accepted (docs/ipv6.md).

import { parseHostPort, type HostPort } from '../config/index.js';
import { isIP } from 'node:net';
import { formatIpPrefix, type IpPrefix } from '../ip/prefix.js';
import { parseVpnIp, type VpnIp } from '../ip/vpn-ip.js';
import { inNetworks } from '../handshake/peer-addrs.js';
import { udpAddr, type UdpAddr } from '../udp/addr.js';

export class StaticHostError extends Error {
  override name = 'StaticHostError';
  readonly code = 'ESTATICHOST';
}

function splitHostPort(text: string): HostPort {
  const parsed = parseHostPort(text);
  if (typeof parsed === 'string') throw new StaticHostError(`static_host_map: ${JSON.stringify(text)}: ${parsed}`);
  return parsed;
}

export async function resolveStaticHosts(
  map: Map<string, string[]>,
  vpnNetworks: readonly IpPrefix[],
): Promise<Map<VpnIp, UdpAddr[]>> {
  const out = new Map<VpnIp, UdpAddr[]>();
  for (const [vpnText, entries] of map) {
    const vpnIp = parseVpnIp(vpnText);
    if (!inNetworks(vpnIp, vpnNetworks)) {
      const nets = vpnNetworks.map(formatIpPrefix).join(', ');
      throw new StaticHostError(
        `static_host_map: ${vpnText} is not inside the VPN network${vpnNetworks.length > 1 ? 's' : ''} ${nets}`,
      );
    }
    const addrs: UdpAddr[] = [];
    for (const entry of entries) {
      const { host, port } = splitHostPort(entry);
      if (isIP(host)) addrs.push(udpAddr(host, port));
      else {
        try {
          // Loaded only for a name: static hosts are usually addresses, and a start-up that loads node:dns pays
          // ~0.5 ms for it (and c-ares reads resolv.conf).
          const { lookup } = await import('node:dns/promises');
          for (const r of await lookup(host, { all: true })) addrs.push(udpAddr(r.address, port));
        } catch (e) {
          throw new StaticHostError(`static_host_map: cannot resolve ${JSON.stringify(host)}: ${(e as Error).message}`);
        }
      }
    }
    out.set(vpnIp, addrs);
  }
  return out;
}
