// Which handshake candidates need the low-TTL punch and its settle (punchy/nat-punch.ts), and which can take stage 1
// at once. The settle exists so that a full-TTL packet does not reach a *NAT* in front of the peer before the peer
// has sent through it. An address with no NAT of the peer's between us and it cannot be poisoned:
//
//   - an address on the network of one of our own interfaces (the same LAN: nothing in between at all);
//   - an address the peer reported as its own while the lighthouse sees the peer at our own public IP (both of us
//     sit behind the same NAT, and the peer's private address is reached inside it, not through it);
//   - a global IPv6 address the peer reported as its own (configured on the peer itself, so nothing rewrites it; a
//     stateful firewall in front of it merely drops our packet until the peer's own packet opens it);
//   - any address of a peer the lighthouse sees at one of its reported addresses (a public host: no NAT at all).
//
// Everything else (the NAT's public address the lighthouse saw, other private addresses) waits for the settle.

import { netContains, parseIpv4, prefixToMask } from '../ip/ipv4.js';
import { ipv6ToBigInt } from '../ip/ipv6.js';
import { SEEN_FIRST_V4, SEEN_FIRST_V6 } from '../lighthouse/meta.js';
import { isIpv6Literal, sameAddr, type UdpAddr } from '../udp/addr.js';

/** One of our interface addresses with its prefix length (the network it is directly on). */
export interface LocalNetwork {
  address: string;
  prefixLength: number;
}

/** What we know about the path to a peer when its candidates arrive. */
export interface PunchView {
  /** The networks of our own interfaces. */
  localNetworks: readonly LocalNetwork[];
  /** The IP our packets reach the lighthouses from (our NAT's public IP), when a lighthouse told us. */
  ourPublicIp: string | undefined;
  /** The IP the lighthouse sees the peer's packets come from, when it told us. */
  peerPublicIp: string | undefined;
  /** The addresses the peer reported as its own interface addresses. */
  peerReported: readonly UdpAddr[];
  /** The lighthouse sees the peer at an address the peer reported: the peer has no NAT in front of it. */
  peerUnNated: boolean;
}

export function needsPunch(addr: UdpAddr, view: PunchView): boolean {
  if (view.peerUnNated) return false;
  if (onLocalNetwork(addr.address, view.localNetworks)) return false;
  if (!view.peerReported.some((r) => sameAddr(r, addr))) return true;
  if (isIpv6Literal(addr.address)) return !isGlobalIpv6(addr.address);
  const sameNat = view.peerPublicIp !== undefined && view.peerPublicIp === view.ourPublicIp;
  // Our own NAT's public address is reached through the NAT (hairpin), which a premature packet can poison.
  return !sameNat || addr.address === view.ourPublicIp;
}

/** Splits candidates into those stage 1 may go to at once and those that wait for the punch to settle. */
export function splitByPunch(addrs: readonly UdpAddr[], view: PunchView): { direct: UdpAddr[]; punched: UdpAddr[] } {
  const direct: UdpAddr[] = [];
  const punched: UdpAddr[] = [];
  for (const a of addrs) (needsPunch(a, view) ? punched : direct).push(a);
  return { direct, punched };
}

export function onLocalNetwork(address: string, nets: readonly LocalNetwork[]): boolean {
  const v6 = isIpv6Literal(address);
  for (const n of nets) {
    if (isIpv6Literal(n.address) !== v6) continue;
    if (v6 ? sameIpv6Prefix(address, n.address, n.prefixLength) : sameIpv4Prefix(address, n.address, n.prefixLength))
      return true;
  }
  return false;
}

function sameIpv4Prefix(a: string, b: string, prefixLength: number): boolean {
  const mask = prefixToMask(prefixLength);
  return netContains({ ip: (parseIpv4(b) & mask) >>> 0, mask }, parseIpv4(a));
}

function sameIpv6Prefix(a: string, b: string, prefixLength: number): boolean {
  if (prefixLength <= 0) return true;
  const shift = BigInt(128 - Math.min(prefixLength, 128));
  return ipv6ToBigInt(a) >> shift === ipv6ToBigInt(b) >> shift;
}

/** Global unicast (2000::/3): not link-local, unique-local, multicast or a special-purpose form. */
export function isGlobalIpv6(address: string): boolean {
  return ipv6ToBigInt(address) >> 125n === 1n;
}

/**
 * The addresses a lighthouse reply says the host reported itself. The reply lists IPv4 then IPv6, each family
 * learned-first when the lighthouse reaches the host directly in that family; a mesh lighthouse marks which family
 * it saw (meta.ts SEEN_*). When it saw the host over the other family, every address of this one was reported;
 * otherwise (seen over this family, or unmarked: a Nebula lighthouse) the first one may be the learned address.
 */
export function reportedAddresses(addrs: readonly UdpAddr[], seen: number): UdpAddr[] {
  const v4 = addrs.filter((a) => !isIpv6Literal(a.address));
  const v6 = addrs.filter((a) => isIpv6Literal(a.address));
  const allReported = (own: number, other: number): boolean => (seen & own) === 0 && (seen & other) !== 0;
  return [
    ...(allReported(SEEN_FIRST_V4, SEEN_FIRST_V6) ? v4 : v4.slice(1)),
    ...(allReported(SEEN_FIRST_V6, SEEN_FIRST_V4) ? v6 : v6.slice(1)),
  ];
}
