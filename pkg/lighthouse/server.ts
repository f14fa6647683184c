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

import { systemClock, type Clock } from '../clock/clock.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import { netContains, parseIpv4, type Ipv4, type Ipv4Net } from '../ip/ipv4.js';
import type { Counters } from '../metrics/counters.js';
import { addrKey, type UdpAddr } from '../udp/addr.js';
import { isTcpAddr } from '../tcp/tcp-addr.js';
import type { IpAddr } from '../ip/prefix.js';
import { ipv4Of } from '../protobuf/nebula-addr.js';
import { layout, MetaType, SEEN_FIRST_V4, SEEN_FIRST_V6, type MetaMessage, type MetaVersion } from './meta.js';
import { MemoryStore, type LighthouseStore, type ServedHost } from './store/store.js';
import { answerFromTier, servedHost, tierPunch } from './store/tier.js';

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

interface Entry {
  reported: UdpAddr[];
  relays: Ipv4[];
  /** Relays with IPv6 overlay addresses (v2 updates only); told only in v2 answers. */
  relays6: IpAddr[];
}

/** Who asked about a host (asker -> when), and the addresses we last told anyone about it. */
interface Watch {
  told: string;
  askers: Map<Ipv4, number>;
}

export interface LighthouseServerEnv {
  vpnNet(): Ipv4Net;
  remoteAllowed(vpnIp: Ipv4, addr: UdpAddr): boolean;
  hostFor(vpnIp: Ipv4): HostInfo | undefined;
  send(host: HostInfo, message: MetaMessage): void;
  counters: Counters;
  clock?: Clock;
  /** lighthouse.store: what the other lighthouses of a tier serve (store/store.ts); default MemoryStore (none). */
  store?: LighthouseStore;
}

export class LighthouseServer {
  private readonly entries = new Map<Ipv4, Entry>();
  private readonly watches = new Map<Ipv4, Watch>();
  /** Hosts with a tunnel to us that asked about themselves: they run mesh and understand the push. */
  private readonly meshHosts = new Set<Ipv4>();
  private readonly clock: Clock;
  private readonly store: LighthouseStore;

  constructor(private readonly env: LighthouseServerEnv) {
    this.clock = env.clock ?? systemClock;
    this.store = env.store ?? new MemoryStore();
    this.store.attach({ served: () => this.served(), punchRequested: (request) => tierPunch(env, request) });
  }

  handle(from: HostInfo, m: MetaMessage): void {
    switch (m.type) {
      case MetaType.HostUpdateNotification:
        return this.update(from, m);
      case MetaType.HostQuery:
        return this.query(from, m.vpnIp, m.version ?? 1);
      default:
        this.env.counters.inc('lighthouse', `ignored-${MetaType[m.type] ?? m.type}`);
    }
  }

  private update(from: HostInfo, m: MetaMessage): void {
    // As Nebula: a v1 update names its sender in field 1; a v2 update may leave its VpnAddr out (then it is v2).
    const version: MetaVersion = m.version ?? (m.vpnIp === 0 ? 2 : 1);
    const named = version === 1 || m.vpnAddr !== undefined;
    const namesSender = version === 1 ? m.vpnIp === from.vpnIp : m.vpnAddr === undefined || ipv4Of(m.vpnAddr) === from.vpnIp;
    if (named && !namesSender) return this.env.counters.inc('drops', 'lighthouse-update-wrong-vpnip');
    const vpnNet = this.env.vpnNet();
    const reported = capPerFamily(m.addrs)
      .filter((a) => a.address.includes(':') || !netContains(vpnNet, parseIpv4(a.address)))
      .filter((a) => this.env.remoteAllowed(from.vpnIp, a));
    const entry = { reported, relays: m.relays.slice(0, MAX_RELAYS), relays6: (m.relays6 ?? []).slice(0, MAX_RELAYS) };
    this.entries.set(from.vpnIp, entry);
    this.store.changed(servedHost(from, entry));
    this.env.counters.inc('lighthouse', 'update');
    // v1 names the host, as Nebula 1.7+ does; v2 is blank.
    this.env.send(from, { type: MetaType.HostUpdateNotificationAck, vpnIp: version === 1 ? from.vpnIp : 0, addrs: [], relays: [], ...layout(version) });
    this.pushIfMoved(from);
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
    const message = (to: HostInfo): MetaMessage => ({
      type: MetaType.HostMovedNotification,
      vpnIp: host.vpnIp,
      addrs,
      ...this.relaysFor(host.vpnIp, tunnelVersion(to)),
      seen: this.seenOf(host),
      ...layout(tunnelVersion(to)),
    });
    for (const [asker, askedAt] of watch.askers) {
      watch.askers.delete(asker);
      if (now - askedAt > PUSH_ASKER_TTL_MS) continue;
      const askerHost = this.env.hostFor(asker);
      if (!askerHost || !this.meshHosts.has(asker)) continue;
      // As for the query it answers: the moved host punches toward the asker, whose handshake then gets through
      // the moved host's new NAT mapping (sent first: it has the shorter way to go).
      this.env.send(host, { type: MetaType.HostPunchNotification, vpnIp: asker, addrs: this.addressesOf(askerHost), relays: [], ...layout(tunnelVersion(host)) });
      this.env.send(askerHost, message(askerHost));
      this.env.counters.inc('lighthouse', 'push-sent');
    }
  }

  /** Remembers that `asker` was told `addrs` about `target`, for the push. */
  private watch(asker: Ipv4, target: Ipv4, addrs: readonly UdpAddr[]): void {
    let watch = this.watches.get(target);
    if (watch) this.watches.delete(target); // re-inserted: the map stays in order of last use
    else if (this.watches.size >= PUSH_WATCHED_HOSTS) {
      const oldest = this.watches.keys().next().value;
      if (oldest !== undefined) this.watches.delete(oldest);
    }
    watch ??= { told: '', askers: new Map() };
    this.watches.set(target, watch);
    watch.told = addrs.map(addrKey).join(',');
    watch.askers.delete(asker);
    watch.askers.set(asker, this.clock.now());
    if (watch.askers.size > PUSH_ASKERS_PER_HOST) {
      const oldest = watch.askers.keys().next().value;
      if (oldest !== undefined) watch.askers.delete(oldest);
    }
  }

  private addressesOf(host: HostInfo): UdpAddr[] {
    const entry = this.entries.get(host.vpnIp);
    // A host attached over TCP (pkg/tcp) is reached through its relays only: its virtual address is no UDP address.
    const learned = host.remote && !isTcpAddr(host.remote) ? [host.remote] : [];
    // v4 first then v6, each learned-then-reported, duplicates kept: what Nebula 1.6.1 sends.
    const all = [...learned, ...(entry?.reported ?? [])];
    return [...all.filter((a) => !a.address.includes(':')), ...all.filter((a) => a.address.includes(':'))];
  }

  /** SEEN_* bits for a reply about `host`: only a direct tunnel shows us its source address (see meta.ts). */
  private seenOf(host: HostInfo): number {
    if (!host.remote || isTcpAddr(host.remote)) return 0;
    return host.remote.address.includes(':') ? SEEN_FIRST_V6 : SEEN_FIRST_V4;
  }

  /** The relays told about `vpnIp`: IPv6 ones only in the v2 layout, which alone can carry them. */
  private relaysFor(vpnIp: Ipv4, version: MetaVersion): Pick<MetaMessage, 'relays' | 'relays6'> {
    const entry = this.entries.get(vpnIp);
    const relays = entry?.relays ?? [];
    return version === 2 && entry && entry.relays6.length > 0 ? { relays, relays6: entry.relays6 } : { relays };
  }

  private query(from: HostInfo, target: Ipv4, version: MetaVersion): void {
    this.env.counters.inc('lighthouse', 'query');
    if (from.vpnIp === target) this.meshHosts.add(from.vpnIp);
    const targetHost = this.env.hostFor(target);
    // Not ours: another lighthouse of the tier may serve it (store/tier.ts); our own view always comes first.
    if (!targetHost) return answerFromTier(this.env, this.store, from, target, version, () => this.addressesOf(from));
    const addrs = this.addressesOf(targetHost);
    this.env.send(from, {
      type: MetaType.HostQueryReply,
      vpnIp: target,
      addrs,
      ...this.relaysFor(target, version),
      seen: this.seenOf(targetHost),
      ...layout(version),
    });
    // Asking about ourselves (mesh nodes do, to learn how their NAT maps them) needs no punch.
    if (from.vpnIp === target) return;
    if (this.meshHosts.has(from.vpnIp)) this.watch(from.vpnIp, target, addrs);
    this.env.send(targetHost, {
      type: MetaType.HostPunchNotification,
      vpnIp: from.vpnIp,
      addrs: this.addressesOf(from),
      relays: [],
      ...layout(tunnelVersion(targetHost)),
    });
  }

  /** The tunnel to `vpnIp` is gone. Who asked about it stays remembered: they want to hear where it comes back. */
  forget(vpnIp: Ipv4): void {
    this.entries.delete(vpnIp);
    this.meshHosts.delete(vpnIp);
    this.store.withdraw(vpnIp);
  }

  /** The hosts we serve, as the tier's store writes them: those that sent an update and still have a tunnel. */
  private served(): ServedHost[] {
    const out: ServedHost[] = [];
    for (const [vpnIp, entry] of this.entries) {
      const host = this.env.hostFor(vpnIp);
      if (host) out.push(servedHost(host, entry));
    }
    return out;
  }

  reportedOf(vpnIp: Ipv4): readonly UdpAddr[] {
    return this.entries.get(vpnIp)?.reported ?? [];
  }
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
