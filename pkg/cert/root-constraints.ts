// The limits a CA puts on the certificates it signs (docs/wire-format.md, verification rule 6), and the expiry test.
// `sign` applies the constraints before signing; `CaPool.verify` applies them to every peer certificate.

import type { Ipv4Net } from '../ip/ipv4.js';
import { formatNet } from './net-text.js';
import { checkSpanAndGroups } from './ca-constraints.js';
import { CertVerifyError } from './errors.js';
import type { NebulaCertificate } from './types.js';

/** Expired means not yet valid or no longer valid: NotBefore > now or NotAfter < now. */
export function isCertExpired(cert: NebulaCertificate, nowSeconds: number): boolean {
  return cert.details.notBefore > nowSeconds || cert.details.notAfter < nowSeconds;
}

// Nebula compares masks byte by byte (each CA mask byte must not exceed the cert's), which for prefix masks
// means "the cert's prefix is at least as long". Kept byte-wise so crafted non-prefix masks are judged the same.
function maskWithin(caMask: number, certMask: number): boolean {
  for (let shift = 24; shift >= 0; shift -= 8) {
    if (((caMask >>> shift) & 0xff) > ((certMask >>> shift) & 0xff)) return false;
  }
  return true;
}

function netAllowed(net: Ipv4Net, allowed: Ipv4Net[]): boolean {
  return allowed.some(
    (ca) => (net.ip & ca.mask) >>> 0 === (ca.ip & ca.mask) >>> 0 && maskWithin(ca.mask >>> 0, net.mask >>> 0),
  );
}

/** The first constraint `cert` breaks, or null. Messages are Nebula's. */
export function checkRootConstraints(cert: NebulaCertificate, ca: NebulaCertificate): CertVerifyError | null {
  const d = cert.details;
  const caD = ca.details;
  const spanOrGroups = checkSpanAndGroups(caD, d);
  if (spanOrGroups !== null) return spanOrGroups;
  if (caD.ips.length > 0) {
    const bad = d.ips.find((ip) => !netAllowed(ip, caD.ips));
    if (bad !== undefined) {
      return new CertVerifyError(
        'ECERTIP',
        `certificate contained an ip assignment outside the limitations of the signing ca: ${formatNet(bad)}`,
      );
    }
  }
  if (caD.subnets.length > 0) {
    const bad = d.subnets.find((s) => !netAllowed(s, caD.subnets));
    if (bad !== undefined) {
      return new CertVerifyError(
        'ECERTSUBNET',
        `certificate contained a subnet assignment outside the limitations of the signing ca: ${formatNet(bad)}`,
      );
    }
  }
  return null;
}
