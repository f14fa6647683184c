// Firewall numbers shared by the rule parser, the rule index and the conntrack table, with Nebula's values.

/** IP protocol numbers. `PROTO_ANY` reuses 0 (HOPOPT) as "any", as Nebula does. */
export const PROTO_ANY = 0;
export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
/** Matched by `proto: icmp` rules like ICMP, as Nebula 1.10+ does. */
export const PROTO_ICMPV6 = 58;

/** Port 0 in a rule means "any port"; -1 is the `fragment` pseudo-port. */
export const PORT_ANY = 0;
export const PORT_FRAGMENT = -1;
export const PORT_MAX = 65535;

export const DEFAULT_TCP_TIMEOUT_MS = 12 * 60_000;
export const DEFAULT_UDP_TIMEOUT_MS = 3 * 60_000;
export const DEFAULT_TIMEOUT_MS = 10 * 60_000;
/** Nebula 1.6.1 has no limit; 0 keeps it that way. */
export const DEFAULT_MAX_CONNECTIONS = 0;

/**
 * max_connections_per_host when the key is absent: a tenth of max_connections (none when that is unlimited).
 * One peer then cannot take more than that, and it takes eight of them to fill the share peers may use.
 */
export function defaultMaxConnectionsPerHost(maxConnections: number): number {
  return maxConnections === 0 ? 0 : Math.max(1, Math.floor(maxConnections / 10));
}
