// The `firewall` config section, checked and indexed: what `Firewall` runs and what a reload swaps in.
// Durations arrive already converted to milliseconds by the config loader. Keys may be spelled as in the YAML
// (`inbound_action`, `conntrack.tcp_timeout`) or as the config package's typed FirewallConfig spells them
// (`inboundAction`, `conntrack.tcpTimeoutMs`), so either can be passed straight in.

import {
  DEFAULT_MAX_CONNECTIONS,
  defaultMaxConnectionsPerHost,
  DEFAULT_TCP_TIMEOUT_MS,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_UDP_TIMEOUT_MS,
} from './constants.js';
import { FirewallConfigError, type Direction } from './config-error.js';
import { parseRule, type FirewallRule } from './rule-parse.js';
import { RuleTable } from './rule-table.js';

export type FirewallAction = 'drop' | 'reject';

export interface ConntrackSettings {
  tcpTimeoutMs: number;
  udpTimeoutMs: number;
  /** Every protocol other than TCP and UDP (ICMP included). */
  defaultTimeoutMs: number;
  /** 0 = unlimited (Nebula 1.6.1 has no limit). */
  maxConnections: number;
  /** Flows one peer may open toward us (mesh only; 0 = no quota). Default: a tenth of maxConnections. */
  maxConnectionsPerHost: number;
}

export interface FirewallSection {
  inbound?: unknown;
  outbound?: unknown;
  conntrack?: {
    tcp_timeout?: number;
    udp_timeout?: number;
    default_timeout?: number;
    max_connections?: number;
    max_connections_per_host?: number;
    routine_cache_timeout?: number;
    tcpTimeoutMs?: number;
    udpTimeoutMs?: number;
    defaultTimeoutMs?: number;
    maxConnections?: number;
    maxConnectionsPerHost?: number;
    routineCacheTimeoutMs?: number;
  } | null;
  /** Rules without local_cidr cover every local address, not only our VPN addresses (deprecated in Nebula). */
  default_local_cidr_any?: unknown;
  defaultLocalCidrAny?: unknown;
  /** drop (default) or reject; Nebula added these in 1.7. */
  inbound_action?: unknown;
  outbound_action?: unknown;
  inboundAction?: unknown;
  outboundAction?: unknown;
}

export interface FirewallRules {
  readonly inbound: RuleTable;
  readonly outbound: RuleTable;
  readonly conntrack: Readonly<ConntrackSettings>;
  readonly inboundAction: FirewallAction;
  readonly outboundAction: FirewallAction;
  /** `default_local_cidr_any` (default false, as Nebula 1.10+; 1.9 defaulted to true). */
  readonly defaultLocalCidrAny: boolean;
  /** Things Nebula accepts but that deserve a log line (one-element `group` lists, unknown keys, ...). */
  readonly warnings: readonly string[];
}

const SECTION_KEYS = new Set([
  'inbound',
  'outbound',
  'conntrack',
  'inbound_action',
  'outbound_action',
  'inboundAction',
  'outboundAction',
  'default_local_cidr_any',
  'defaultLocalCidrAny',
]);
// routine_cache_timeout only matters with several Nebula routines; accepted and unused.
const CONNTRACK_KEYS = new Set([
  'tcp_timeout',
  'udp_timeout',
  'default_timeout',
  'max_connections',
  'max_connections_per_host',
  'routine_cache_timeout',
  'tcpTimeoutMs',
  'udpTimeoutMs',
  'defaultTimeoutMs',
  'maxConnections',
  'maxConnectionsPerHost',
  'routineCacheTimeoutMs',
]);

export interface RuleContext {
  /** Our certificate carries unsafe networks (subnets): then local_cidr decides whether a rule reaches them. */
  unsafeNetworks?: boolean;
}

/** @throws FirewallConfigError naming the rule and key at fault */
export function parseFirewallRules(
  section: FirewallSection | null | undefined,
  context: RuleContext = {},
): FirewallRules {
  const s = (section ?? {}) as Record<string, unknown>;
  const warnings: string[] = [];
  for (const key of Object.keys(s)) {
    if (!SECTION_KEYS.has(key)) warnings.push(`firewall.${key}: unknown key, ignored`);
  }
  const inbound = parseRuleList(s.inbound, 'inbound', warnings);
  const outbound = parseRuleList(s.outbound, 'outbound', warnings);
  const defaultLocalCidrAny = parseFlag(s.default_local_cidr_any ?? s.defaultLocalCidrAny, 'default_local_cidr_any');
  if (context.unsafeNetworks && !defaultLocalCidrAny) {
    const open = inbound.filter((r) => r.localCidr.kind === 'default');
    if (open.length > 0) {
      warnings.push(
        `${open[0].where}: ${open.length} inbound rule(s) without local_cidr reach only this host's VPN address, not the unsafe ` +
          'networks of its certificate (Nebula 1.10+; 1.7-1.9 let them reach those too): add local_cidr, or set firewall.default_local_cidr_any: true',
      );
    }
  }
  return {
    inbound: new RuleTable(inbound),
    outbound: new RuleTable(outbound),
    conntrack: parseConntrack(s.conntrack, warnings),
    inboundAction: parseAction(s.inbound_action ?? s.inboundAction, 'inbound_action'),
    outboundAction: parseAction(s.outbound_action ?? s.outboundAction, 'outbound_action'),
    defaultLocalCidrAny,
    warnings,
  };
}

function parseFlag(value: unknown, key: string): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === 'boolean') return value;
  throw new FirewallConfigError(null, -1, key, `must be true or false, not ${JSON.stringify(value)}`);
}

function parseRuleList(raw: unknown, direction: Direction, warnings: string[]): FirewallRule[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new FirewallConfigError(direction, -1, '', 'must be a list of rules');
  return raw.map((rule, index) => parseRule(rule, direction, index, warnings));
}

function parseConntrack(raw: unknown, warnings: string[]): ConntrackSettings {
  if (raw === undefined || raw === null) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new FirewallConfigError(null, -1, 'conntrack', 'must be a map');
  }
  const c = raw as Record<string, unknown>;
  for (const key of Object.keys(c)) {
    if (!CONNTRACK_KEYS.has(key)) warnings.push(`firewall.conntrack.${key}: unknown key, ignored`);
  }
  const max = flowCount(c.max_connections ?? c.maxConnections, 'max_connections', DEFAULT_MAX_CONNECTIONS);
  return {
    tcpTimeoutMs: duration(c.tcp_timeout ?? c.tcpTimeoutMs, 'tcp_timeout', DEFAULT_TCP_TIMEOUT_MS),
    udpTimeoutMs: duration(c.udp_timeout ?? c.udpTimeoutMs, 'udp_timeout', DEFAULT_UDP_TIMEOUT_MS),
    defaultTimeoutMs: duration(c.default_timeout ?? c.defaultTimeoutMs, 'default_timeout', DEFAULT_TIMEOUT_MS),
    maxConnections: max,
    maxConnectionsPerHost: flowCount(
      c.max_connections_per_host ?? c.maxConnectionsPerHost,
      'max_connections_per_host',
      defaultMaxConnectionsPerHost(max),
    ),
  };
}

function duration(value: unknown, key: string, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    const detail = `must be a positive duration, not ${JSON.stringify(value)}`;
    throw new FirewallConfigError(null, -1, `conntrack.${key}`, detail);
  }
  return value;
}

function flowCount(value: unknown, key: string, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    const detail = `must be a whole number (0 = unlimited), not ${JSON.stringify(value)}`;
    throw new FirewallConfigError(null, -1, `conntrack.${key}`, detail);
  }
  return n;
}

function parseAction(value: unknown, key: string): FirewallAction {
  if (value === undefined || value === null || value === 'drop') return 'drop';
  if (value === 'reject') return 'reject';
  throw new FirewallConfigError(null, -1, key, `must be drop or reject, not ${JSON.stringify(value)}`);
}
