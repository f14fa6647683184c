// The flags later Nebula releases added to `ca`, `sign` and `keygen`: -version and the -networks /
// -unsafe-networks lists of 1.10 (IPv4 or IPv6 CIDRs, host bits kept, as Go's netip.ParsePrefix reads them), and
// -curve of 1.7 (P-256 only with v2 certificates here).
//
// `ca` makes a v2 CA unless told `-version 1`, as nebula-cert 1.10+ does; `sign` follows the version of the CA
// (the first certificate of -ca-crt). Nebula before 1.10 (Debian's 1.6.1 among them) cannot read v2 certificates,
// so a network with such peers needs `ca -version 1` (docs/certificates-v2.md, "mesh-cert").

import { formatIpPrefix, parseIpPrefix, type IpPrefix } from '../../pkg/ip/prefix.js';
import { type Ipv4Net, prefixToMask, readIpv4 } from '../../pkg/ip/ipv4.js';
import { CliError } from '../../pkg/cli/cli-error.js';
import { parseCurveName } from '../../pkg/cert/curve-keys.js';
import { commaList, optionalString, type FlagSpec, type FlagValues } from './flags.js';

export const CA_DEFAULT_VERSION = 2;

export function versionSpec(describe: string): FlagSpec {
  return { type: 'string', value: 'uint', describe };
}

// nebula-cert's text; Go's flag package adds the " (default 2)" of a non-zero uint default.
export const CA_VERSION_HELP = `Optional: version of the certificate format to use (default ${CA_DEFAULT_VERSION})`;
export const SIGN_VERSION_HELP =
  'Optional: version of the certificate format to use. The default is to match the version of the signing CA';

/** -version: 1 or 2 (0 too when `allowZero`: "follow the CA"); undefined when not given. */
export function versionFlag(values: FlagValues, allowZero: boolean): 0 | 1 | 2 | undefined {
  const text = values.version;
  if (typeof text !== 'string') return undefined;
  if (!/^\d+$/.test(text.trim()))
    throw new CliError(`invalid value ${JSON.stringify(text)} for flag -version: parse error`);
  const v = Number(text.trim());
  if (v === 1 || v === 2 || (allowZero && v === 0)) return v as 0 | 1 | 2;
  throw new CliError('-version must be either 1 or 2');
}

/**
 * A -networks style list. With `deprecated` (`-ips`, `-subnets`, `-ip`), that flag is read when the new one is
 * empty, as nebula-cert 1.10 does; v1 callers pass null and keep reading the old flag the 1.6.1 way.
 */
export function prefixListFlag(values: FlagValues, flag: string, deprecated: string | null): IpPrefix[] {
  let text = optionalString(values, flag);
  if (text === '' && deprecated !== null) text = optionalString(values, deprecated);
  const list = commaList(text).map((item) => {
    try {
      return parseIpPrefix(item);
    } catch {
      throw new CliError(`invalid -${flag} definition: ${item}`);
    }
  });
  return list;
}

/** v1 certificates hold IPv4 only; the message is nebula-cert 1.10's. */
export function requireIpv4(list: IpPrefix[], flag: string): void {
  const bad = list.find((p) => p.addr.family !== 4);
  if (bad !== undefined) {
    throw new CliError(`invalid -${flag} definition: v1 certificates can only be ipv4, have ${formatIpPrefix(bad)}`);
  }
}

/** The v1 form of an IPv4 prefix (host bits kept). */
export function toIpv4Net(p: IpPrefix): Ipv4Net {
  return { ip: readIpv4(p.addr.bytes, 0), mask: prefixToMask(p.bits) };
}

/** -curve, as nebula-cert spells it (25519 by default). */
export function parseCurveFlag(text: string): number {
  try {
    return parseCurveName(text === '' ? '25519' : text);
  } catch {
    throw new CliError(`invalid curve: ${text}`);
  }
}
