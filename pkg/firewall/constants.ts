// Firewall numbers shared by the rule parser, the rule index and the conntrack table, with Nebula's values.

/** IP protocol numbers. `PROTO_ANY` reuses 0 (HOPOPT) as "any", as Nebula does. */
export const PROTO_ANY = 0;
export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;

/** Port 0 in a rule means "any port"; -1 is the `fragment` pseudo-port. */
export const PORT_ANY = 0;
export const PORT_FRAGMENT = -1;
export const PORT_MAX = 65535;

export const DEFAULT_TCP_TIMEOUT_MS = 12 * 60_000;
export const DEFAULT_UDP_TIMEOUT_MS = 3 * 60_000;
export const DEFAULT_TIMEOUT_MS = 10 * 60_000;
/** Nebula 1.6.1 has no limit; 0 keeps it that way. */
export const DEFAULT_MAX_CONNECTIONS = 0;
