// A v2 certificate seen through the v1 shape (NebulaCertificate) by the code that still works in IPv4 uint32
// addresses: the firewall, the hostmap, the control plane, the lighthouse's DNS. Only the IPv4 networks show; the
// first of them is the node's overlay address, as the first IP of a v1 certificate is. The view is never signed,
// encoded or fingerprinted: those always go through the v2 certificate itself (docs/certificates-v2.md,
// "Handshakes"). Goes away with the IPv6 overlay, when those consumers take IpPrefix networks.

import type { Ipv4Net } from '../ip/ipv4.js';
import { prefixToMask } from '../ip/ipv4.js';
import type { IpPrefix } from '../ip/prefix.js';
import { CertError } from './errors.js';
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

/**
 * The v1-shaped view of a host certificate. Throws ECERTNOIPV4 for a host certificate without an IPv4 network,
 * which this build cannot give an overlay address (IPv6 overlays come with the next issue).
 */
export function ipv4ViewOfV2(c: NebulaCertificateV2): NebulaCertificate {
  const ips = ipv4Networks(c);
  if (ips.length === 0 && !c.details.isCA) {
    throw new CertError('ECERTNOIPV4', 'certificate has no IPv4 network; IPv6-only overlay addresses are not supported yet');
  }
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
