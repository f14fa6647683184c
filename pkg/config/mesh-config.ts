// The typed form of config.yml after validation. Every key Nebula 1.6.1 reads is here, filled with Nebula's code
// defaults (defaults.ts), plus the mesh-only `control` section and the 1.7-style firewall actions.
// Durations are milliseconds (`...Ms`) unless the name says otherwise; lighthouse.interval stays in seconds like Nebula.

import type { PortMapConfig } from './section-portmap.js';
import type { TcpConfig } from './section-tcp.js';
import type { LighthouseStoreConfig } from './section-lighthouse-store.js';

export type Cipher = 'aes' | 'chachapoly';
export type SendRecvError = 'always' | 'never' | 'private';
export type LogLevel = 'panic' | 'fatal' | 'error' | 'warning' | 'info' | 'debug' | 'trace';
export type LogFormat = 'text' | 'json';
export type StatsType = 'graphite' | 'prometheus';
export type FirewallAction = 'drop' | 'reject';

/** CIDR (as written, IPv4 or IPv6) -> allowed. Validated: CIDRs parse, and a family mixing true and false names its
 * own 0.0.0.0/0 or ::/0 default (Nebula refuses such a list at startup). */
export type AllowListMap = Map<string, boolean>;

export interface PkiConfig {
  /** CA bundle: a path (relative to the config directory) or inline PEM, kept exactly as written. */
  ca: string;
  cert: string;
  key: string;
  /** Blocked certificate fingerprints, `pki.blocklist` followed by the deprecated `pki.blacklist`. */
  blocklist: string[];
  /** Default true, as Nebula 1.8+ (1.6-1.7: false). Blocklisted peers are closed whatever its value (1.7+). */
  disconnectInvalid: boolean;
  /** Certificate version for handshakes we start (Nebula 1.10+); undefined when not set. */
  initiatingVersion: 1 | 2 | undefined;
}

export interface LocalAllowList {
  cidrs: AllowListMap;
  /** Interface-name regex (anchored by the user of this value) -> allowed; all values are equal. */
  interfaces: Map<string, boolean>;
}

export interface LighthouseConfig {
  amLighthouse: boolean;
  serveDns: boolean;
  dns: { host: string; port: number };
  /** Seconds between HostUpdateNotifications; 0 disables them. */
  interval: number;
  /** VPN IPs (canonical dotted form) of the lighthouses; each has a static_host_map entry. */
  hosts: string[];
  /** Undefined when not configured (allow everything). */
  remoteAllowList: AllowListMap | undefined;
  /** Inside-VPN CIDR -> its own allow list, consulted first for peers inside that CIDR. */
  remoteAllowRanges: Map<string, AllowListMap> | undefined;
  localAllowList: LocalAllowList | undefined;
  /** `ip:port` / `host:port` strings; port 0 means the listen port. Not resolved here. */
  advertiseAddrs: string[];
  /** lighthouse.calculated_remotes (Nebula 1.7+): remotes guessed from a peer's VPN address. */
  calculatedRemotes: CalculatedRemotes[];
  /**
   * mesh only: a lighthouse's second UDP port for NAT tests (lighthouse/probe-port.ts); port 0 = ephemeral. Read
   * only when am_lighthouse is set; absent when the config has no lighthouse.second_port (SECOND_PORT_DEFAULT).
   */
  secondPort?: { enabled: boolean; port: number };
  /** mesh only: lighthouse.store, where a lighthouse shares its hosts with its tier (docs/lighthouse-tier.md). */
  store?: LighthouseStoreConfig;
}

/** For peers inside `vpnRange`, a guessed remote: `mask`'s network bits, the peer's host bits, and `port`. */
export interface CalculatedRemotes {
  vpnRange: string;
  remotes: { mask: string; port: number }[];
}

export interface ListenConfig {
  /** An IP address or (Nebula 1.7+) a host name, resolved when the socket is opened. */
  host: string;
  /** 0 = pick a random port. */
  port: number;
  batch: number;
  /** Socket buffer sizes; undefined = leave the system default. */
  readBuffer: number | undefined;
  writeBuffer: number | undefined;
  sendRecvError: SendRecvError;
  /** Whose recv_error packets we act on (Nebula 1.11+; default always). */
  acceptRecvError: SendRecvError;
  /** SO_MARK for outgoing packets (Nebula 1.10+); 0 = none. */
  soMark: number;
  /**
   * listen.gro (mesh-only, default true): receive a peer's run of equal-sized datagrams as one (UDP_GRO) and cut it
   * in the addon (docs/ipv6.md "The underlay socket"). false, or MESH_UDP_GRO=0, takes datagrams one by one.
   */
  gro: boolean;
}

export interface PunchyConfig {
  punch: boolean;
  respond: boolean;
  delayMs: number;
  /** Wait before punchy.respond handshakes back (Nebula 1.7+; 5 s). */
  respondDelayMs: number;
  /** Keepalive punches go to every known address of a peer, not only the one in use (Nebula 1.7+). */
  targetAllRemotes: boolean;
}

export interface RelayConfig {
  /** VPN IPs of relays that peers may use to reach this node. Nebula ignores them when amRelay is true. */
  relays: string[];
  amRelay: boolean;
  /** Nebula treats this as false when amRelay is true. */
  useRelays: boolean;
}

export interface TunRoute {
  route: string;
  mtu: number;
}

/** One gateway of an unsafe route (Nebula 1.10+ takes a list: ECMP, pkg/routing/ecmp.ts). */
export interface UnsafeGateway {
  /** VPN IPv4 address, canonical dotted form. */
  gateway: string;
  /** 1..2^31-1; 1 when not given (and for the single-address form). */
  weight: number;
}

export interface UnsafeRoute {
  route: string;
  /** One or more gateways; `via: 10.0.0.1` is one gateway of weight 1. */
  via: UnsafeGateway[];
  /** Undefined = the tun MTU. */
  mtu: number | undefined;
  metric: number | undefined;
  /** false (Nebula 1.7+): we route it through the tunnel but leave the system routing table alone. */
  install: boolean;
}

export interface TunConfig {
  disabled: boolean;
  /** Device name; undefined lets the OS choose. */
  dev: string | undefined;
  dropLocalBroadcast: boolean;
  dropMulticast: boolean;
  txQueue: number;
  mtu: number;
  routes: TunRoute[];
  unsafeRoutes: UnsafeRoute[];
  /** Nebula 1.7+ (Linux): also route through the kernel's routes via a VPN gateway on our TUN
   * (pkg/routing/system-route-watch.ts). */
  useSystemRouteTable: boolean;
  /** tun.use_system_route_table_buffer_size: the route socket's receive buffer in bytes; 0 = the system default. */
  useSystemRouteTableBufferSize: number;
  /** tun.udp_offload (mesh-only, default true): join a write batch's datagrams of one UDP flow into one TUN write
   * where the kernel takes UDP segmentation offloads (docs/ipv6.md "Offloads"); false writes each alone. */
  udpOffload: boolean;
}

export interface LoggingConfig {
  level: LogLevel;
  format: LogFormat;
  disableTimestamp: boolean;
  /** Go time layout; '' = the logger's default. */
  timestampFormat: string;
}

export interface StatsConfig {
  /** Undefined = no stats (also for `none`). */
  type: StatsType | undefined;
  /** Required (> 0) when a type is set. */
  intervalMs: number | undefined;
  prefix: string;
  protocol: string;
  host: string;
  listen: string;
  path: string;
  namespace: string;
  subsystem: string;
  messageMetrics: boolean;
  lighthouseMetrics: boolean;
}

export interface HandshakesConfig {
  tryIntervalMs: number;
  retries: number;
  triggerBuffer: number;
}

export interface ConntrackConfig {
  tcpTimeoutMs: number;
  udpTimeoutMs: number;
  defaultTimeoutMs: number;
  /** Mesh addition (Nebula 1.6.1 ignores the key). */
  maxConnections: number;
  /** Mesh addition: flows one peer may open toward us; undefined = the firewall's default, a tenth of maxConnections. */
  maxConnectionsPerHost: number | undefined;
  /** 0, or 1 s by default when routines > 1. */
  routineCacheTimeoutMs: number;
}

export interface FirewallConfig {
  conntrack: ConntrackConfig;
  /** Rules exactly as written (each checked to be a map); the firewall package validates their fields. */
  inbound: unknown[];
  outbound: unknown[];
  /** Not in Nebula 1.6.1 (added in 1.7); `drop` matches 1.6.1 behaviour. As in 1.11: inbound_action answers
   * refused inbound packets (1.7-1.10 applied each key to the other direction). */
  inboundAction: FirewallAction;
  outboundAction: FirewallAction;
  /** Rules without local_cidr also reach our unsafe networks (Nebula 1.9's default; false since 1.10). */
  defaultLocalCidrAny: boolean;
}

export interface TimersConfig {
  connectionAliveIntervalMs: number;
  pendingDeletionIntervalMs: number;
}

/** Keys of Nebula 1.7-1.11 that mesh reads and checks but does not act on; each is named at start when set
 * (pkg/daemon/unsupported.ts). Undefined = not written. */
export interface LaterReleaseKeys {
  /** static_map.cadence / network / lookup_timeout (1.7+: re-resolve static_host_map names). */
  staticMapCadenceMs: number | undefined;
  staticMapNetwork: 'ip4' | 'ip6' | 'ip' | undefined;
  staticMapLookupTimeoutMs: number | undefined;
  /** tunnels.drop_inactive / inactivity_timeout (1.10+). */
  tunnelsDropInactive: boolean | undefined;
  tunnelsInactivityTimeoutMs: number | undefined;
  /** timers.requery_wait_duration (1.8+). */
  requeryWaitMs: number | undefined;
  /** handshakes.query_buffer (1.9+): a channel size in Nebula, nothing to size in mesh. */
  queryBuffer: number | undefined;
}

export interface ControlConfig {
  /** Path of the unix control socket; undefined = a default derived from the config path (pkg/control/socket-path.ts). */
  socket: string | undefined;
}

export interface MeshConfig {
  pki: PkiConfig;
  /** VPN IP (canonical dotted form) -> underlay `host:port` strings (IPv6 as `[::1]:4242`), not resolved here. */
  staticHostMap: Map<string, string[]>;
  lighthouse: LighthouseConfig;
  listen: ListenConfig;
  routines: number;
  punchy: PunchyConfig;
  cipher: Cipher;
  /** CIDRs from `preferred_ranges` then the deprecated `local_range`, without duplicates. */
  preferredRanges: string[];
  relay: RelayConfig;
  tun: TunConfig;
  logging: LoggingConfig;
  stats: StatsConfig;
  /** Kept raw: the sshd package validates it. {} when absent. */
  sshd: Record<string, unknown>;
  handshakes: HandshakesConfig;
  firewall: FirewallConfig;
  timers: TimersConfig;
  control: ControlConfig;
  /** mesh only: the TCP fallback (section-tcp.ts); absent in configs built by hand, which then get its defaults. */
  tcp?: TcpConfig;
  /** mesh only: port mapping on the gateway (section-portmap.ts); absent in configs built by hand (then off). */
  portmap?: PortMapConfig;
  /** Nebula 1.7-1.11 keys read and checked but not acted on (section-later.ts). */
  later: LaterReleaseKeys;
}
