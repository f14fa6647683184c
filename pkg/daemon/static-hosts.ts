// static_host_map: overlay IP -> underlay addresses. Names are resolved once at load, as Nebula does.

import { parseHostPort, type HostPort } from '../config/index.js';
import { isIP } from 'node:net';
import { formatCidr, netContains, parseIpv4, type Ipv4, type Ipv4Net } from '../ip/ipv4.js';
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

export async function resolveStaticHosts(map: Map<string, string[]>, vpnNet: Ipv4Net): Promise<Map<Ipv4, UdpAddr[]>> {
  const out = new Map<Ipv4, UdpAddr[]>();
  for (const [vpnText, entries] of map) {
    const vpnIp = parseIpv4(vpnText);
    if (!netContains(vpnNet, vpnIp)) {
      throw new StaticHostError(`static_host_map: ${vpnText} is not inside the VPN network ${formatCidr(vpnNet)}`);
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
