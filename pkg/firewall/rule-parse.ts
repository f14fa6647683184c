// One raw rule from YAML (a plain object; numbers may be numbers or strings) into a checked FirewallRule.
// Accepts what Nebula accepts, with the meaning of its newest release (1.11) where releases disagree and a warning
// where an older config relied on the old meaning (docs/compatibility.md); where Nebula would crash or silently
// widen a rule, this reports an error naming the rule and key instead.

import { isIP } from 'node:net';
import { parseCidr, netContains, networkOf, IpParseError, type Ipv4Net } from '../ip/ipv4.js';
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
  | { readonly kind: 'any' }
  | { readonly kind: 'net'; readonly net: Ipv4Net }
  /** An IPv6 network (Nebula 1.10+): no IPv4 packet is inside it. */
  | { readonly kind: 'ipv6' };

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
  /** Masked to its network, as Go's net.ParseCIDR returns it; `cidr: any` is 0.0.0.0/0 (IPv4 is all mesh carries). */
  readonly cidr: Ipv4Net | null;
  /** `cidr` is an IPv6 network (Nebula 1.10+): the rule names a remote, but no IPv4 packet comes from inside it. */
  readonly cidrIpv6: boolean;
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
const KNOWN_KEYS = new Set(['port', 'code', 'proto', 'host', 'group', 'groups', 'cidr', 'local_cidr', 'ca_name', 'ca_sha']);
const DEFAULT_LOCAL: LocalCidr = { kind: 'default' };
const ANY_NET: Ipv4Net = { ip: 0, mask: 0 };
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
  if (host === '' && groups.length === 0 && group === '' && cidrText === '' && localCidrText === '' && caName === '' && caSha === '') {
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
      warnings.push(`${where}.${portField}: ignored, an ICMP rule matches every ICMP packet (Nebula 1.11; 1.6-1.10 matched nothing with a port other than any)`);
    }
  } else {
    try {
      range = parsePortSpec(portText);
    } catch (err) {
      if (!(err instanceof PortSpecError)) throw err;
      return fail(portField, portText === '' ? 'port (or code) is required' : err.message);
    }
  }

  const parsedCidr = cidrText === '' ? null : parseRuleCidr(cidrText, 'cidr', fail);
  const cidrIpv6 = parsedCidr === IPV6;
  const cidr = parsedCidr === IPV6 ? null : parsedCidr;
  if (cidrIpv6) warnings.push(`${where}.cidr: ${cidrText} is IPv6 and matches no packet until mesh carries IPv6 in the overlay`);
  if (cidr !== null && cidr.mask !== 0 && netContains(cidr, 0)) {
    warnings.push(`${where}.cidr: ${cidrText} is matched as written (Nebula 1.10+); Nebula 1.6-1.9 treated any CIDR containing 0.0.0.0 as any`);
  }
  let localCidr = DEFAULT_LOCAL;
  if (localCidrText === 'any') localCidr = { kind: 'any' };
  else if (localCidrText !== '') {
    const net = parseRuleCidr(localCidrText, 'local_cidr', fail);
    if (net === IPV6) {
      localCidr = { kind: 'ipv6' };
      warnings.push(`${where}.local_cidr: ${localCidrText} is IPv6 and matches no packet until mesh carries IPv6 in the overlay`);
    } else localCidr = net.mask === 0 ? { kind: 'any' } : { kind: 'net', net };
    if (net !== IPV6 && net.mask !== 0 && netContains(net, 0)) {
      warnings.push(`${where}.local_cidr: ${localCidrText} is matched as written (Nebula 1.10+); Nebula 1.7-1.9 treated any CIDR containing 0.0.0.0 as any`);
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
    cidrIpv6,
    localCidr,
    caName,
    caSha,
  };
}

const IPV6 = 'ipv6';

/** `any` (any address, Nebula 1.10+), an IPv4 CIDR masked to its network, or IPV6 for a valid IPv6 CIDR (which no
 * packet of mesh's IPv4 overlay is inside; accepted so that a Nebula 1.10+ dual-stack rule set loads). */
function parseRuleCidr(text: string, field: string, fail: (field: string, detail: string) => never): Ipv4Net | typeof IPV6 {
  if (text === 'any') return ANY_NET;
  if (text.includes(':')) {
    const slash = text.indexOf('/');
    const bits = text.slice(slash + 1);
    if (slash < 0 || isIP(text.slice(0, slash)) !== 6 || !/^(0|[1-9]\d{0,2})$/.test(bits) || Number(bits) > 128) {
      fail(field, `not an IPv6 CIDR: ${JSON.stringify(text)}`);
    }
    return IPV6;
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
