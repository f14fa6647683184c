// Config checks that need the certificate: they hold only once we know our overlay networks (docs/ipv6.md).
//
//   tun.mtu          at least 1280 when a network is IPv6: the IPv6 minimum link MTU (RFC 8200, section 5); the
//                    kernel refuses IPv6 on a smaller device, which would leave the node without its IPv6 address
//   lighthouse.hosts outside all of our networks: a warning, as Nebula 1.11 gives ("lighthouse
//                    functionality will work but layer 3 network traffic to the lighthouse will not")

import type { KeyPath } from '../config/errors.js';
import type { MeshConfig } from '../config/index.js';
import { formatIpPrefix, type IpPrefix } from '../ip/prefix.js';
import { parseVpnIp } from '../ip/vpn-ip.js';
import { inNetworks } from '../handshake/peer-addrs.js';

/** The IPv6 minimum link MTU (RFC 8200). */
export const IPV6_MIN_MTU = 1280;

export class OverlayConfigError extends Error {
  override name = 'OverlayConfigError';
  readonly code = 'EOVERLAYCONFIG';
}

type Locate = (keyPath: KeyPath) => { file: string; line: number } | undefined;

/**
 * Throws OverlayConfigError naming the key (and its file and line when `locate` finds them) when the config cannot
 * work with our certificate's networks; returns the warnings for what works only in part.
 */
export function checkOverlayConfig(
  config: MeshConfig,
  vpnNetworks: readonly IpPrefix[],
  locate: Locate = () => undefined,
): string[] {
  const fail = (keyPath: KeyPath, message: string): never => {
    const where = locate(keyPath);
    throw new OverlayConfigError(`${where ? `${where.file}:${where.line}: ` : ''}${message}`);
  };
  const v6 = vpnNetworks.filter((n) => n.addr.family === 6);
  if (!config.tun.disabled && v6.length > 0 && config.tun.mtu < IPV6_MIN_MTU) {
    fail(
      ['tun', 'mtu'],
      `tun.mtu: ${config.tun.mtu} is below ${IPV6_MIN_MTU}, the IPv6 minimum MTU, and this host has the IPv6 network ${formatIpPrefix(v6[0])}`,
    );
  }
  const warnings: string[] = [];
  config.lighthouse.hosts.forEach((host, i) => {
    if (!inNetworks(parseVpnIp(host), vpnNetworks)) {
      const where = locate(['lighthouse', 'hosts', i]);
      warnings.push(
        `${where ? `${where.file}:${where.line}: ` : ''}lighthouse.hosts[${i}]: ${host} is not inside our networks (${vpnNetworks.map(formatIpPrefix).join(', ')}): lighthouse functionality will work but layer 3 network traffic to the lighthouse will not`,
      );
    }
  });
  return warnings;
}
