// When a tunnel must be handshaken again because of the certificates it was made with (Nebula 1.10's
// re-handshake rules, docs/certificates-v2.md "Handshakes"), checked when a tunnel comes up and after a reload:
//
//   1. the certificate we presented is gone (a reload removed its version): again, with the initiating version;
//   2. we presented an older version than the peer did and we hold the peer's: again, with the peer's version
//      (corrects a responder that had to answer with another version than ours, or our older default);
//   3. the certificate we presented was replaced (a reload brought a new one): again, initiating version;
//   4. we presented an older version than pki.initiating_version: again (an upgrade after a reload).
//
// None of them can fire again on the tunnel the re-handshake makes, so they cannot loop: the new tunnel carries
// the current certificate of the version asked for, and a responder answers in it whenever it holds it.

import { bytesEqual } from '../cert/index.js';
import type { CertVersion } from '../hostmap/hostinfo.js';
import type { LocalIdentity } from './identity.js';

/** What a tunnel records about the certificates its handshake exchanged. */
export interface TunnelCertVersions {
  /** The peer's certificate version. */
  readonly certVersion: CertVersion;
  /** The version of the certificate we presented. */
  readonly localCertVersion: CertVersion;
  /** The signature of the certificate we presented (null: unknown, rule 3 does not apply). */
  readonly localCertSignature: Uint8Array | null;
}

export interface Rehandshake {
  /** For the log line. */
  reason: string;
  /** The version to start with; absent: pki.initiating_version. */
  certVersion?: CertVersion;
}

export function versionRehandshake(t: TunnelCertVersions, id: LocalIdentity): Rehandshake | null {
  const mine = id.credentials[t.localCertVersion];
  if (!mine) return { reason: 'local certificate removed' };
  if (t.localCertVersion < t.certVersion && id.credentials[t.certVersion]) {
    return { reason: 'local certificate version lower than peer', certVersion: t.certVersion };
  }
  if (t.localCertSignature && !bytesEqual(t.localCertSignature, mine.signature))
    return { reason: 'local certificate is not current' };
  if (t.localCertVersion < id.initiatingVersion)
    return { reason: 'current certificate version < pki.initiating_version' };
  return null;
}
