// firewall: conntrack timeouts and the two rule lists. Rules stay raw (the firewall package validates their fields
// and uses locate() for its messages); here we only check each is a map.

import { DEFAULTS } from './defaults.js';
import type { FirewallConfig } from './mesh-config.js';
import { isMap } from './reader.js';
import type { ConfigReader } from './reader.js';
import { readBool, readChoice, readDurationMs, readInt, readList } from './typed-values.js';

export function readFirewall(r: ConfigReader, routines: number): FirewallConfig {
  const conntrack = ['firewall', 'conntrack'];
  const perHost = [...conntrack, 'max_connections_per_host'];
  const routineCacheDefault = routines > 1 ? DEFAULTS.multiRoutineCacheTimeoutMs : 0;
  const inboundAction = readChoice(r, ['firewall', 'inbound_action'], ['drop', 'reject'] as const, 'drop');
  const outboundAction = readChoice(r, ['firewall', 'outbound_action'], ['drop', 'reject'] as const, 'drop');
  if (inboundAction !== outboundAction) {
    // Only a difference between the two is affected by the swap (docs/compatibility.md).
    r.warn(
      ['firewall', 'inbound_action'],
      `${inboundAction} answers refused inbound packets and outbound_action ${outboundAction} refused outbound ones, as in Nebula 1.11; Nebula 1.7-1.10 applied each key to the other direction`,
    );
  }
  const defaultLocalCidrAny = readBool(r, ['firewall', 'default_local_cidr_any'], false);
  if (r.has(['firewall', 'default_local_cidr_any'])) {
    r.warn(
      ['firewall', 'default_local_cidr_any'],
      `deprecated in Nebula (default false since 1.10, true in 1.9)${defaultLocalCidrAny ? ': true lets every rule without local_cidr reach the unsafe networks' : ''}`,
    );
  }
  return {
    conntrack: {
      tcpTimeoutMs: readDurationMs(r, [...conntrack, 'tcp_timeout'], DEFAULTS.tcpTimeoutMs),
      udpTimeoutMs: readDurationMs(r, [...conntrack, 'udp_timeout'], DEFAULTS.udpTimeoutMs),
      defaultTimeoutMs: readDurationMs(r, [...conntrack, 'default_timeout'], DEFAULTS.defaultTimeoutMs),
      maxConnections: readInt(r, [...conntrack, 'max_connections'], DEFAULTS.maxConnections, 1, 2 ** 31 - 1),
      // 0 turns the per-peer quota off, as 0 does for the firewall's max_connections.
      maxConnectionsPerHost: r.has(perHost) ? readInt(r, perHost, 0, 0, 2 ** 31 - 1) : undefined,
      routineCacheTimeoutMs: readDurationMs(r, [...conntrack, 'routine_cache_timeout'], routineCacheDefault),
    },
    inbound: readRules(r, 'inbound'),
    outbound: readRules(r, 'outbound'),
    inboundAction,
    outboundAction,
    defaultLocalCidrAny,
  };
}

function readRules(r: ConfigReader, table: 'inbound' | 'outbound'): unknown[] {
  const rules = readList(r, ['firewall', table]) ?? [];
  r.keepRaw(['firewall', table]);
  rules.forEach((rule, i) => {
    if (!isMap(rule))
      throw r.typeError(['firewall', table, i], 'a rule (a map with port, proto, host/group/...)', rule);
  });
  return rules;
}
