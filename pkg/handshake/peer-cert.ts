// Turns the certificate bytes from a handshake into a verified peer: the public key is put back from the Noise
// static key (Nebula strips it from the payload), then every rule of the CA pool applies (CA, signature, validity,
// constraints, blocklist). A v2 certificate is verified as itself against CAs of both versions; its networks of both
// families are the peer's overlay addresses (`certAddrs`), and its IPv4 view (cert-v2-ipv4-view.ts) serves what
// still reads v1-shaped certificates (docs/certificates-v2.md, "Handshakes"; docs/ipv6.md).

import {
  certificateView,
  ipv4ViewOfV2,
  isCertificateV2,
  PeerCertBytes,
  unmarshalCertificateV2,
  unmarshalHandshakeCertificate,
  type AnyCertificate,
  type CaPool,
  type NebulaCertificate,
  type NebulaCertificateV2,
  type PoolVerdict,
} from '../cert/index.js';
import type { CertVersion } from '../hostmap/hostinfo.js';
import { firewallPeerAddresses, type FirewallPeer } from '../firewall/firewall.js';
import type { FirewallPeerAddresses } from '../firewall/peer.js';
import type { Ipv4Net } from '../ip/ipv4.js';
import { vpnIpFromIpAddr, type VpnIp } from '../ip/vpn-ip.js';

export interface VerifiedPeer {
  /** The certificate in the v1 shape (a v2 one in its IPv4 view). */
  cert: NebulaCertificate;
  /** The version of the certificate the peer presented. */
  version: CertVersion;
  /** The same certificate as a tunnel keeps it (see PeerCertBytes). */
  stored: PeerCertBytes;
  fingerprint: string;
  /** The certificate's first address: the tunnel's primary address. */
  vpnIp: VpnIp;
  /** Every network address of the certificate, both families, certificate order (unfiltered). */
  certAddrs: readonly VpnIp[];
  firewallPeer: FirewallPeer;
  /** Unix seconds after which the certificate or the CA that signed it is expired (pki.disconnect_invalid). */
  validUntil: number;
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

/** A v1 certificate's firewall addresses: its IPs as /32s and its subnets (nothing else a v1 certificate can hold). */
function v1PeerAddresses(cert: NebulaCertificate, vpnIp: number): FirewallPeerAddresses {
  const singleIp = cert.details.ips.length === 1 && cert.details.subnets.length === 0;
  const allowedNets: readonly Ipv4Net[] = singleIp
    ? NO_NETS
    : [...cert.details.ips.map((n) => ({ ip: n.ip, mask: 0xffffffff })), ...cert.details.subnets];
  return { vpnIp, allowedNets, singleIp };
}

/**
 * Verifies a peer certificate of either version against the pool and returns its CA: a v1 certificate under a v1
 * CA by Nebula 1.6's rules and messages exactly, any other pair by 1.10's. Throws CertVerifyError.
 */
export function verifyPresented(cert: AnyCertificate, pool: CaPool, nowSeconds: number): AnyCertificate {
  return verifyPresentedWithFingerprint(cert, pool, nowSeconds).ca;
}

/** `verifyPresented`, also returning the fingerprint the pool took of the certificate (the tunnel keeps it). */
function verifyPresentedWithFingerprint(
  cert: AnyCertificate,
  pool: CaPool,
  nowSeconds: number,
): PoolVerdict<AnyCertificate> {
  if (!isCertificateV2(cert) && pool.getCa(cert.details.issuer) !== undefined)
    return pool.verifyWithFingerprint(cert, nowSeconds);
  return pool.verifyAnyWithFingerprint(cert, nowSeconds);
}

/** Decodes and verifies a handshake certificate of `version` (CertVersion 0 and 1 mean v1). */
export function verifyPeerCert(
  certBytes: Uint8Array,
  remoteStatic: Uint8Array,
  pool: CaPool,
  nowSeconds: number,
  version: CertVersion = 1,
): VerifiedPeer {
  let presented: AnyCertificate;
  try {
    presented =
      version === 2
        ? unmarshalCertificateV2(certBytes, remoteStatic)
        : unmarshalHandshakeCertificate(certBytes, remoteStatic);
  } catch (e) {
    throw new PeerCertError('EBADCERT', `malformed certificate: ${(e as Error).message}`);
  }
  // The pool takes the fingerprint once (a SHA-256 of the re-marshalled certificate, ~7 us), for its blocklist check
  // and signature memory, and hands it back for the tunnel.
  let verdict: PoolVerdict<AnyCertificate>;
  try {
    verdict = verifyPresentedWithFingerprint(presented, pool, nowSeconds);
  } catch (e) {
    throw new PeerCertError((e as { code?: string }).code ?? 'EINVALIDCERT', (e as Error).message);
  }
  const cert: NebulaCertificate =
    version === 2 ? ipv4ViewOfV2(presented as NebulaCertificateV2) : (presented as NebulaCertificate);
  const certAddrs =
    version === 2
      ? (presented as NebulaCertificateV2).details.networks.map((n) => vpnIpFromIpAddr(n.addr))
      : cert.details.ips.map((n) => n.ip);
  if (certAddrs.length === 0) throw new PeerCertError('ENOIP', 'certificate has no IP');
  const vpnIp = certAddrs[0];
  // A v1 certificate as ever (IPv4 only); a v2 one by the firewall's own rules for both families.
  const addresses: FirewallPeerAddresses =
    version === 2
      ? firewallPeerAddresses(certAddrs, certificateView(presented).unsafeNetworks)
      : v1PeerAddresses(cert, vpnIp as number);
  const issuer = shared(sharedIssuers, cert.details.issuer, () => cert.details.issuer);
  cert.details.issuer = issuer;
  // Sorted for the key only (a set has no order); JSON keeps names with any characters apart.
  const groups = shared(
    sharedGroups,
    JSON.stringify([...cert.details.groups].sort()),
    () => new Set(cert.details.groups),
  );
  return {
    cert,
    version,
    stored: new PeerCertBytes(certBytes, remoteStatic, version),
    fingerprint: verdict.fingerprint,
    vpnIp,
    certAddrs,
    validUntil: Math.min(cert.details.notAfter, verdict.ca.details.notAfter),
    firewallPeer: {
      ...addresses,
      name: cert.details.name,
      groups,
      issuer,
      caName: certificateView(verdict.ca).name,
    },
  };
}
