// v2 certificates for in-process node tests: a v2 CA, host certificates of either version for one key pair (a
// migration host holds both), and the Pki a node runs with when it holds v1, v2 or both.

import {
  anyCertificateToPem,
  anyFingerprint,
  CaPool,
  Curve,
  generateEd25519KeyPair,
  generateX25519KeyPair,
  signCertificateV2,
  signingPublicKey,
  type NebulaCertificateV2,
  type SigningKey,
} from '../../../pkg/cert/index.js';
import type { Pki } from '../../../pkg/daemon/pki.js';
import type { CertVersion } from '../../../pkg/hostmap/hostinfo.js';
import { identityOf } from '../../../pkg/handshake/identity.js';
import { parseIpPrefix } from '../../../pkg/ip/prefix.js';
import { makeHostCert, nowSeconds, type TestCa, type TestHostCert } from './pki.js';

const HOUR = 3600;
const DAY = 24 * HOUR;

export interface TestCaV2 {
  cert: NebulaCertificateV2;
  key: SigningKey;
  fingerprint: string;
  pem: string;
}

export function makeTestCaV2(name = 'mesh test CA v2'): TestCaV2 {
  const key: SigningKey = { curve: Curve.CURVE25519, privateKey: generateEd25519KeyPair().privateKey };
  const now = nowSeconds();
  const details = {
    name,
    networks: [],
    unsafeNetworks: [],
    groups: [],
    isCA: true,
    notBefore: now - HOUR,
    notAfter: now + 30 * DAY,
    issuer: '',
  };
  const cert = signCertificateV2({ details, curve: Curve.CURVE25519, publicKey: signingPublicKey(key) }, null, key);
  return { cert, key, fingerprint: anyFingerprint(cert), pem: anyCertificateToPem(cert) };
}

export interface TestHostV2 {
  v2: NebulaCertificateV2;
  privateKey: Uint8Array;
  publicKey: Uint8Array;
  fingerprint: string;
  pem: string;
}

/** A v2 host certificate; `networks` like ["10.99.0.1/24"], `publicKey` to share a key with a v1 certificate. */
export function makeHostCertV2(
  ca: TestCaV2,
  o: {
    name: string;
    networks: string[];
    unsafeNetworks?: string[];
    groups?: string[];
    keys?: { publicKey: Uint8Array; privateKey: Uint8Array };
  },
): TestHostV2 {
  const keys = o.keys ?? generateX25519KeyPair();
  const now = nowSeconds();
  const details = {
    name: o.name,
    networks: o.networks.map(parseIpPrefix),
    unsafeNetworks: (o.unsafeNetworks ?? []).map(parseIpPrefix),
    groups: o.groups ?? [],
    isCA: false,
    notBefore: now - HOUR,
    notAfter: now + DAY,
    issuer: '',
  };
  const v2 = signCertificateV2({ details, curve: Curve.CURVE25519, publicKey: keys.publicKey }, ca.cert, ca.key);
  return {
    v2,
    privateKey: keys.privateKey,
    publicKey: keys.publicKey,
    fingerprint: anyFingerprint(v2),
    pem: anyCertificateToPem(v2),
  };
}

/** One host's certificates: v1 and/or v2, one key pair. */
export interface TestIdentity {
  name: string;
  ip: string;
  v1?: TestHostCert;
  v2?: TestHostV2;
  privateKey: Uint8Array;
}

/** A host holding the versions asked for, signed by the v1 CA and the v2 CA, on one key pair. */
export function makeHost(
  cas: { v1: TestCa; v2: TestCaV2 },
  name: string,
  ip: string,
  versions: readonly CertVersion[],
): TestIdentity {
  const v1 = makeHostCert(cas.v1, { name, ip: `${ip}/24` });
  const keys = { privateKey: v1.privateKey, publicKey: v1.cert.details.publicKey };
  const v2 = makeHostCertV2(cas.v2, { name, networks: [`${ip}/24`], keys });
  return {
    name,
    ip,
    v1: versions.includes(1) ? v1 : undefined,
    v2: versions.includes(2) ? v2 : undefined,
    privateKey: v1.privateKey,
  };
}

/** The Pki of a host: its certificates, and a pool trusting both CAs. */
export function pkiOf(host: TestIdentity, cas: { v1: TestCa; v2: TestCaV2 }, initiatingVersion?: CertVersion): Pki {
  const caPool = new CaPool();
  caPool.addCa(cas.v1.cert);
  caPool.addCaV2(cas.v2.cert);
  const identity = identityOf({ v1: host.v1?.cert, v2: host.v2?.v2, initiatingVersion }, host.privateKey);
  return { caPool, identity, warnings: [] };
}
