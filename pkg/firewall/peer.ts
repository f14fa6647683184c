// What the firewall needs to know about the host at the other end of a tunnel, taken from its certificate
// once per tunnel so the hot path does no certificate work.

import type { Ipv4, Ipv4Net } from '../ip/ipv4.js';

export interface FirewallPeer {
  /** The tunnel's VPN address (the certificate's first IP). */
  vpnIp: Ipv4;
  /** Certificate Name, matched by `host`. */
  name: string;
  /** Certificate Groups, matched by `group`/`groups`. */
  groups: ReadonlySet<string>;
  /** Certificate Issuer: the signing CA's fingerprint in lowercase hex, matched by `ca_sha`. */
  issuer: string;
  /** Name of the signing CA found in our pool ('' if none), matched by `ca_name`. */
  caName: string;
  /**
   * The certificate's IPs as /32 plus its Subnets: the inner source addresses the peer may use. Empty when
   * `singleIp`, where `vpnIp` says it all (one array and net object less for most tunnels).
   */
  allowedNets: readonly Ipv4Net[];
  /** Exactly one IP and no subnets: then the remote address must equal `vpnIp` (Nebula's fast path). */
  singleIp: boolean;
}
