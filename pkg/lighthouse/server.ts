// The lighthouse role: remembers, for every host with a tunnel to us, the address we see it from (learned) and
// the addresses it reports; answers queries with both; and tells the queried host to punch back toward the
// querier, so that both NATs open without anyone logging in to either side.
//
// Mesh only, the push: when a host's addresses change (it restarted on another port, moved, its NAT rebound), the
// mesh hosts that asked about it recently get the new ones at once in a HostMovedNotification (type 4, laid out
// as a HostQueryReply; Nebula 1.6.1 defines the type and does nothing with it), instead of sending to the dead
// address until their tunnel times out; and, as for a query, the moved host is told to punch toward each of them.
// A host is known to run mesh when it asks about itself (mesh nodes do on every lighthouse tunnel, to learn their
// NAT mapping; Nebula never does). Each query pays for at most one push (and its punch notification): an asker is
// forgotten once pushed to, so pushes never outnumber the queries that asked for them.
//
// Versions (docs/wire-format.md): a query is answered, and an update acknowledged, in the layout of the request (v1 or
// the v2 layout of Nebula 1.10+); a punch notification or push goes in the layout of the receiving host's tunnel.
// Every accepted update draws a HostUpdateNotificationAck, as from Nebula 1.7 (smaller than the update, one per update):
// the client's tunnel hears back, so its liveness check needs no test packet (datapath/liveness.ts).
//
// Several overlay addresses (docs/ipv6.md), as Nebula 1.10's lighthouse: a host is known under every address of
// its tunnel (the hostmap finds it by any) and its entry lives under its primary one; a query for any address is
// answered naming the address asked for. A v1 message cannot name an IPv6 host: a punch notification or push that
// would need one is skipped and counted ('v1-ipv6-skipped'), and IPv6 relays are left out of v1 answers.

import { sameBytes } from '../bytes/same-bytes.js';
import { systemClock, type Clock } from '../clock/clock.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import type { TunnelEvents } from '../hostmap/hostmap.js';
import type { IpPrefix } from '../ip/prefix.js';
import type { VpnIp } from '../ip/vpn-ip.js';
import type { Counters } from '../metrics/counters.js';
import { addrKey, isIpv6Addr, type UdpAddr } from '../udp/addr.js';
import { OncePerTurn } from '../schedule/once-per-turn.js';
import { isTcpAddr } from '../tcp/tcp-addr.js';
import {
  fitsLayout,
  layout,
  MetaType,
  SEEN_FIRST_V4,
  SEEN_FIRST_V6,
  type MetaMessage,
  type MetaVersion,
} from './meta.js';
import type { MetaSender } from './meta-sender.js';
import { addrsOf, firstIpv4, isAddrOf, underlayInNetworks } from './overlay-networks.js';
import { MemoryStore, type LighthouseStore, type ServedHost } from './store/store.js';
import { TierPunchLimiter } from './store/punch-limit.js';
import { answerFromTier, servedHosts, tierPunch } from './store/tier.js';

/** Nebula keeps at most 10 reported addresses per host. */
export const MAX_REPORTED = 10;
/**
 * Relays kept per host and family. Nebula keeps every relay an update lists; each is repeated in every answer about
 * the host, so a host could make a small query draw a reply of kilobytes. Real nodes list a handful.
 */
export const MAX_RELAYS = 16;
/** Push: the most recent mesh askers remembered per host. */
export const PUSH_ASKERS_PER_HOST = 32;
/** Push: how long an asker is remembered (a tunnel built on the answer may live long; its path may die later). */
export const PUSH_ASKER_TTL_MS = 600_000;
/** Push: hosts whose askers are remembered; the oldest watch makes room. */
export const PUSH_WATCHED_HOSTS = 4096;
/**
 * The largest host update whose bytes are kept for handleRepeatedUpdate (one per host): a node's real update is
 * ~45-150 bytes; a larger one is decoded every time instead of costing the lighthouse its size per host.
 */
export const MAX_REMEMBERED_UPDATE = 512;

interface Entry {
  reported: UdpAddr[];
  /** Of either family; an IPv6 relay is told in v2 answers only (meta.ts). */
  relays: VpnIp[];
  /** The host's last accepted update as received and as decoded (handleRepeatedUpdate); null if too large. */
  last: { bytes: Uint8Array; message: MetaMessage } | null;
}

/** Who asked about a host (asker's primary address -> when, and the address it asked by), and what we last told. */
interface Watch {
  told: string;
  askers: Map<VpnIp, { at: number; asked: VpnIp }>;
}

/** The tunnels of the hosts we serve: a host is served only while it has one, and answered on it. */
export interface ServedTunnels {
  /** The tunnel to a host by any of its overlay addresses. */
  hostFor(vpnIp: VpnIp): HostInfo | undefined;
  /** Closed tunnels: what their hosts reported goes with them. */
  readonly tunnelEvents: TunnelEvents;
}

/** Which reported addresses a host's update may store. */
export interface UpdatePolicy {
  /** Our overlay networks (all of our certificate's): reported addresses inside them are refused. */
  vpnNetworks(): readonly IpPrefix[];
  /** lighthouse.remote_allow_list (and _ranges) as configured now. */
  remoteAllowed(vpnIp: VpnIp, addr: UdpAddr): boolean;
}

export interface LighthouseServerEnv extends ServedTunnels, UpdatePolicy, MetaSender {
  readonly counters: Counters;
  readonly clock?: Clock;
  /** lighthouse.store: what the other lighthouses of a tier serve (store/store.ts); default MemoryStore (none). */
  readonly store?: LighthouseStore;
  /**
   * Hands what was sent so far to the socket now instead of at the end of the turn (the node's sends are gathered
   * into one sendmmsg per turn): a query's answer leaves before its punch notification is built, once per turn (the
   * first such answer of a receive batch). Absent: sends leave whenever the sender hands them on.
   */
  flushSends?(): void;
}

export class LighthouseServer {
  /** By the host's primary address (HostInfo.vpnIp); found by any of its addresses through hostFor. */
  private readonly entries = new Map<VpnIp, Entry>();
  /** By the watched host's primary address. */
  private readonly watches = new Map<VpnIp, Watch>();
  /** Hosts (primary addresses) with a tunnel to us that asked about themselves: they run mesh and get the push. */
  private readonly meshHosts = new Set<VpnIp>();
  /** Whether this turn's first punched query answer was already handed to the socket ahead of the turn's end. */
  private readonly answerFlush = new OncePerTurn();
  private readonly clock: Clock;
  private readonly store: LighthouseStore;
  private readonly tierPunches: TierPunchLimiter;

  constructor(private readonly env: LighthouseServerEnv) {
    this.clock = env.clock ?? systemClock;
    this.tierPunches = new TierPunchLimiter(this.clock);
    this.store = env.store ?? new MemoryStore();
    // Under every address: an entry is kept under the primary one, but forgetting the others costs nothing.
    env.tunnelEvents.onClosed((host) => {
      for (const addr of host.vpnAddrs) this.forget(addr);
    });
    this.store.attach({
      served: () => this.served(),
      punchRequested: (request) => tierPunch(env, this.tierPunches, request),
    });
  }

  /**
   * `payload`: the bytes `m` was decoded from, if the caller has them; a host update's are kept so that the next one
   * with the same bytes can skip the decoding (handleRepeatedUpdate).
   */
  handle(from: HostInfo, m: MetaMessage, payload?: Uint8Array): void {
    switch (m.type) {
      case MetaType.HostUpdateNotification:
        return this.update(from, m, payload);
      case MetaType.HostQuery:
        return this.query(from, m.vpnIp, m.version ?? 1);
      default:
        this.env.counters.inc('lighthouse', `ignored-${MetaType[m.type] ?? m.type}`);
    }
  }

  /**
   * Nodes repeat the same update every 10 s: one whose bytes are those of the host's last accepted update is handled
   * as that update's decoded message, without decoding it again (bench/lh-update-cost.ts, in process: 4.6-5.5 ->
   * 0.6-0.9 us and 3440 -> 419 bytes of garbage per update; the decoding was most of both). The same message goes
   * the same way through update(): the sender's address checked, the policy judged anew (remote_allow_list may have
   * been reloaded), acked, pushed.
   * False: not such a repeat; the caller decodes and calls handle().
   */
  handleRepeatedUpdate(from: HostInfo, payload: Uint8Array): boolean {
    const entry = this.entries.get(from.vpnIp);
    const last = entry?.last;
    if (!last || !sameBytes(last.bytes, payload)) return false;
    this.update(from, last.message, payload, entry);
    return true;
  }

  private update(
    from: HostInfo,
    m: MetaMessage,
    payload: Uint8Array | undefined,
    known: Entry | undefined = this.entries.get(from.vpnIp),
  ): void {
    // As Nebula: a v1 update names its sender in field 1; a v2 update may leave its VpnAddr out (then it is v2).
    // A named update must name one of the sender's addresses (Nebula 1.10: any of fromVpnAddrs).
    const version: MetaVersion = m.version ?? (m.vpnIp === 0 ? 2 : 1);
    const named = version === 1 || m.vpnIp !== 0;
    if (named && !isAddrOf(from, m.vpnIp)) return this.env.counters.inc('drops', 'lighthouse-update-wrong-vpnip');
    const networks = this.env.vpnNetworks();
    // Nodes repeat the same update every 10 s: the entry it would make is the one kept, which then stays (no
    // garbage per update, and no young entry to promote to the old generation).
    let entry = known;
    if (!entry || !this.sameEntry(from, m, networks, entry)) {
      const reported = capPerFamily(m.addrs).filter((a) => this.mayStore(from, a, networks));
      // At most MAX_RELAYS of each family (docs/security-model.md).
      const relays = [
        ...m.relays.filter((r) => typeof r === 'number').slice(0, MAX_RELAYS),
        ...m.relays.filter((r) => typeof r === 'string').slice(0, MAX_RELAYS),
      ];
      entry = { reported, relays, last: null };
      this.entries.set(from.vpnIp, entry);
    }
    if (payload !== undefined) remember(entry, m, payload);
    // Records are built only for a store that publishes them (a tier's, store/store.ts), not as garbage on every
    // update of every node.
    if (this.store.publishes) for (const served of servedHosts(from, entry)) this.store.changed(served);
    this.env.counters.inc('lighthouse', 'update');
    // v1 names the host (its first address, IPv4 on a v1 tunnel), as Nebula 1.7+ does; v2 is blank.
    const ackNames = version === 1 ? firstIpv4(addrsOf(from)) : 0;
    if (ackNames === undefined) this.env.counters.inc('lighthouse', 'v1-ipv6-skipped');
    else this.env.send(from, ackMessage(ackNames, version));
    this.pushIfMoved(from);
  }

  /** Whether an update may store `a`: outside our overlay networks and allowed by remote_allow_list. */
  private mayStore(from: HostInfo, a: UdpAddr, networks: readonly IpPrefix[]): boolean {
    if (underlayInNetworks(a, networks)) return false;
    // Every address of the sender, as the handshake judges it (Nebula 1.10 AllowAll over its addresses).
    for (const ip of addrsOf(from)) if (!this.env.remoteAllowed(ip, a)) return false;
    return true;
  }

  /**
   * Whether update `m` makes exactly `entry` (the same addresses and relays in the same order), judged as the update
   * path judges it, policy included (remote_allow_list may have been reloaded), without building anything.
   */
  private sameEntry(from: HostInfo, m: MetaMessage, networks: readonly IpPrefix[], entry: Entry): boolean {
    let kept = 0;
    // capPerFamily's order: the first MAX_REPORTED IPv4 addresses, then the first MAX_REPORTED IPv6 ones.
    for (let pass = 0; pass < 2; pass++) {
      let taken = 0;
      for (const a of m.addrs) {
        if (isIpv6Addr(a) !== (pass === 1)) continue;
        if (taken++ === MAX_REPORTED) break;
        if (!this.mayStore(from, a, networks)) continue;
        const had = entry.reported[kept++];
        if (had === undefined || had.port !== a.port || had.address !== a.address) return false;
      }
    }
    if (kept !== entry.reported.length) return false;
    kept = 0;
    for (let pass = 0; pass < 2; pass++) {
      let taken = 0;
      for (const r of m.relays) {
        if ((typeof r === 'string') !== (pass === 1)) continue;
        if (taken++ === MAX_RELAYS) break;
        if (entry.relays[kept++] !== r) return false;
      }
    }
    return kept === entry.relays.length;
  }

  /** Tells the recent mesh askers about `host` its new addresses, if they differ from what we last told. */
  private pushIfMoved(host: HostInfo): void {
    const watch = this.watches.get(host.vpnIp);
    if (!watch) return;
    const addrs = this.addressesOf(host);
    const told = addrs.map(addrKey).join(',');
    if (told === watch.told) return;
    watch.told = told;
    const now = this.clock.now();
    for (const [asker, { at, asked }] of watch.askers) {
      watch.askers.delete(asker);
      if (now - at > PUSH_ASKER_TTL_MS) continue;
      const askerHost = this.env.hostFor(asker);
      if (!askerHost || !this.meshHosts.has(asker)) continue;
      // As for the query it answers: the moved host punches toward the asker, whose handshake then gets through
      // the moved host's new NAT mapping (sent first: it has the shorter way to go).
      this.sendPunchNotification(host, askerHost);
      // Named by the address the asker asked by, in the layout of the asker's tunnel (the query's, as a rule).
      const version = tunnelVersion(askerHost);
      if (!fitsLayout(asked, version)) {
        this.env.counters.inc('lighthouse', 'v1-ipv6-skipped');
        continue;
      }
      const relays = this.relaysFor(host.vpnIp);
      this.env.send(askerHost, {
        type: MetaType.HostMovedNotification,
        vpnIp: asked,
        addrs,
        relays,
        seen: this.seenOf(host),
        ...layout(version),
      });
      this.env.counters.inc('lighthouse', 'push-sent');
    }
  }

  /** Remembers that `asker` was told `addrs` about `target` (a primary address) when it asked by `asked`, for the push. */
  private watch(asker: VpnIp, target: VpnIp, asked: VpnIp, addrs: readonly UdpAddr[]): void {
    let watch = this.watches.get(target);
    if (watch)
      this.watches.delete(target); // re-inserted: the map stays in order of last use
    else if (this.watches.size >= PUSH_WATCHED_HOSTS) {
      const oldest = this.watches.keys().next().value;
      if (oldest !== undefined) this.watches.delete(oldest);
    }
    watch ??= { told: '', askers: new Map() };
    this.watches.set(target, watch);
    watch.told = addrs.map(addrKey).join(',');
    watch.askers.delete(asker);
    watch.askers.set(asker, { at: this.clock.now(), asked });
    if (watch.askers.size > PUSH_ASKERS_PER_HOST) {
      const oldest = watch.askers.keys().next().value;
      if (oldest !== undefined) watch.askers.delete(oldest);
    }
  }

  private addressesOf(host: HostInfo): UdpAddr[] {
    const reported = this.entries.get(host.vpnIp)?.reported ?? NO_ADDRS;
    // A host attached over TCP (pkg/tcp) is reached through its relays only: its virtual address is no UDP address.
    const learned = host.remote && !isTcpAddr(host.remote) ? host.remote : null;
    // v4 first then v6, each learned-then-reported, duplicates kept: what Nebula 1.6.1 sends. One array, built in
    // two passes (every query builds two of these: the answer's and the punch notification's).
    const out: UdpAddr[] = [];
    for (let pass = 0; pass < 2; pass++) {
      const v6 = pass === 1;
      if (learned !== null && learned.address.includes(':') === v6) out.push(learned);
      for (const a of reported) if (a.address.includes(':') === v6) out.push(a);
    }
    return out;
  }

  /** SEEN_* bits for a reply about `host`: only a direct tunnel shows us its source address (see meta.ts). */
  private seenOf(host: HostInfo): number {
    if (!host.remote || isTcpAddr(host.remote)) return 0;
    return host.remote.address.includes(':') ? SEEN_FIRST_V6 : SEEN_FIRST_V4;
  }

  /** The relays told about a host (by its primary address); encodeMeta leaves IPv6 ones out of a v1 message. */
  private relaysFor(primary: VpnIp): VpnIp[] {
    return this.entries.get(primary)?.relays ?? [];
  }

  private query(from: HostInfo, target: VpnIp, version: MetaVersion): void {
    this.env.counters.inc('lighthouse', 'query');
    const aboutSelf = isAddrOf(from, target);
    if (aboutSelf) this.meshHosts.add(from.vpnIp);
    // The hostmap finds a tunnel by any of its addresses, so a query by any address is answered (Nebula 1.10).
    const targetHost = this.env.hostFor(target);
    // Not ours: another lighthouse of the tier may serve it (store/tier.ts); our own view always comes first.
    if (!targetHost) return answerFromTier(this.env, this.store, from, target, version, () => this.addressesOf(from));
    const addrs = this.addressesOf(targetHost);
    // Named by the address asked for, as Nebula does; a v1 query can only have asked by an IPv4 address. One literal
    // per layout, not a spread of layout(version) (see ackMessage).
    const type = MetaType.HostQueryReply;
    const relays = this.relaysFor(targetHost.vpnIp);
    const seen = this.seenOf(targetHost);
    this.env.send(
      from,
      version === 2
        ? { type, vpnIp: target, addrs, relays, seen, version }
        : { type, vpnIp: target, addrs, relays, seen },
    );
    // Asking about ourselves (mesh nodes do, to learn how their NAT maps them) needs no punch.
    if (aboutSelf) return;
    // The asker's handshake waits on the answer; the punch notification and the bookkeeping wait on nothing: the
    // answer leaves first, on its own. Only the first answer of a turn (a receive batch): the rest of a burst of
    // queries leave with the batch's end-of-turn sendmmsg, so a burst costs one extra system call, not one per query.
    if (this.answerFlush.take()) this.env.flushSends?.();
    if (this.meshHosts.has(from.vpnIp)) this.watch(from.vpnIp, targetHost.vpnIp, target, addrs);
    this.sendPunchNotification(targetHost, from);
  }

  /**
   * Tells `target` to punch toward `querier`, naming the querier by an address the target can use: Nebula 1.10 picks
   * the first of the querier's addresses inside the target's certificate networks; we pick the first of the
   * querier's addresses of a family the target's own addresses have (the target's networks, as far as the tunnel
   * shows them), else, as Nebula, its primary one; a v1 tunnel can only name an IPv4 address (none: skipped, counted).
   */
  private sendPunchNotification(target: HostInfo, querier: HostInfo): void {
    const version = tunnelVersion(target);
    const named = punchName(addrsOf(target), addrsOf(querier), version);
    if (named === undefined) return this.env.counters.inc('lighthouse', 'v1-ipv6-skipped');
    const type = MetaType.HostPunchNotification;
    const addrs = this.addressesOf(querier);
    // One literal per layout, not a spread of layout(version) (see ackMessage).
    this.env.send(
      target,
      version === 2
        ? { type, vpnIp: named, addrs, relays: NO_RELAYS, version }
        : { type, vpnIp: named, addrs, relays: NO_RELAYS },
    );
  }

  /**
   * The tunnel to a host is gone (`vpnIp`: its primary address). Who asked about it stays remembered: they want to
   * hear where it comes back.
   */
  forget(vpnIp: VpnIp): void {
    this.entries.delete(vpnIp);
    this.meshHosts.delete(vpnIp);
    this.store.withdraw(vpnIp);
  }

  /** The hosts we serve, as the tier's store writes them: those that sent an update and still have a tunnel. */
  private served(): ServedHost[] {
    const out: ServedHost[] = [];
    for (const [vpnIp, entry] of this.entries) {
      const host = this.env.hostFor(vpnIp);
      if (host) out.push(...servedHosts(host, entry));
    }
    return out;
  }

  /** What the host of the tunnel with primary address `vpnIp` reported. */
  reportedOf(vpnIp: VpnIp): readonly UdpAddr[] {
    return this.entries.get(vpnIp)?.reported ?? [];
  }
}

/**
 * Keeps `payload` (copied: it may be a view into a shared pool) and `m` as the entry's last update, up to the size
 * bound.
 */
function remember(entry: Entry, m: MetaMessage, payload: Uint8Array): void {
  if (payload.length > MAX_REMEMBERED_UPDATE) entry.last = null;
  else if (entry.last === null || !sameBytes(entry.last.bytes, payload))
    entry.last = { bytes: Uint8Array.from(payload), message: m };
}

/**
 * Which of the querier's addresses a punch notification names (sendPunchNotification): the first that fits the
 * layout and is of a family the target has, else the first that fits; undefined if none fits.
 */
function punchName(
  targetAddrs: readonly VpnIp[],
  querierAddrs: readonly VpnIp[],
  version: MetaVersion,
): VpnIp | undefined {
  let first: VpnIp | undefined;
  for (const a of querierAddrs) {
    if (!fitsLayout(a, version)) continue;
    first ??= a;
    for (const t of targetAddrs) if (typeof t === typeof a) return a;
  }
  return first;
}

/** Shared by every ack: an encoder only reads a message's lists. */
const NO_ADDRS: UdpAddr[] = [];
const NO_RELAYS: VpnIp[] = [];

/**
 * A HostUpdateNotificationAck naming `vpnIp` (0: blank) in layout `version`: one object literal per layout, not a
 * spread of layout(version) into a new one per update (a copy through V8's generic CopyDataProperties each time).
 */
function ackMessage(vpnIp: VpnIp, version: MetaVersion): MetaMessage {
  const type = MetaType.HostUpdateNotificationAck;
  if (version === 2) return { type, vpnIp, addrs: NO_ADDRS, relays: NO_RELAYS, version: 2 };
  return { type, vpnIp, addrs: NO_ADDRS, relays: NO_RELAYS };
}

/** Nebula keeps up to MAX_REPORTED addresses of each family, taken before any filtering. */
export function capPerFamily(addrs: readonly UdpAddr[]): UdpAddr[] {
  const v4 = addrs.filter((a) => !a.address.includes(':')).slice(0, MAX_REPORTED);
  const v6 = addrs.filter((a) => a.address.includes(':')).slice(0, MAX_REPORTED);
  return [...v4, ...v6];
}

/** The layout of lighthouse messages on a tunnel: its certificate version (HostInfo.certVersion). */
export function tunnelVersion(host: HostInfo): MetaVersion {
  return host.certVersion ?? 1;
}
