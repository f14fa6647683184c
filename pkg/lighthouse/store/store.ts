// Where a lighthouse keeps what other lighthouses of its tier know (docs/lighthouse-tier.md). The lighthouse server
// (../server.ts) stays the source of truth about the hosts it serves itself; a store mirrors them out to the tier
// and mirrors in the hosts the others serve, so that a query about a host served elsewhere is answered, and its
// punch notification reaches the lighthouse that has the host's tunnel.
//
// Two stores: MemoryStore (the default, `lighthouse.store: memory`): nothing is shared, every call is a no-op,
// exactly the single-lighthouse behaviour; and the NATS JetStream store (nats-store.ts), loaded only when
// configured (open.ts).

import type { VpnIp } from '../../ip/vpn-ip.js';
import type { UdpAddr } from '../../udp/addr.js';

/** What a lighthouse knows about one host it serves: what it would answer to a query about it. */
export interface ServedHost {
  readonly vpnIp: VpnIp;
  /**
   * All of the host's overlay addresses, primary first (absent from older writers: just vpnIp). remote_allow_list
   * judges its underlay addresses by every one of them, as the server does for the host's own report.
   */
  readonly vpnAddrs?: readonly VpnIp[];
  /** The address the lighthouse sees the host's tunnel from; null when reached over TCP or a relay only. */
  readonly learned: UdpAddr | null;
  /** The addresses the host reported in its last update, already filtered by the allow lists. */
  readonly reported: readonly UdpAddr[];
  /** The relays the host named in its last update (IPv4 and IPv6 overlay addresses). */
  readonly relays: readonly VpnIp[];
  /** Its certificate's name, for the lighthouse DNS (serve_dns) of the other lighthouses. */
  readonly name?: string;
}

/** A host another lighthouse serves, as read from the tier: validated (record.ts), not yet allow-list filtered. */
export interface RemoteHost extends ServedHost {
  /** The serving lighthouse's id (`lighthouse.store.id`): where its punch requests go. */
  readonly servedBy: string;
  /** Unix ms when the serving lighthouse wrote it. */
  readonly writtenAt: number;
}

/** Another lighthouse asks the one serving `target` to tell it to punch toward `asker` (a HostPunchNotification). */
export interface PunchRequest {
  readonly target: VpnIp;
  /** The asker's primary address. */
  readonly asker: VpnIp;
  /**
   * All of the asker's overlay addresses, `asker` first (absent from older writers: just `asker`): what it is named
   * by (the rate limit's key is the address named), and what remote_allow_list judges its addresses by (every one).
   */
  readonly askers?: readonly VpnIp[];
  readonly askerAddrs: readonly UdpAddr[];
}

/** The lighthouse server's side, which a store calls. */
export interface StoreOwner {
  /** Every host this lighthouse serves now (re-written on a refresh or after the store was unreachable). */
  served(): ServedHost[];
  /** A punch request from another lighthouse for a host we serve. */
  punchRequested(request: PunchRequest): void;
}

/**
 * Contract: calls never block and never throw; a store that cannot reach its backend keeps its last view (entries
 * still expire) and catches up when it returns. `lookup` never returns an entry older than the store's TTL.
 */
export interface LighthouseStore {
  readonly kind: 'memory' | 'nats';
  /**
   * Whether `changed` publishes the served hosts' records (to a tier). The server builds the records only for a store
   * that does: on a lone lighthouse they would be garbage on every update of every node.
   */
  readonly publishes: boolean;
  attach(owner: StoreOwner): void;
  /** A served host's record changed (an update, a new learned address). */
  changed(host: ServedHost): void;
  /** The host's tunnel to us is gone: its record, if still ours, is removed. */
  withdraw(vpnIp: VpnIp): void;
  /** A host another lighthouse serves, if known and fresh. */
  lookup(vpnIp: VpnIp): RemoteHost | undefined;
  /** The fresh hosts other lighthouses serve. */
  remoteHosts(): Iterable<RemoteHost>;
  /** The fresh hosts other lighthouses serve named `name` (any ASCII case), a few at most (for serve_dns). */
  remoteHostsNamed(name: string): Iterable<RemoteHost>;
  /** Sends `request` to the lighthouse `servedBy`; dropped when the store is unreachable. */
  requestPunch(servedBy: string, request: PunchRequest): void;
  close(): Promise<void>;
}

/** `lighthouse.store: memory`: one lighthouse alone, as Nebula's. */
export class MemoryStore implements LighthouseStore {
  readonly kind = 'memory';
  readonly publishes = false;
  attach(): void {}
  changed(): void {}
  withdraw(): void {}
  lookup(): undefined {
    return undefined;
  }
  remoteHosts(): Iterable<RemoteHost> {
    return [];
  }
  remoteHostsNamed(): Iterable<RemoteHost> {
    return [];
  }
  requestPunch(): void {}
  async close(): Promise<void> {}
}
