// The underlay addresses we report to lighthouses: advertise_addrs first, then every interface address that
// passes local_allow_list, leaving out loopback, link-local and anything inside the VPN network. Also the networks
// our interfaces are on, which tell the handshake which peer addresses need no NAT punch.

import { networkInterfaces } from 'node:os';
import { netContains, parseIpv4, type Ipv4Net } from '../ip/ipv4.js';
import type { IpPrefix } from '../ip/prefix.js';
import { udpAddr, type UdpAddr } from '../udp/addr.js';
import { underlayInNetworks } from './overlay-networks.js';
import type { LocalNetwork } from '../punchy/punch-needed.js';
import type { AllowList } from './allow-list.js';

export interface LocalAddressOptions {
  port: number;
  vpnNet: Ipv4Net;
  /** All our overlay networks (IPv6 ones too): an interface address inside one is the TUN's, never reported. */
  vpnNetworks?: readonly IpPrefix[];
  advertise: UdpAddr[];
  allow?: AllowList;
  /** local_allow_list.interfaces: anchored regex -> allowed. Non-matching interfaces get the opposite value. */
  interfaces?: Array<{ pattern: RegExp; allow: boolean }>;
}

function interfaceAllowed(name: string, rules: LocalAddressOptions['interfaces']): boolean {
  if (!rules || rules.length === 0) return true;
  for (const r of rules) if (r.pattern.test(name)) return r.allow;
  return !rules[0].allow;
}

export function localAddresses(opts: LocalAddressOptions): UdpAddr[] {
  const out: UdpAddr[] = opts.advertise.map((a) => (a.port === 0 ? udpAddr(a.address, opts.port) : a));
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    if (!interfaceAllowed(name, opts.interfaces)) continue;
    for (const a of addrs ?? []) {
      if (a.internal) continue;
      if (a.family === 'IPv4') {
        const ip = parseIpv4(a.address);
        if (ip >>> 16 === 0xa9fe || netContains(opts.vpnNet, ip)) continue;
      } else if (/^fe[89ab]/i.test(a.address)) continue;
      const addr = udpAddr(a.address, opts.port);
      if (opts.vpnNetworks && underlayInNetworks(addr, opts.vpnNetworks)) continue;
      if (opts.allow && !opts.allow.allows(a.address)) continue;
      out.push(addr);
    }
  }
  return out;
}

/**
 * The networks our interfaces are directly on (address and prefix length), whatever local_allow_list says: a peer
 * address inside one is reached without crossing any router, so no NAT's mapping can be poisoned on the way
 * (punchy/punch-needed.ts). Loopback is left out.
 */
export function interfaceNetworks(): LocalNetwork[] {
  const out: LocalNetwork[] = [];
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.internal || a.cidr === null) continue;
      const prefixLength = Number(a.cidr.slice(a.cidr.lastIndexOf('/') + 1));
      if (Number.isInteger(prefixLength)) out.push({ address: a.address.replace(/%.*$/, ''), prefixLength });
    }
  }
  return out;
}
