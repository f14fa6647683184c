// The content rules a v2 certificate must meet, both when it is decoded and before it is signed (Nebula applies
// the same function at both points). Sorting happens here too: Nebula keeps networks sorted by address then
// prefix length, so a signed certificate has them in that order on the wire.

import {
  compareIpPrefix,
  formatIpPrefix,
  ipAddrBitLength,
  isIpv4MappedIpv6,
  isUnspecified,
  type IpPrefix,
} from '../ip/prefix.js';
import { CertError } from './errors.js';
import type { CertDetailsV2 } from './cert-v2-types.js';

function invalid(message: string): CertError {
  return new CertError('ECERTPROPERTIES', message);
}

function isValidPrefix(p: IpPrefix): boolean {
  const len = p.addr.bytes.length;
  return (len === 4 || len === 16) && p.bits >= 0 && p.bits <= ipAddrBitLength(p.addr);
}

function text(p: IpPrefix): string {
  return isValidPrefix(p) ? formatIpPrefix(p) : 'invalid Prefix';
}

function sortUnique(list: IpPrefix[]): void {
  list.sort(compareIpPrefix);
  for (let i = 1; i < list.length; i++) {
    if (compareIpPrefix(list[i], list[i - 1]) === 0) throw invalid(`duplicate network detected: ${text(list[i])}`);
  }
}

/** Throws CertError ECERTPROPERTIES naming the first rule broken; sorts `d.networks` and `d.unsafeNetworks`. */
export function validateCertificateV2(d: CertDetailsV2, publicKey: Uint8Array): void {
  if (publicKey.length === 0) throw new CertError('ECERTKEY', 'invalid public key');
  if (!d.isCA && d.networks.length === 0) throw invalid('non-CA certificate must contain at least 1 network');
  let hasV4 = false;
  let hasV6 = false;
  for (const n of d.networks) {
    if (!isValidPrefix(n)) throw invalid(`invalid network: ${text(n)}`);
    if (isUnspecified(n.addr)) {
      throw invalid(`non-CA certificates must not use the zero address as a network: ${text(n)}`);
    }
    if (isIpv4MappedIpv6(n.addr)) throw invalid(`4in6 networks are not allowed: ${text(n)}`);
    hasV4 ||= n.addr.family === 4;
    hasV6 ||= n.addr.family === 6;
  }
  sortUnique(d.networks);
  for (const n of d.unsafeNetworks) {
    if (!isValidPrefix(n)) throw invalid(`invalid unsafe network: ${text(n)}`);
    if (!d.isCA && n.addr.family === 6 && !hasV6) {
      throw invalid(`IPv6 unsafe networks require an IPv6 address assignment: ${text(n)}`);
    }
    if (!d.isCA && n.addr.family === 4 && !hasV4) {
      throw invalid(`IPv4 unsafe networks require an IPv4 address assignment: ${text(n)}`);
    }
  }
  sortUnique(d.unsafeNetworks);
}
