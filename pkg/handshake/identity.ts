// Who we are in handshakes: our certificate (sent without its public key, as Nebula does), our X25519 static key
// pair, and the overlay address and network the certificate binds.

import { marshalCertificateForHandshake, type NebulaCertificate } from '../cert/index.js';
import type { Ipv4, Ipv4Net } from '../ip/ipv4.js';

export interface LocalIdentity {
  readonly cert: NebulaCertificate;
  readonly handshakeCert: Uint8Array;
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly vpnIp: Ipv4;
  /** The overlay network (first IP of the cert with its mask): the "tun CIDR". */
  readonly vpnNet: Ipv4Net;
}

export function localIdentity(cert: NebulaCertificate, privateKey: Uint8Array): LocalIdentity {
  const first = cert.details.ips[0];
  return {
    cert,
    handshakeCert: marshalCertificateForHandshake(cert),
    privateKey,
    publicKey: cert.details.publicKey,
    vpnIp: first.ip,
    vpnNet: { ip: (first.ip & first.mask) >>> 0, mask: first.mask },
  };
}
