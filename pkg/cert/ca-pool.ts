// The trusted CAs (`pki.ca`) keyed by fingerprint, the blocklist (`pki.blocklist`), and Nebula's verification
// of a peer certificate against them (docs/wire-format.md, "CA bundles and verification").

import { checkCaConstraints } from './ca-constraints.js';
import {
  anyCheckSignature,
  anyFingerprint,
  certificateView,
  CERTIFICATE_V2_BANNER,
  isCertificateV2,
  type AnyCertificate,
} from './cert-any.js';
import { CERTIFICATE_BANNER } from './cert-pem.js';
import { certificateFromPemBlock } from './cert-pem-any.js';
import { fingerprintV2 } from './cert-v2-marshal.js';
import { checkSignatureV2 } from './cert-v2-sign.js';
import { Curve, type NebulaCertificateV2 } from './cert-v2-types.js';
import { p256OtherS } from './signing-keys.js';
import { CertError, CertVerifyError } from './errors.js';
import { decodePemBlocks } from './pem.js';
import { checkRootConstraints, isCertExpired } from './root-constraints.js';
import { checkSignature, fingerprint } from './signature.js';
import type { NebulaCertificate } from './types.js';

export interface CaPoolLoadOptions {
  /**
   * 'skip' (the default, for the daemon): `NEBULA CERTIFICATE V2` blocks are counted in `skippedV2Blocks` and
   * otherwise ignored, as a Nebula 1.9.5+ build without v2 support does, because the daemon cannot yet use v2 in
   * handshakes. 'load': they become CAs of the pool, for `verifyAny` (mesh-cert verify).
   */
  v2?: 'skip' | 'load';
}

/**
 * How many certificates a pool remembers as signed by one of its CAs (see `CaPool.signatureVerified`): a lighthouse's
 * nodes re-handshake with the same certificate, and its Ed25519 verification is ~110 of a handshake's ~550 us
 * (bench/handshake-cost.ts, "re-handshaking"). About 100 bytes of heap an entry, so at most ~6.5 MB.
 */
export const MAX_SIGNATURES_REMEMBERED = 65536;

function isExpired(c: AnyCertificate, nowSeconds: number): boolean {
  return c.details.notBefore > nowSeconds || c.details.notAfter < nowSeconds;
}

/** `cert`'s fingerprint, undefined when it cannot be taken. */
function fingerprintOf(cert: AnyCertificate): string | undefined {
  try {
    return anyFingerprint(cert);
  } catch {
    return undefined;
  }
}

/** A certificate a pool accepted: the CA that signed it, and its fingerprint as the pool computed it. */
export interface PoolVerdict<C extends AnyCertificate> {
  ca: C;
  fingerprint: string;
}

export class CaPool {
  /** fingerprint (lowercase hex) -> CA certificate. */
  readonly cas = new Map<string, NebulaCertificate>();
  /** fingerprint -> v2 CA certificate (only with `{ v2: 'load' }`); `verify` ignores them, `verifyAny` uses them. */
  readonly casV2 = new Map<string, NebulaCertificateV2>();
  /** How many v2 CA blocks `fromPem` skipped; the daemon logs one warning when this is not 0. */
  skippedV2Blocks = 0;
  /** Fingerprints of certificates refused whatever else is true of them. */
  readonly blocklist = new Set<string>();
  /** CAs that were already expired when the pool was loaded; the daemon logs a warning for each. */
  readonly expiredCas: AnyCertificate[] = [];
  /**
   * Fingerprints of certificates whose signature a CA of this pool verified, oldest first. A fingerprint is the
   * SHA-256 of what the signature covers and the signature itself (v1: the canonical marshal of both; v2: the signed
   * bytes and the signature), and the issuer it names picks the same CA for the pool's lifetime, so the signature of
   * a certificate with a remembered fingerprint verifies again: only that check is skipped. Blocklist, CA lookup,
   * curve, expiry and constraints run every time; a reload builds a new pool, so a removed CA takes its entries
   * along. Only certificates a CA signed get in, and at most MAX_SIGNATURES_REMEMBERED, the oldest leaving first
   * (docs/security-model.md).
   */
  private readonly signatureVerified = new Set<string>();

  constructor(
    /** The bound of `signatureVerified` (tests set a small one). */
    private readonly maxSignaturesRemembered = MAX_SIGNATURES_REMEMBERED,
  ) {}

  /** How many certificates the pool remembers as signed by one of its CAs. */
  get signaturesRemembered(): number {
    return this.signatureVerified.size;
  }

  /**
   * Loads a bundle of one or more CA certificates. Every block must be a self-signed CA. Some expired CAs are
   * tolerated (see `expiredCas`); a bundle where every CA is expired is refused.
   */
  static fromPem(text: string, nowSeconds: number = Date.now() / 1000, options: CaPoolLoadOptions = {}): CaPool {
    const pool = new CaPool();
    const blocks = decodePemBlocks(text);
    if (blocks.length === 0) throw new CertError('ECERTPEM', 'input did not contain a valid PEM encoded block');
    for (const block of blocks) {
      if (block.banner === CERTIFICATE_V2_BANNER && options.v2 !== 'load') pool.skippedV2Blocks++;
      else if (block.banner === CERTIFICATE_V2_BANNER) pool.addAnyCa(certificateFromPemBlock(block));
      else if (block.banner !== CERTIFICATE_BANNER) {
        throw new CertError('ECERTPEM', `PEM block is "${block.banner}", expected "${CERTIFICATE_BANNER}"`);
      } else pool.addAnyCa(certificateFromPemBlock(block));
    }
    for (const ca of [...pool.cas.values(), ...pool.casV2.values()]) {
      if (isExpired(ca, nowSeconds)) pool.expiredCas.push(ca);
    }
    if (pool.expiredCas.length === pool.cas.size + pool.casV2.size) {
      throw new CertError('ECERTNOVALIDCA', 'no valid CA certificates present');
    }
    return pool;
  }

  /** Adds one CA after checking it is a CA and signed by its own key; returns its fingerprint. */
  addCa(cert: NebulaCertificate): string {
    if (!cert.details.isCA) throw new CertError('ECERTNOTCA', `${cert.details.name}: certificate is not a CA`);
    if (!checkSignature(cert, cert.details.publicKey)) {
      throw new CertError('ECERTNOTSELFSIGNED', `${cert.details.name}: certificate is not self-signed`);
    }
    const fp = fingerprint(cert);
    this.cas.set(fp, cert);
    return fp;
  }

  /** Adds a v2 CA after the same checks as `addCa`; returns its fingerprint. */
  addCaV2(cert: NebulaCertificateV2): string {
    if (!cert.details.isCA) throw new CertError('ECERTNOTCA', `${cert.details.name}: certificate is not a CA`);
    if (!checkSignatureV2(cert, cert.publicKey)) {
      throw new CertError('ECERTNOTSELFSIGNED', `${cert.details.name}: certificate is not self-signed`);
    }
    const fp = fingerprintV2(cert);
    this.casV2.set(fp, cert);
    return fp;
  }

  addAnyCa(cert: AnyCertificate): string {
    return isCertificateV2(cert) ? this.addCaV2(cert) : this.addCa(cert);
  }

  /** A CA of either version by fingerprint. */
  getAnyCa(fp: string): AnyCertificate | undefined {
    return this.cas.get(fp) ?? this.casV2.get(fp);
  }

  /** Replaces the blocklist (config reload). Entries are compared as lowercase hex. */
  setBlocklist(fingerprints: Iterable<string>): void {
    this.blocklist.clear();
    for (const fp of fingerprints) this.blocklist.add(fp.trim().toLowerCase());
  }

  getCa(fp: string): NebulaCertificate | undefined {
    return this.cas.get(fp);
  }

  /**
   * Nebula's `Verify`, rules in Nebula's order; throws CertVerifyError naming the first rule broken, otherwise
   * returns the issuing CA.
   */
  verify(cert: NebulaCertificate, nowSeconds: number): NebulaCertificate {
    return this.verifyWithFingerprint(cert, nowSeconds).ca;
  }

  /**
   * `verify`, also returning the fingerprint the pool took of `cert` (a handshake keeps it for the tunnel). The pool
   * takes it itself, never from a caller: it decides whether the signature is checked (signatureVerified).
   */
  verifyWithFingerprint(cert: NebulaCertificate, nowSeconds: number): PoolVerdict<NebulaCertificate> {
    const { fingerprint: fp, ca } = this.issuerOf(cert, (issuer) => this.cas.get(issuer));
    if (isCertExpired(ca, nowSeconds)) throw new CertVerifyError('ECERTCAEXPIRED', 'root certificate is expired');
    if (isCertExpired(cert, nowSeconds)) throw new CertVerifyError('ECERTEXPIRED', 'certificate is expired');
    if (!this.signedByCa(fp, () => checkSignature(cert, ca.details.publicKey))) {
      throw new CertVerifyError('ECERTSIGNATURE', 'certificate signature did not match');
    }
    const broken = checkRootConstraints(cert, ca);
    if (broken !== null) throw broken;
    return { ca, fingerprint: fp };
  }

  /**
   * `verify` for a certificate of either version against CAs of either version, in Nebula 1.10's order (its curve
   * check after the CA lookup). A v1 certificate under a v1 CA is judged exactly as `verify` judges it; any other
   * pair by the constraint rules of 1.10 (ca-constraints.ts).
   */
  verifyAny(cert: AnyCertificate, nowSeconds: number): AnyCertificate {
    return this.verifyAnyWithFingerprint(cert, nowSeconds).ca;
  }

  /** `verifyAny`, also returning the fingerprint the pool took of `cert`, as `verifyWithFingerprint` does. */
  verifyAnyWithFingerprint(cert: AnyCertificate, nowSeconds: number): PoolVerdict<AnyCertificate> {
    const { fingerprint: fp, ca } = this.issuerOf(cert, (issuer) => this.getAnyCa(issuer));
    const caView = certificateView(ca);
    const certView = certificateView(cert);
    if (caView.curve !== certView.curve) {
      throw new CertVerifyError('ECERTCURVEMISMATCH', 'certificate curve does not match CA');
    }
    if (isExpired(ca, nowSeconds)) throw new CertVerifyError('ECERTCAEXPIRED', 'root certificate is expired');
    if (isExpired(cert, nowSeconds)) throw new CertVerifyError('ECERTEXPIRED', 'certificate is expired');
    if (!this.signedByCa(fp, () => anyCheckSignature(cert, caView.publicKey))) {
      throw new CertVerifyError('ECERTSIGNATURE', 'certificate signature did not match');
    }
    const broken =
      !isCertificateV2(cert) && !isCertificateV2(ca)
        ? checkRootConstraints(cert, ca)
        : checkCaConstraints(caView, certView);
    if (broken !== null) throw broken;
    return { ca, fingerprint: fp };
  }

  /**
   * The rules both verifications start with, in Nebula's order: not blocked (a certificate whose fingerprint cannot
   * even be computed counts as blocked, as in Nebula), an issuer named, that issuer one of `lookup`'s CAs. Returns
   * the pool's own fingerprint of `cert` and the CA.
   */
  private issuerOf<C extends AnyCertificate>(
    cert: AnyCertificate,
    lookup: (issuer: string) => C | undefined,
  ): PoolVerdict<C> {
    const fp = fingerprintOf(cert);
    if (fp === undefined || this.isBlocklisted(cert, fp))
      throw new CertVerifyError('ECERTBLOCKED', 'certificate has been blocked');
    if (cert.details.issuer === '') throw new CertVerifyError('ECERTNOISSUER', 'no issuer in certificate');
    const ca = lookup(cert.details.issuer);
    if (ca === undefined) throw new CertVerifyError('ECERTUNKNOWNCA', 'could not find ca for the certificate');
    return { ca, fingerprint: fp };
  }

  private isBlocklisted(cert: AnyCertificate, fp: string): boolean {
    return this.blocklist.has(fp) || (this.blocklist.size > 0 && this.isBlocklistedP256Twin(cert));
  }

  /**
   * `check()` (the signature check of the certificate `fp` names) unless it passed before (signatureVerified). `fp`
   * is always the pool's own fingerprint of the certificate being checked, never one a caller handed in.
   */
  private signedByCa(fp: string, check: () => boolean): boolean {
    if (this.signatureVerified.has(fp)) return true;
    if (!check()) return false;
    if (this.signatureVerified.size >= this.maxSignaturesRemembered) {
      const oldest = this.signatureVerified.values().next();
      if (oldest.done !== true) this.signatureVerified.delete(oldest.value);
    }
    this.signatureVerified.add(fp);
    return true;
  }

  // A P-256 signature verifies with S or n - S, and each form gives another fingerprint: both are checked, as
  // Nebula does. A signature too malformed to turn is left to the signature check, which refuses it.
  private isBlocklistedP256Twin(cert: AnyCertificate): boolean {
    if (!isCertificateV2(cert) || cert.curve !== Curve.P256) return false;
    try {
      return this.blocklist.has(fingerprintV2({ ...cert, signature: p256OtherS(cert.signature) }));
    } catch {
      return false;
    }
  }
}
