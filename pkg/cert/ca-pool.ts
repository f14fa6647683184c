// The trusted CAs (`pki.ca`) keyed by fingerprint, the blocklist (`pki.blocklist`), and Nebula's verification
// of a peer certificate against them (reference §1.6, §1.7).

import { parseCertificatesPem } from './cert-pem.js';
import { CertError, CertVerifyError } from './errors.js';
import { checkRootConstraints, isCertExpired } from './root-constraints.js';
import { checkSignature, fingerprint } from './signature.js';
import type { NebulaCertificate } from './types.js';

export class CaPool {
  /** fingerprint (lowercase hex) -> CA certificate. */
  readonly cas = new Map<string, NebulaCertificate>();
  /** Fingerprints of certificates refused whatever else is true of them. */
  readonly blocklist = new Set<string>();
  /** CAs that were already expired when the pool was loaded; the daemon logs a warning for each. */
  readonly expiredCas: NebulaCertificate[] = [];

  /**
   * Loads a bundle of one or more CA certificates. Every block must be a self-signed CA. Some expired CAs are
   * tolerated (see `expiredCas`); a bundle where every CA is expired is refused.
   */
  static fromPem(text: string, nowSeconds: number = Date.now() / 1000): CaPool {
    const pool = new CaPool();
    for (const cert of parseCertificatesPem(text)) pool.addCa(cert);
    for (const ca of pool.cas.values()) if (isCertExpired(ca, nowSeconds)) pool.expiredCas.push(ca);
    if (pool.expiredCas.length === pool.cas.size) {
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
    if (this.isBlocklisted(cert)) throw new CertVerifyError('ECERTBLOCKED', 'certificate has been blocked');
    if (cert.details.issuer === '') throw new CertVerifyError('ECERTNOISSUER', 'no issuer in certificate');
    const ca = this.cas.get(cert.details.issuer);
    if (ca === undefined) throw new CertVerifyError('ECERTUNKNOWNCA', 'could not find ca for the certificate');
    if (isCertExpired(ca, nowSeconds)) throw new CertVerifyError('ECERTCAEXPIRED', 'root certificate is expired');
    if (isCertExpired(cert, nowSeconds)) throw new CertVerifyError('ECERTEXPIRED', 'certificate is expired');
    if (!checkSignature(cert, ca.details.publicKey)) {
      throw new CertVerifyError('ECERTSIGNATURE', 'certificate signature did not match');
    }
    const broken = checkRootConstraints(cert, ca);
    if (broken !== null) throw broken;
    return ca;
  }

  // A certificate whose fingerprint cannot even be computed is treated as blocked, as Nebula does.
  private isBlocklisted(cert: NebulaCertificate): boolean {
    try {
      return this.blocklist.has(fingerprint(cert));
    } catch {
      return true;
    }
  }
}
