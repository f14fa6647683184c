// Weighted ECMP for unsafe routes with several gateways (Nebula 1.10+, `tun.unsafe_routes[].via` as a list).
// The same rule as Nebula, so a flow's gateway does not depend on which implementation sends it:
//
//   1. hash     the flow's two ports (source << 16 | destination), mixed by a fixed 32-bit hash, top bit cleared
//   2. buckets  hash-threshold (as Linux ECMP): gateway i owns the hashes up to round((w0+..+wi) * 2^31 / total) - 1
//   3. fallback when the chosen gateway has no tunnel up, the first other gateway (config order) that has one
//               carries the packet; with none up, the chosen one gets the handshake and the packet
//
// Only the ports are hashed, so every packet of a TCP/UDP flow takes one gateway; ICMP and later fragments have no
// ports and all take the gateway of hash(0).

import type { VpnIp } from '../ip/vpn-ip.js';

export interface Gateway {
  readonly vpnIp: VpnIp;
  readonly weight: number;
  /** Largest flow hash this gateway takes (see bucketGateways). */
  readonly upperBound: number;
}

/** The flow hash of a packet's ports (outbound: source port = local, destination port = remote). 0..2^31-1. */
export function flowPortsHash(localPort: number, remotePort: number): number {
  // "Prospecting for Hash Functions" (C. Wellons), the constants Nebula uses.
  let x = ((localPort << 16) | remotePort) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x21f0aaad) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0xd35a2d97) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  return x & 0x7fffffff;
}

/** Gateways with their hash buckets. Weights are 1..2^31-1 (checked by the config loader). */
export function bucketGateways(gateways: readonly { vpnIp: VpnIp; weight: number }[]): Gateway[] {
  const total = gateways.reduce((sum, g) => sum + BigInt(g.weight), 0n);
  let running = 0n;
  return gateways.map((g) => {
    running += BigInt(g.weight);
    // Round to nearest, in integers: 2^31 * weights can pass 2^53.
    const bound = ((running << 31n) + total / 2n) / total - 1n;
    return { vpnIp: g.vpnIp, weight: g.weight, upperBound: Number(bound) };
  });
}

/** The gateway whose bucket holds `hash`. */
export function balance(hash: number, gateways: readonly Gateway[]): Gateway {
  for (const g of gateways) if (hash <= g.upperBound) return g;
  return gateways[gateways.length - 1]; // unreachable: the last bound is 2^31 - 1
}

/** Steps 2-3: the gateway for a flow, preferring one whose tunnel is up. */
export function pickGateway(gateways: readonly Gateway[], hash: number, tunnelUp: (vpnIp: VpnIp) => boolean): VpnIp {
  if (gateways.length === 1) return gateways[0].vpnIp;
  const chosen = balance(hash, gateways).vpnIp;
  if (tunnelUp(chosen)) return chosen;
  for (const g of gateways) if (g.vpnIp !== chosen && tunnelUp(g.vpnIp)) return g.vpnIp;
  return chosen;
}
