// The limits a CA puts on what it signs, in the form Nebula 1.10+ checks them for any pair of certificate
// versions: validity inside the CA's, groups among the CA's, each network (and unsafe network) inside one of the
// CA's with a prefix at least as long. A v4 network is never inside a v6 one or the reverse. A v1 certificate
// checked against a v1 CA keeps the 1.6 rules and messages (root-constraints.ts).

import { formatIpPrefix, prefixContains, type IpPrefix } from '../ip/prefix.js';
import { CertVerifyError } from './errors.js';
import type { CertificateView } from './cert-any.js';

export interface ConstrainedFields {
  notBefore: number;
  notAfter: number;
  groups: string[];
  networks: IpPrefix[];
  unsafeNetworks: IpPrefix[];
}

function within(n: IpPrefix, allowed: IpPrefix[]): boolean {
  return n.bits >= 0 && allowed.some((ca) => ca.bits >= 0 && prefixContains(ca, n.addr) && ca.bits <= n.bits);
}

function text(n: IpPrefix): string {
  return n.bits >= 0 ? formatIpPrefix(n) : 'invalid Prefix';
}

/** What every certificate version shares: its validity period and its groups (the v1 check uses these too). */
export interface SpanAndGroups {
  notBefore: number;
  notAfter: number;
  groups: readonly string[];
}

/**
 * The rules every version of the check starts with, in Nebula's order and with its messages: `sub` valid only
 * inside the signer's validity, and only with groups the signer has (if it names any).
 */
export function checkSpanAndGroups(signer: SpanAndGroups, sub: SpanAndGroups): CertVerifyError | null {
  if (sub.notAfter > signer.notAfter) {
    return new CertVerifyError('ECERTEXPIRESAFTERCA', 'certificate expires after signing certificate');
  }
  if (sub.notBefore < signer.notBefore) {
    return new CertVerifyError('ECERTVALIDBEFORECA', 'certificate is valid before the signing certificate');
  }
  if (signer.groups.length > 0) {
    const bad = sub.groups.find((g) => !signer.groups.includes(g));
    if (bad !== undefined) {
      return new CertVerifyError('ECERTGROUP', `certificate contained a group not present on the signing ca: ${bad}`);
    }
  }
  return null;
}

/** The first constraint `sub` breaks, or null. Messages are Nebula 1.10's. */
export function checkCaConstraints(signer: CertificateView, sub: ConstrainedFields): CertVerifyError | null {
  const spanOrGroups = checkSpanAndGroups(signer, sub);
  if (spanOrGroups !== null) return spanOrGroups;
  if (signer.networks.length > 0) {
    const bad = sub.networks.find((n) => !within(n, signer.networks));
    if (bad !== undefined) {
      return new CertVerifyError(
        'ECERTNETWORK',
        `certificate contained a network assignment outside the limitations of the signing ca: ${text(bad)}`,
      );
    }
  }
  if (signer.unsafeNetworks.length > 0) {
    const bad = sub.unsafeNetworks.find((n) => !within(n, signer.unsafeNetworks));
    if (bad !== undefined) {
      return new CertVerifyError(
        'ECERTUNSAFENETWORK',
        `certificate contained an unsafe network assignment outside the limitations of the signing ca: ${text(bad)}`,
      );
    }
  }
  return null;
}
