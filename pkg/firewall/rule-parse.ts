// One raw rule from YAML (a plain object; numbers may be numbers or strings) into a checked FirewallRule.
// Accepts what Nebula 1.6.1 accepts, with the same quirks; where Nebula would crash or silently widen a rule,
// this reports an error naming the rule and key instead.

import { parseCidr, networkOf, IpParseError, type Ipv4Net } from '../ip/ipv4.js';
import { PORT_ANY, PORT_FRAGMENT, PORT_MAX, PROTO_ANY, PROTO_ICMP, PROTO_TCP, PROTO_UDP } from './constants.js';
import { FirewallConfigError, configPath, type Direction } from './config-error.js';
import { parsePortSpec, PortSpecError } from './port-spec.js';

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
  /** Masked to its network, as Go's net.ParseCIDR returns it. */
  readonly cidr: Ipv4Net | null;
  readonly caName: string;
  readonly caSha: string;
}

const PROTOS = new Map([
  ['any', PROTO_ANY],
  ['tcp', PROTO_TCP],
  ['udp', PROTO_UDP],
  ['icmp', PROTO_ICMP],
]);
const KNOWN_KEYS = new Set(['port', 'code', 'proto', 'host', 'group', 'groups', 'cidr', 'ca_name', 'ca_sha']);
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
    // Ignoring local_cidr would make the rule wider than its author meant.
    if (key === 'local_cidr') fail(key, 'not supported (Nebula added it in 1.8); refusing to ignore a restriction');
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
  const caName = text('ca_name');
  const caSha = text('ca_sha');
  const group = groupText(rule.group, where, warnings, (detail) => fail('group', detail));
  const groups = groupsList(rule.groups, (field, detail) => fail(field, detail));

  if (code !== '' && port !== '') fail('code', 'only one of port or code may be given');
  if (host === '' && groups.length === 0 && group === '' && cidrText === '' && caName === '' && caSha === '') {
    fail('', 'at least one of host, group, groups, cidr, ca_name or ca_sha must be given');
  }
  if (group !== '' && groups.length > 0) fail('group', 'only one of group or groups may be given');

  const portField = code !== '' ? 'code' : 'port';
  let range;
  try {
    range = parsePortSpec(code !== '' ? code : port);
  } catch (err) {
    if (!(err instanceof PortSpecError)) throw err;
    return fail(portField, port === '' && code === '' ? 'port (or code) is required' : err.message);
  }

  const protoNumber = PROTOS.get(proto);
  if (protoNumber === undefined) return fail('proto', `must be any, tcp, udp or icmp, not ${JSON.stringify(proto)}`);

  let cidr: Ipv4Net | null = null;
  if (cidrText !== '') {
    if (cidrText.includes(':')) fail('cidr', `IPv6 is not supported: ${JSON.stringify(cidrText)}`);
    try {
      cidr = networkOf(parseCidr(cidrText));
    } catch (err) {
      if (!(err instanceof IpParseError)) throw err;
      fail('cidr', err.message);
    }
  }

  if (caSha !== '' && !FINGERPRINT.test(caSha)) {
    warnings.push(`${where}.ca_sha: not 64 lowercase hex digits; it is compared as written and may never match`);
  }
  if (range.start > PORT_MAX) {
    warnings.push(`${where}.${portField}: ${range.start} is above ${PORT_MAX} and never matches`);
  }
  if (protoNumber === PROTO_ICMP && range.start !== PORT_ANY && range.start !== PORT_FRAGMENT) {
    warnings.push(`${where}.${portField}: ICMP packets are matched with port 0, so only any (or 0) can match`);
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
    caName,
    caSha,
  };
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
