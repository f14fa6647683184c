// Who we are in handshakes: our certificates (v1, v2 or both, each sent without its public key, as Nebula does),
// which of them starts our handshakes (pki.initiating_version), our X25519 static key pair, and the overlay
// addresses and networks the certificates bind: every network of the v2 certificate (IPv4 and IPv6) when we hold
// one, else the v1 certificate's (docs/certificates-v2.md, "Handshakes"; docs/ipv6.md).

import {
  certificateView,
  ipv4ViewOfV2,
  marshalCertificateForHandshake,
  marshalCertificateV2ForHandshake,
  type NebulaCertificate,
  type NebulaCertificateV2,
} from '../cert/index.js';
import type { CertVersion } from '../hostmap/hostinfo.js';
import type { Ipv4Net } from '../ip/ipv4.js';
import type { IpPrefix } from '../ip/prefix.js';
import { vpnIpFromIpAddr, type VpnIp } from '../ip/vpn-ip.js';
import { importX25519Secret, type X25519Secret } from '../noise/x25519.js';

/** One certificate we can present: what the handshake carries and what a tunnel records about it. */
export interface HandshakeCredential {
  readonly version: CertVersion;
  /** The handshake form (no public key): the payload's Cert field. */
  readonly bytes: Uint8Array;
  /** The certificate's signature: a tunnel made with another one was made with a certificate since replaced. */
  readonly signature: Uint8Array;
}

export interface LocalIdentity {
  /**
   * Our certificate in the v1 shape, for the firewall, the control plane and the DNS server: the v2 certificate's
   * IPv4 view when we hold one (v2 is the superset, as in Nebula), else the v1 certificate.
   */
  readonly cert: NebulaCertificate;
  /** The handshake form of the initiating version's certificate. */
  readonly handshakeCert: Uint8Array;
  /** What we can present, by version. */
  readonly credentials: Readonly<Partial<Record<CertVersion, HandshakeCredential>>>;
  /** The certificates as loaded, for printing (`mesh print-cert`); absent in identities tests build by hand. */
  readonly certs?: { readonly v1?: NebulaCertificate; readonly v2?: NebulaCertificateV2 };
  /** The version our handshakes start with (pki.initiating_version). */
  readonly initiatingVersion: CertVersion;
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
  /** Our primary overlay address: the first network's address (IPv4 or IPv6). */
  readonly vpnIp: VpnIp;
  /** All our overlay addresses, certificate order: no peer may claim one (docs/ipv6.md). */
  readonly vpnAddrs: readonly VpnIp[];
  /** Our overlay networks (address with its prefix length), certificate order: the TUN's addresses and routes. */
  readonly vpnNetworks: readonly IpPrefix[];
  /** Our certificate's unsafe networks, both families (the firewall's local ranges). */
  readonly unsafeNetworks: readonly IpPrefix[];
  /**
   * The first IPv4 overlay network (address and mask), for the IPv4 fast paths; NO_IPV4_NET when the certificate
   * has only IPv6 networks.
   */
  readonly vpnNet: Ipv4Net;
}

/**
 * The `vpnNet` of a host without an IPv4 network: it contains 0.0.0.0 only, which is neither an overlay
 * destination nor a datagram's source, so every IPv4 check against it fails.
 */
export const NO_IPV4_NET: Ipv4Net = Object.freeze({ ip: 0, mask: 0xffffffff });

export interface IdentityCerts {
  v1?: NebulaCertificate;
  v2?: NebulaCertificateV2;
  /** Default: 1 when a v1 certificate is held, else 2 (Nebula 1.10's default). */
  initiatingVersion?: CertVersion;
}

export class IdentityError extends Error {
  override name = 'IdentityError';
  readonly code = 'EIDENTITY';
}

/** The credential of `version`, or of the initiating version when we have none of `version`. */
export function credentialFor(id: LocalIdentity, version: CertVersion): HandshakeCredential {
  return id.credentials[version] ?? (id.credentials[id.initiatingVersion] as HandshakeCredential);
}

/**
 * Builds the identity from one or both certificates. Throws IdentityError when they cannot serve one host: no
 * certificate, keys that differ, different first networks, an initiating version we hold no certificate of, a v2
 * certificate on a curve the handshake does not speak.
 */
export function identityOf(certs: IdentityCerts, privateKey: Uint8Array): LocalIdentity {
  const { v1, v2 } = certs;
  if (!v1 && !v2) throw new IdentityError('no certificate');
  const credentials: Partial<Record<CertVersion, HandshakeCredential>> = {};
  if (v1) credentials[1] = { version: 1, bytes: marshalCertificateForHandshake(v1), signature: v1.signature };
  let v2View: NebulaCertificate | undefined;
  if (v2) {
    if (v2.curve !== 0)
      throw new IdentityError('the v2 certificate is not on Curve25519; mesh handshakes are Curve25519 only');
    v2View = ipv4ViewOfV2(v2);
    credentials[2] = { version: 2, bytes: marshalCertificateV2ForHandshake(v2), signature: v2.signature };
  }
  if (v1 && v2View) {
    if (!Buffer.from(v1.details.publicKey).equals(Buffer.from(v2View.details.publicKey))) {
      throw new IdentityError('the v1 and v2 certificates have different public keys');
    }
    const a = v1.details.ips[0];
    const b = v2View.details.ips[0];
    if (!a || !b || a.ip !== b.ip || a.mask !== b.mask) {
      throw new IdentityError('the v1 and v2 certificates have different first networks');
    }
  }
  const initiatingVersion: CertVersion = certs.initiatingVersion ?? (v1 ? 1 : 2);
  if (!credentials[initiatingVersion]) {
    throw new IdentityError(
      `initiating version ${initiatingVersion} needs a v${initiatingVersion} certificate in pki.cert`,
    );
  }
  const cert = (v2View ?? v1) as NebulaCertificate;
  const view = certificateView((v2 ?? v1) as NebulaCertificate | NebulaCertificateV2);
  const vpnNetworks = view.networks;
  if (vpnNetworks.length === 0) throw new IdentityError('certificate has no IP');
  const vpnAddrs = vpnNetworks.map((n) => vpnIpFromIpAddr(n.addr));
  const first = cert.details.ips[0];
  return {
    cert,
    handshakeCert: (credentials[initiatingVersion] as HandshakeCredential).bytes,
    credentials,
    certs: { v1, v2 },
    initiatingVersion,
    privateKey,
    publicKey: cert.details.publicKey,
    vpnIp: vpnAddrs[0],
    vpnAddrs,
    vpnNetworks,
    unsafeNetworks: view.unsafeNetworks,
    vpnNet: first ? { ip: (first.ip & first.mask) >>> 0, mask: first.mask } : NO_IPV4_NET,
  };
}

// An identity is immutable, and a reload builds a new one: its static key is imported once, on its first handshake.
const staticKeys = new WeakMap<LocalIdentity, X25519Secret>();

/**
 * Our static private key, imported (pkg/noise/x25519.ts). Each handshake takes it from here: the import cache it
 * would otherwise go through hashes the private key on every use to notice bytes changed in place (~5 us of a
 * lighthouse's handshake; bench/handshake-cost.ts), and an identity's key bytes never change.
 */
export function staticKeyOf(id: LocalIdentity): X25519Secret {
  let key = staticKeys.get(id);
  if (key === undefined) {
    key = importX25519Secret(id.privateKey);
    staticKeys.set(id, key);
  }
  return key;
}

/** A v1-only identity (Nebula 1.6's): the form most tests and tools build. */
export function localIdentity(cert: NebulaCertificate, privateKey: Uint8Array): LocalIdentity {
  return identityOf({ v1: cert }, privateKey);
}
