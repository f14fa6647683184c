// One raw rule from YAML (a plain object; numbers may be numbers or strings) into a checked FirewallRule.
// Accepts what Nebula accepts, with the meaning of its newest release (1.11) where releases disagree and a warning
// where an older config relied on the old meaning (docs/compatibility.md); where Nebula would crash or silently
// widen a rule, this reports an error naming the rule and key instead.

import { parseCidr, netContains, networkOf, IpParseError, type Ipv4Net } from '../ip/ipv4.js';
import { IpPrefixParseError, parseIpPrefix } from '../ip/prefix.js';
import { net6, type Net6 } from './net6.js';
import { PORT_ANY, PORT_MAX, PROTO_ANY, PROTO_ICMP, PROTO_TCP, PROTO_UDP } from './constants.js';
import { FirewallConfigError, configPath, type Direction } from './config-error.js';
import { parsePortSpec, PortSpecError } from './port-spec.js';

/**
 * A rule's `local_cidr`: which of our addresses the packet must be for (inbound) or from (outbound).
 * `default` (no local_cidr) means our VPN addresses only when our certificate carries unsafe networks and
 * `default_local_cidr_any` is off, else any (Nebula 1.10+).
 */
export type LocalCidr =
  | { readonly kind: 'default' }
  /** `any`: every local address of either family. */
  | { readonly kind: 'any' }
  /** An IPv4 network (0.0.0.0/0 included: every IPv4 address, no IPv6 one, as in Nebula 1.10+). */
  | { readonly kind: 'net'; readonly net: Ipv4Net }
  /** An IPv6 network (Nebula 1.10+; ::/0 is every IPv6 address, no IPv4 one). */
  | { readonly kind: 'net6'; readonly net: Net6 };

/** A rule as the index stores it. Empty strings / empty lists mean "not given". */
export interface FirewallRule {
  /** Where it came from, e.g. `firewall.inbound[2]`. */
  readonly where: string;
  /** PROTO_ANY, PROTO_ICMP, PROTO_TCP or PROTO_UDP. */
  readonly proto: number;
  /** PORT_ANY/PORT_FRAGMENT or an inclusive range; `code` rules land here too (Nebula treats code as port). */
  readonly startPort: number;
  readonly endPort: number;
  readonly host: string;
  /** From `group` or `groups`: the peer needs all of them. */
  readonly groups: readonly string[];
  /** An IPv4 `cidr`, masked to its network, as Go's net.ParseCIDR returns it (0.0.0.0/0: every IPv4 remote). */
  readonly cidr: Ipv4Net | null;
  /** An IPv6 `cidr` (Nebula 1.10+), masked likewise (::/0: every IPv6 remote). */
  readonly cidr6: Net6 | null;
  /** `cidr: any`: every remote of either family (Nebula 1.10+). */
  readonly cidrAny: boolean;
  readonly localCidr: LocalCidr;
  readonly caName: string;
  readonly caSha: string;
}

const PROTOS = new Map([
  ['any', PROTO_ANY],
  ['tcp', PROTO_TCP],
  ['udp', PROTO_UDP],
  ['icmp', PROTO_ICMP],
]);
const KNOWN_KEYS = new Set([
  'port',
  'code',
  'proto',
  'host',
  'group',
  'groups',
  'cidr',
  'local_cidr',
  'ca_name',
  'ca_sha',
]);
const DEFAULT_LOCAL: LocalCidr = { kind: 'default' };
const FINGERPRINT = /^[0-9a-f]{64}$/;

export function parseRule(raw: unknown, direction: Direction, index: number, warnings: string[]): FirewallRule {
  const where = configPath(direction, index, '');
  const fail = (field: string, detail: string): never => {
    throw new FirewallConfigError(direction, index, field, detail);
  };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail('', 'a rule must be a map');
  const rule = raw as Record<string, unknown>;

  for (const key of Object.keys(rule)) {
    if (KNOWN_KEYS.has(key)) continue;
    warnings.push(`${where}.${key}: unknown key, ignored`);
  }

  const text = (key: string): string => {
    const value = rule[key];
    if (value === undefined) return '';
    return scalarText(value) ?? fail(key, 'must be a string or a number');
  };

  const port = text('port');
  const code = text('code');
  const proto = text('proto');
  const host = text('host');
  const cidrText = text('cidr');
  const localCidrText = text('local_cidr');
  const caName = text('ca_name');
  const caSha = text('ca_sha');
  const group = groupText(rule.group, where, warnings, (detail) => fail('group', detail));
  const groups = groupsList(rule.groups, (field, detail) => fail(field, detail));

  if (code !== '' && port !== '') fail('code', 'only one of port or code may be given');
  if (
    host === '' &&
    groups.length === 0 &&
    group === '' &&
    cidrText === '' &&
    localCidrText === '' &&
    caName === '' &&
    caSha === ''
  ) {
    fail('', 'at least one of host, group, groups, cidr, local_cidr, ca_name or ca_sha must be given');
  }
  if (group !== '' && groups.length > 0) fail('group', 'only one of group or groups may be given');

  const protoNumber = PROTOS.get(proto);
  if (protoNumber === undefined) return fail('proto', `must be any, tcp, udp or icmp, not ${JSON.stringify(proto)}`);

  const portField = code !== '' ? 'code' : 'port';
  const portText = code !== '' ? code : port;
  let range = { start: PORT_ANY, end: PORT_ANY };
  if (protoNumber === PROTO_ICMP) {
    // ICMP has no ports: Nebula 1.11 needs none and ignores one if given (1.6-1.10 required one and matched ICMP
    // as port 0, so only any/0 ever matched).
    if (portText !== '' && portText !== 'any' && portText !== '0') {
      warnings.push(
        `${where}.${portField}: ignored, an ICMP rule matches every ICMP packet (Nebula 1.11; 1.6-1.10 matched nothing with a port other than any)`,
      );
    }
  } else {
    try {
      range = parsePortSpec(portText);
    } catch (err) {
      if (!(err instanceof PortSpecError)) throw err;
      return fail(portField, portText === '' ? 'port (or code) is required' : err.message);
    }
  }

  const cidrAny = cidrText === 'any';
  const parsedCidr = cidrText === '' || cidrAny ? null : parseRuleCidr(cidrText, 'cidr', fail);
  const cidr = parsedCidr !== null && !isNet6(parsedCidr) ? parsedCidr : null;
  const cidr6 = parsedCidr !== null && isNet6(parsedCidr) ? parsedCidr : null;
  if (cidr !== null && cidr.mask !== 0 && netContains(cidr, 0)) {
    warnings.push(
      `${where}.cidr: ${cidrText} is matched as written (Nebula 1.10+); Nebula 1.6-1.9 treated any CIDR containing 0.0.0.0 as any`,
    );
  }
  let localCidr = DEFAULT_LOCAL;
  if (localCidrText === 'any') localCidr = { kind: 'any' };
  else if (localCidrText !== '') {
    const net = parseRuleCidr(localCidrText, 'local_cidr', fail);
    localCidr = isNet6(net) ? { kind: 'net6', net } : { kind: 'net', net };
    if (!isNet6(net) && net.mask !== 0 && netContains(net, 0)) {
      warnings.push(
        `${where}.local_cidr: ${localCidrText} is matched as written (Nebula 1.10+); Nebula 1.7-1.9 treated any CIDR containing 0.0.0.0 as any`,
      );
    }
  }

  if (caSha !== '' && !FINGERPRINT.test(caSha)) {
    warnings.push(`${where}.ca_sha: not 64 lowercase hex digits; it is compared as written and may never match`);
  }
  if (range.start > PORT_MAX) {
    warnings.push(`${where}.${portField}: ${range.start} is above ${PORT_MAX} and never matches`);
  }

  const groupSet = group !== '' ? [group] : groups;
  return {
    where,
    proto: protoNumber,
    startPort: range.start,
    endPort: range.end,
    host,
    groups: groupSet,
    cidr,
    cidr6,
    cidrAny,
    localCidr,
    caName,
    caSha,
  };
}

function isNet6(net: Ipv4Net | Net6): net is Net6 {
  return 'words' in net;
}

/**
 * An IPv4 CIDR masked to its network, or an IPv6 one likewise (Nebula 1.10+ netip.ParsePrefix: no zone, no
 * leading zeros in the length). `any` is handled by the callers: it is no network of either family.
 */
function parseRuleCidr(text: string, field: string, fail: (field: string, detail: string) => never): Ipv4Net | Net6 {
  if (text.includes(':')) {
    try {
      const prefix = parseIpPrefix(text);
      if (prefix.addr.family !== 6) throw new IpPrefixParseError('not IPv6');
      return net6(prefix.addr.bytes, prefix.bits);
    } catch (err) {
      if (!(err instanceof IpPrefixParseError)) throw err;
      return fail(field, `not an IPv6 CIDR: ${JSON.stringify(text)}`);
    }
  }
  try {
    return networkOf(parseCidr(text));
  } catch (err) {
    if (!(err instanceof IpParseError)) throw err;
    return fail(field, err.message);
  }
}

/** Go's `fmt.Sprintf("%v")` for the scalars YAML can produce; null for anything Nebula could not use. */
function scalarText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return null;
}

function groupText(value: unknown, where: string, warnings: string[], fail: (detail: string) => never): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) {
    if (value.length !== 1) fail('must be a single group name (use groups for a list)');
    warnings.push(`${where}.group: a one-element list, read as the single group ${JSON.stringify(value[0])}`);
    value = value[0];
  }
  return scalarText(value) ?? fail('must be a group name');
}

function groupsList(value: unknown, fail: (field: string, detail: string) => never): string[] {
  if (value === undefined) return [];
  if (Array.isArray(value)) {
    return value.map((item, i) => (typeof item === 'string' ? item : fail(`groups[${i}]`, 'must be a string')));
  }
  return [scalarText(value) ?? fail('groups', 'must be a list of group names or one group name')];
}
