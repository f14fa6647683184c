// A v2 certificate seen through the v1 shape (NebulaCertificate) by the code that reads IPv4 uint32 networks (the
// firewall's IPv4 fast path, the control plane's name and groups). Only the IPv4 networks show, so an IPv6-only host
// certificate has an empty `ips` here: its overlay addresses come from the certificate's `networks` (see
// certNetworks and docs/ipv6.md). The view is never signed, encoded or fingerprinted: those always go through the
// v2 certificate itself (docs/certificates-v2.md, "Handshakes").

import type { Ipv4Net } from '../ip/ipv4.js';
import { prefixToMask } from '../ip/ipv4.js';
import type { IpPrefix } from '../ip/prefix.js';
import type { NebulaCertificateV2 } from './cert-v2-types.js';
import type { NebulaCertificate } from './types.js';

function ipv4Net(p: IpPrefix, masked: boolean): Ipv4Net {
  const b = p.addr.bytes;
  const ip = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
  const mask = prefixToMask(p.bits);
  return { ip: masked ? (ip & mask) >>> 0 : ip, mask };
}

/** The IPv4 networks of a v2 certificate, in certificate order (host bits kept). */
export function ipv4Networks(c: NebulaCertificateV2): Ipv4Net[] {
  return c.details.networks.filter((p) => p.addr.family === 4).map((p) => ipv4Net(p, false));
}

/** The v1-shaped view of a certificate: its IPv4 networks and IPv4 unsafe networks (none for an IPv6-only host). */
export function ipv4ViewOfV2(c: NebulaCertificateV2): NebulaCertificate {
  const ips = ipv4Networks(c);
  return {
    details: {
      name: c.details.name,
      ips,
      subnets: c.details.unsafeNetworks.filter((p) => p.addr.family === 4).map((p) => ipv4Net(p, true)),
      groups: c.details.groups,
      notBefore: c.details.notBefore,
      notAfter: c.details.notAfter,
      publicKey: c.publicKey,
      isCA: c.details.isCA,
      issuer: c.details.issuer,
    },
    signature: c.signature,
  };
}
