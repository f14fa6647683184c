// `mesh-cert sign` where a v2 certificate takes part, as nebula-cert 1.10 signs: a v2 host certificate under a
// v1 or v2 CA (-version 2, or a v2 CA with no -version), or a v1 host certificate under a v2 CA (-version 1).
// A v1 certificate under a v1 CA stays on sign.ts's 1.6.1 path, byte for byte.

import {
  anyCertificateToPem,
  anyFingerprint,
  certificateView,
  isCertificateV2,
  type AnyCertificate,
} from '../../pkg/cert/cert-any.js';
import { checkCaConstraints } from '../../pkg/cert/ca-constraints.js';
import { signCertificateV2 } from '../../pkg/cert/cert-v2-sign.js';
import { Curve } from '../../pkg/cert/cert-v2-types.js';
import { bytesEqual } from '../../pkg/cert/constant-time.js';
import { CertError, CertVerifyError } from '../../pkg/cert/errors.js';
import { certMatchesPrivateKey } from '../../pkg/cert/keys.js';
import { signCertificate } from '../../pkg/cert/signature.js';
import { signingPublicKey, type SigningKey } from '../../pkg/cert/signing-keys.js';
import { CliError } from '../../pkg/cli/cli-error.js';
import type { IpPrefix } from '../../pkg/ip/prefix.js';
import { toIpv4Net } from './version-flags.js';

export interface SignRequest {
  version: 1 | 2;
  name: string;
  networks: IpPrefix[];
  unsafeNetworks: IpPrefix[];
  groups: string[];
  publicKey: Uint8Array;
  notBefore: number;
  notAfter: number;
}

/** Runs a signing step; its certificate errors become nebula-cert's "error while signing: ..." line. */
export function signedOrCliError<T>(sign: () => T): T {
  try {
    return sign();
  } catch (err) {
    if (err instanceof CertVerifyError)
      throw new CliError(`refusing to sign, root certificate constraints violated: ${err.message}`);
    if (err instanceof CertError) throw new CliError(`error while signing: ${err.message}`);
    throw err;
  }
}

/** True when `caKey` (of either curve) belongs to `ca`, whatever its version. */
export function caMatchesKey(ca: AnyCertificate, caKey: SigningKey): boolean {
  if (!isCertificateV2(ca)) return caKey.curve === Curve.CURVE25519 && certMatchesPrivateKey(ca, caKey.privateKey);
  if (ca.curve !== caKey.curve) return false;
  try {
    return bytesEqual(signingPublicKey(caKey), ca.publicKey);
  } catch {
    return false;
  }
}

/** The signed certificate as PEM. */
export function signAcrossVersions(ca: AnyCertificate, caKey: SigningKey, r: SignRequest): string {
  if (r.version === 2) {
    const details = {
      name: r.name,
      networks: r.networks,
      unsafeNetworks: r.unsafeNetworks,
      groups: r.groups,
      isCA: false,
      notBefore: r.notBefore,
      notAfter: r.notAfter,
      issuer: '',
    };
    const cert = signedOrCliError(() =>
      signCertificateV2({ details, curve: caKey.curve, publicKey: r.publicKey }, ca, caKey),
    );
    return anyCertificateToPem(cert);
  }
  // mesh's v1 codec is Nebula 1.6's, which has no curve field.
  if (caKey.curve !== Curve.CURVE25519) throw new CliError('-version 1 needs a Curve25519 CA in mesh-cert');
  const v4 = r.networks.filter((n) => n.addr.family === 4);
  if (v4.length !== 1)
    throw new CliError('invalid -networks definition: v1 certificates can only have a single ipv4 address');
  if (v4.length !== r.networks.length)
    throw new CliError('invalid -networks definition: v1 certificates can only contain ipv4 addresses');
  if (r.unsafeNetworks.some((n) => n.addr.family !== 4)) {
    throw new CliError('invalid -unsafe-networks definition: v1 certificates can only contain ipv4 addresses');
  }
  const broken = checkCaConstraints(certificateView(ca), r);
  if (broken !== null) throw new CliError(`refusing to sign, root certificate constraints violated: ${broken.message}`);
  const details = {
    name: r.name,
    ips: [toIpv4Net(v4[0])],
    subnets: r.unsafeNetworks.map(toIpv4Net),
    groups: r.groups,
    notBefore: r.notBefore,
    notAfter: r.notAfter,
    publicKey: r.publicKey,
    isCA: false,
    issuer: anyFingerprint(ca),
  };
  return anyCertificateToPem(signedOrCliError(() => signCertificate(details, caKey.privateKey)));
}
