// Turns the certificate bytes from a handshake into a verified peer: the public key is put back from the Noise
// static key (Nebula strips it from the payload), then every rule of the CA pool applies (CA, signature, validity,
// constraints, blocklist).

import { fingerprint, PeerCertBytes, unmarshalHandshakeCertificate, type CaPool, type NebulaCertificate } from '../cert/index.js';
import type { FirewallPeer } from '../firewall/firewall.js';
import type { Ipv4Net } from '../ip/ipv4.js';

export interface VerifiedPeer {
  cert: NebulaCertificate;
  /** The same certificate as a tunnel keeps it (see PeerCertBytes). */
  stored: PeerCertBytes;
  fingerprint: string;
  vpnIp: number;
  firewallPeer: FirewallPeer;
  /** Unix seconds after which the certificate or the CA that signed it is expired (pki.disconnect_invalid). */
  validUntil: number;
}

/** Unix seconds after which `cert` or the CA that signed it (unknown: no limit of its own) is expired. */
export function certValidUntil(cert: NebulaCertificate, ca: NebulaCertificate | undefined): number {
  return Math.min(cert.details.notAfter, ca?.details.notAfter ?? Infinity);
}

export class PeerCertError extends Error {
  override name = 'PeerCertError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

// Thousands of tunnels share a few CAs and group lists: one copy of each issuer string and group set serves them
// all (about 300 bytes a tunnel). Bounded, so certificates with ever new groups cannot grow it without end.
const MAX_SHARED = 4096;
const NO_NETS: readonly Ipv4Net[] = Object.freeze([]);
const sharedIssuers = new Map<string, string>();
const sharedGroups = new Map<string, ReadonlySet<string>>();

function shared<T>(map: Map<string, T>, key: string, make: () => T): T {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    if (map.size < MAX_SHARED) map.set(key, value);
  }
  return value;
}

export function verifyPeerCert(certBytes: Uint8Array, remoteStatic: Uint8Array, pool: CaPool, nowSeconds: number): VerifiedPeer {
  let cert: NebulaCertificate;
  try {
    cert = unmarshalHandshakeCertificate(certBytes, remoteStatic);
  } catch (e) {
    throw new PeerCertError('EBADCERT', `malformed certificate: ${(e as Error).message}`);
  }
  try {
    pool.verify(cert, nowSeconds);
  } catch (e) {
    throw new PeerCertError((e as { code?: string }).code ?? 'EINVALIDCERT', (e as Error).message);
  }
  if (cert.details.ips.length === 0) throw new PeerCertError('ENOIP', 'certificate has no IP');
  const vpnIp = cert.details.ips[0].ip;
  const singleIp = cert.details.ips.length === 1 && cert.details.subnets.length === 0;
  const allowedNets: readonly Ipv4Net[] = singleIp
    ? NO_NETS
    : [...cert.details.ips.map((n) => ({ ip: n.ip, mask: 0xffffffff })), ...cert.details.subnets];
  const ca = pool.getCa(cert.details.issuer);
  const issuer = shared(sharedIssuers, cert.details.issuer, () => cert.details.issuer);
  cert.details.issuer = issuer;
  // Sorted for the key only (a set has no order); JSON keeps names with any characters apart.
  const groups = shared(sharedGroups, JSON.stringify([...cert.details.groups].sort()), () => new Set(cert.details.groups));
  return {
    cert,
    stored: new PeerCertBytes(certBytes, remoteStatic),
    fingerprint: fingerprint(cert),
    vpnIp,
    validUntil: certValidUntil(cert, ca),
    firewallPeer: {
      vpnIp,
      name: cert.details.name,
      groups,
      issuer,
      caName: ca?.details.name ?? '',
      allowedNets,
      singleIp,
    },
  };
}
