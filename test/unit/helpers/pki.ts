// Certificates built in memory for in-process node tests: a CA, host certificates it signs (valid now, or with
// chosen times), their PEM forms for a config's inline pki section, the `Pki` a MeshNode runs with, and unsigned
// certificates for code that never verifies them.

import {
  CaPool,
  certificateToPem,
  encodePem,
  fingerprint,
  generateEd25519KeyPair,
  generateX25519KeyPair,
  parseCertificatesPem,
  signCertificate,
  X25519_PRIVATE_KEY_BANNER,
  type NebulaCertificate,
} from '../../../pkg/cert/index.js';
import type { Pki } from '../../../pkg/daemon/pki.js';
import { localIdentity } from '../../../pkg/handshake/identity.js';
import { parseCidr } from '../../../pkg/ip/ipv4.js';

const HOUR = 3600;
const DAY = 24 * HOUR;

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export interface TestCa {
  cert: NebulaCertificate;
  /** 64-byte Ed25519 key (seed ‖ public). */
  privateKey: Uint8Array;
  fingerprint: string;
  pem: string;
}

export function makeTestCa(name = 'mesh test CA'): TestCa {
  const keys = generateEd25519KeyPair();
  const now = nowSeconds();
  const cert = signCertificate(
    {
      name,
      ips: [],
      subnets: [],
      groups: [],
      notBefore: now - HOUR,
      notAfter: now + 30 * DAY,
      publicKey: keys.publicKey,
      isCA: true,
      issuer: '',
    },
    keys.privateKey,
  );
  return { cert, privateKey: keys.privateKey, fingerprint: fingerprint(cert), pem: certificateToPem(cert) };
}

/**
 * A CA made elsewhere, back from its PEM and its key (a bench hands both to its load generator's process in a spec
 * file, the key in hex).
 */
export function testCaFrom(pem: string, privateKey: Uint8Array): TestCa {
  const [cert] = parseCertificatesPem(pem);
  return { cert, privateKey, fingerprint: fingerprint(cert), pem };
}

export interface HostCertOptions {
  name?: string;
  /** The certificate's first IP with the VPN mask, e.g. "10.99.0.1/24". */
  ip: string;
  subnets?: string[];
  groups?: string[];
  notBefore?: number;
  notAfter?: number;
}

export interface TestHostCert {
  cert: NebulaCertificate;
  /** X25519 private key. */
  privateKey: Uint8Array;
  fingerprint: string;
  certPem: string;
  keyPem: string;
}

export function makeHostCert(ca: TestCa, o: HostCertOptions): TestHostCert {
  const keys = generateX25519KeyPair();
  const now = nowSeconds();
  const cert = signCertificate(
    {
      name: o.name ?? `host ${o.ip}`,
      ips: [parseCidr(o.ip)],
      subnets: (o.subnets ?? []).map(parseCidr),
      groups: o.groups ?? [],
      notBefore: o.notBefore ?? now - HOUR,
      notAfter: o.notAfter ?? now + DAY,
      publicKey: keys.publicKey,
      isCA: false,
      issuer: ca.fingerprint,
    },
    ca.privateKey,
  );
  return {
    cert,
    privateKey: keys.privateKey,
    fingerprint: fingerprint(cert),
    certPem: certificateToPem(cert),
    keyPem: encodePem(X25519_PRIVATE_KEY_BANNER, keys.privateKey),
  };
}

/** A certificate that expired an hour ago (loadPki would refuse it as our own, so tests build the Pki directly). */
export function makeExpiredHostCert(ca: TestCa, o: HostCertOptions): TestHostCert {
  const now = nowSeconds();
  return makeHostCert(ca, { ...o, notBefore: now - 2 * HOUR, notAfter: now - HOUR });
}

/** The Pki a node runs with: our certificate and key, and a pool of the trusted CAs with a blocklist. */
export function testPki(host: TestHostCert, trusted: readonly TestCa[], blocklist: readonly string[] = []): Pki {
  const caPool = new CaPool();
  for (const ca of trusted) caPool.addCa(ca.cert);
  caPool.setBlocklist(blocklist);
  return { caPool, identity: localIdentity(host.cert, host.privateKey), warnings: [] };
}

/**
 * A host certificate with only a name and an overlay address, unsigned (a zero signature, no issuer), for code that
 * reads a peer's certificate without verifying it (the DNS answers); `extra` overrides any other detail.
 */
export function unsignedCert(
  name: string,
  cidr: string,
  extra: Partial<NebulaCertificate['details']> = {},
): NebulaCertificate {
  return {
    details: {
      name,
      ips: [parseCidr(cidr)],
      subnets: [],
      groups: [],
      notBefore: 0,
      notAfter: 0,
      publicKey: new Uint8Array(32),
      isCA: false,
      issuer: '',
      ...extra,
    },
    signature: new Uint8Array(64),
  };
}
