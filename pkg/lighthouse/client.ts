// The node side of discovery (docs/wire-format.md, "Lighthouse messages"): reports our addresses to every lighthouse,
// asks them where a peer is, keeps their answers per lighthouse, and punches back when a lighthouse says someone is
// trying to reach us. Answers and punch notifications are accepted only from configured lighthouses.
//
// Every message to a lighthouse goes in the layout of its tunnel (v1, or the v2 layout on a tunnel made with v2
// certificates, as Nebula 1.10+ sends). A v2 update leaves VpnAddr out, as Nebula's does. The lighthouse's
// HostUpdateNotificationAck (Nebula 1.7+, and mesh lighthouses) needs no action: like any packet on the tunnel it
// tells the liveness check that the tunnel works, so no test packet follows the update.
//
// IPv6 overlay addresses (docs/ipv6.md), as Nebula 1.10's client: a query about an IPv6 host is not sent to a
// lighthouse whose tunnel is v1 (a v1 query names a uint32), a v1 update names our first address and is not sent
// when that is IPv6, and a v1 update lists only our IPv4 relays. Each skip is counted ('v1-ipv6-skipped').
// Answers are kept under the address they name (the one asked by).

import type { Clock } from '../clock/clock.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import type { TunnelEvents } from '../hostmap/hostmap.js';
import type { IpPrefix } from '../ip/prefix.js';
import type { VpnIp } from '../ip/vpn-ip.js';
import type { Counters } from '../metrics/counters.js';
import type { UdpAddr } from '../udp/addr.js';
import { fitsLayout, layout, MetaType, SEEN_FIRST_V4, type MetaMessage } from './meta.js';
import type { MetaSender } from './meta-sender.js';
import { addrsOf, underlayInNetworks } from './overlay-networks.js';
import { reportedAddresses } from '../punchy/punch-needed.js';
import { capPerFamily, tunnelVersion } from './server.js';

/** Nebula waits 5 s after a punch notification before it handshakes from its side (punchy.respond); 1.7+ reads
 * the wait from punchy.respond_delay. */
export const RESPOND_DELAY_MS = 5000;
/**
 * An answer tells what the peer's relays are (hasAnswer) for this long after it came. A peer reports its relays to
 * the lighthouses with every update, every lighthouse.interval (10 s by default), so an older answer may lack some it
 * reported since; a first contact's handshake (5.5 s at Nebula's default timing, asking again every second attempt)
 * ends well within it.
 */
export const ANSWER_FRESH_MS = 10_000;

/** The tunnels the client talks on: to the lighthouses, and to the hosts a lighthouse is recognised by. */
export interface LighthouseTunnels {
  /** lighthouse.hosts as configured now (a reload may change them). */
  lighthouses(): readonly VpnIp[];
  /** The tunnel to a host by any of its overlay addresses: queries and updates go on a lighthouse's. */
  hostFor(vpnIp: VpnIp): HostInfo | undefined;
  /** A lighthouse we have no tunnel to: start one (none when a tunnel exists); what waits for it goes when it is up. */
  startHandshake(vpnIp: VpnIp): void;
}

/** What we tell the lighthouses about ourselves, and what we accept in their answers about others. */
export interface SelfReport {
  /** Our overlay addresses, primary first (LocalIdentity.vpnAddrs): an answer about one is an answer about us. */
  vpnAddrs(): readonly VpnIp[];
  /** Our overlay networks: an answer's underlay address inside one is no way to reach anybody. */
  vpnNetworks(): readonly IpPrefix[];
  /** The underlay addresses an update reports (local_allow_list applied, advertise_addrs and a port mapping added). */
  ownAddresses(): UdpAddr[];
  /** The relays an update names for us (peers reach us through them). */
  relays(): VpnIp[];
  /** lighthouse.remote_allow_list (and _ranges): an answered address the operator ruled out is never tried. */
  remoteAllowed(vpnIp: VpnIp, addr: UdpAddr): boolean;
}

/** Answering a punch notification: a lighthouse says `vpnIp` is trying to reach us at these addresses. */
export interface PunchBack {
  /** A full-TTL punch, sent after punchy.delay as Nebula does: it helps a nebula peer too. */
  punch(addr: UdpAddr): void;
  /** Low-TTL punch: opens our NAT toward `addr` at once without reaching the far NAT. */
  openMapping(addr: UdpAddr): void;
  /** punchy.respond: a test request on the tunnel to `vpnIp`, or a handshake when there is none. */
  sendTestRequestTo(vpnIp: VpnIp): void;
}

/** punchy.delay, .respond and .respond_delay as configured now: read at each notification, so a reload applies. */
export interface PunchSettings {
  punchDelayMs(): number;
  respond(): boolean;
  /** punchy.respond_delay (Nebula 1.7+); RESPOND_DELAY_MS when absent. */
  respondDelayMs?(): number;
}

/** What the answers mean to the rest of the node (path finding, the handshake retries, port mapping). */
export interface LighthouseClientEvents {
  /** A lighthouse told us where `vpnIp` is (new handshake candidates, or a direct path for a relayed tunnel). */
  learned(vpnIp: VpnIp): void;
  /** A lighthouse pushed new addresses of `vpnIp` (see server.ts): a tunnel not at one of them has lost its path. */
  moved?(vpnIp: VpnIp, addrs: readonly UdpAddr[]): void;
  /** A lighthouse answered about us (where it sees us may have changed). */
  selfSeen?(): void;
}

export interface LighthouseClientEnv
  extends LighthouseTunnels, SelfReport, MetaSender, PunchBack, PunchSettings, LighthouseClientEvents {
  /** Runs `fn` later unless the node stopped (the delayed punch and respond). */
  schedule(ms: number, fn: () => void): void;
  /** When each answer came (hasAnswer goes by its age). */
  clock: Clock;
  counters: Counters;
  /** Closed tunnels: the answers about their hosts go with them. */
  tunnelEvents: TunnelEvents;
}

export class LighthouseClient {
  /** vpnIp -> answering lighthouse -> its answer (each lighthouse's answer replaces its previous one). */
  private readonly answers = new Map<VpnIp, Map<VpnIp, Answer>>();
  /** vpnIp -> answering lighthouse -> the addresses the host reported as its own (see `reportedOf`). */
  private readonly reported = new Map<VpnIp, Map<VpnIp, UdpAddr[]>>();
  private readonly relaysOf = new Map<VpnIp, VpnIp[]>();
  private readonly queuedQueries = new Set<VpnIp>();
  /** What the lighthouses say about us: the address they see us from first (a lighthouse answers for anyone). */
  private self: UdpAddr[] = [];
  private selfView: UdpAddr[] = [];

  constructor(private readonly env: LighthouseClientEnv) {
    // Under every address: an answer is kept under the address it was asked by.
    env.tunnelEvents.onClosed((host) => {
      for (const addr of host.vpnAddrs) this.forget(addr);
    });
  }

  /**
   * Whether `vpnIp` is a configured lighthouse, or an address of a tunnel to one: a dual-stack lighthouse configured
   * by its IPv6 address has a tunnel whose primary address may be its IPv4 one (Nebula: IsAnyLighthouseAddr).
   */
  isLighthouse(vpnIp: VpnIp): boolean {
    const lighthouses = this.env.lighthouses();
    if (lighthouses.includes(vpnIp)) return true;
    const host = this.env.hostFor(vpnIp);
    return host !== undefined && this.isLighthouseHost(host);
  }

  /** Whether a tunnel is to a lighthouse: by any of its addresses (a lighthouse may be configured by its second one). */
  isLighthouseHost(host: HostInfo): boolean {
    const lighthouses = this.env.lighthouses();
    return addrsOf(host).some((a) => lighthouses.includes(a));
  }

  /** Our primary address (the first of our overlay addresses). */
  private myVpnIp(): VpnIp {
    return this.env.vpnAddrs()[0] ?? 0;
  }

  query(target: VpnIp): void {
    if (this.isLighthouse(target)) return;
    for (const lh of this.env.lighthouses()) {
      const host = this.env.hostFor(lh);
      if (host) {
        if (!this.sendQuery(host, target)) continue;
        this.env.counters.inc('lighthouse', 'query-sent');
      } else {
        this.queuedQueries.add(target);
        this.env.startHandshake(lh);
      }
    }
  }

  /** Periodic and on-demand HostUpdateNotification to every lighthouse. */
  sendUpdate(): void {
    for (const lh of this.env.lighthouses()) {
      const host = this.env.hostFor(lh);
      if (host) this.sendUpdateTo(host);
      else this.env.startHandshake(lh);
    }
  }

  private sendUpdateTo(host: HostInfo): void {
    const version = tunnelVersion(host);
    // v1 names our first address (Nebula: myVpnNetworks[0]) and cannot when it is IPv6; v2 names nobody.
    const me = this.myVpnIp();
    if (version === 1 && !fitsLayout(me, 1)) return this.env.counters.inc('lighthouse', 'v1-ipv6-skipped');
    this.env.send(host, {
      type: MetaType.HostUpdateNotification,
      vpnIp: version === 1 ? me : 0,
      addrs: this.env.ownAddresses(),
      relays: this.env.relays(),
      ...layout(version),
    });
    this.env.counters.inc('lighthouse', 'update-sent');
  }

  /** A query about `target` on the tunnel `lighthouse`, unless its layout cannot name it (counted). */
  private sendQuery(lighthouse: HostInfo, target: VpnIp): boolean {
    const version = tunnelVersion(lighthouse);
    if (!fitsLayout(target, version)) {
      this.env.counters.inc('lighthouse', 'v1-ipv6-skipped');
      return false;
    }
    this.env.send(lighthouse, { type: MetaType.HostQuery, vpnIp: target, addrs: [], relays: [], ...layout(version) });
    return true;
  }

  /** Our own addresses as a lighthouse sees them (learned first, then reported); empty until it answered. */
  selfAddresses(): readonly UdpAddr[] {
    return this.self;
  }

  /** Our own IPv4 NAT view (as `natViewOf`); empty unless a mesh lighthouse said which address it saw. */
  selfNatView(): readonly UdpAddr[] {
    return this.selfView;
  }

  /**
   * A peer's IPv4 addresses as the first lighthouse that saw it answered: the address that lighthouse saw its
   * packets come from first, then the ones the peer reported. Empty when no lighthouse marked an address as seen
   * (meta.ts SEEN_FIRST_V4): then every address is only the peer's own claim, which may name anybody.
   */
  natViewOf(vpnIp: VpnIp): readonly UdpAddr[] {
    const perLighthouse = this.answers.get(vpnIp);
    if (!perLighthouse) return [];
    for (const answer of perLighthouse.values()) if (answer.seenV4) return natView(answer.addrs);
    return [];
  }

  /**
   * Asks every lighthouse we have a tunnel to where it sees us now. After our addresses changed the answer at start
   * is stale: port mapping (portmap/advertise.ts) and punching compare against it.
   */
  askAboutSelf(): void {
    for (const lh of this.env.lighthouses()) {
      const host = this.env.hostFor(lh);
      if (host) this.sendQuery(host, this.myVpnIp());
    }
  }

  /** A tunnel to a lighthouse came up: report ourselves and ask what was waiting for it. */
  lighthouseUp(host: HostInfo): void {
    this.sendUpdateTo(host);
    // Asking about ourselves tells us how our NAT maps us (see punchy/birthday.ts).
    this.sendQuery(host, this.myVpnIp());
    for (const target of this.queuedQueries) this.sendQuery(host, target);
    this.queuedQueries.clear();
  }

  handle(from: HostInfo, m: MetaMessage): void {
    if (!this.isLighthouseHost(from)) return this.env.counters.inc('drops', 'lighthouse-reply-not-from-lighthouse');
    if (m.type === MetaType.HostQueryReply) return this.reply(from.vpnIp, m);
    if (m.type === MetaType.HostMovedNotification) return this.pushed(from.vpnIp, m);
    if (m.type === MetaType.HostPunchNotification) return this.punchBack(m);
    if (m.type === MetaType.HostUpdateNotificationAck) return this.env.counters.inc('lighthouse', 'update-ack');
    this.env.counters.inc('lighthouse', `ignored-${MetaType[m.type] ?? m.type}`);
  }

  private usable(vpnIp: VpnIp, a: UdpAddr, networks: readonly IpPrefix[]): boolean {
    if (underlayInNetworks(a, networks)) return false;
    return a.port !== 0 && this.env.remoteAllowed(vpnIp, a);
  }

  private reply(lighthouse: VpnIp, m: MetaMessage): void {
    if (this.env.vpnAddrs().includes(m.vpnIp)) {
      this.self = m.addrs;
      const capped = capPerFamily(m.addrs);
      this.selfView = seenFirstV4(m, capped, () => true) ? natView(capped) : [];
      this.env.selfSeen?.();
      return;
    }
    if (this.isLighthouse(m.vpnIp)) return;
    const networks = this.env.vpnNetworks();
    const usable = (a: UdpAddr): boolean => this.usable(m.vpnIp, a, networks);
    const capped = capPerFamily(m.addrs);
    perLighthouseOf(this.answers, m.vpnIp).set(lighthouse, {
      addrs: capped.filter(usable),
      seenV4: seenFirstV4(m, capped, usable),
      at: this.env.clock.now(),
    });
    perLighthouseOf(this.reported, m.vpnIp).set(
      lighthouse,
      reportedAddresses(capPerFamily(m.addrs), m.seen ?? 0).filter(usable),
    );
    if (m.relays.length > 0) this.relaysOf.set(m.vpnIp, m.relays);
    this.env.counters.inc('lighthouse', 'reply');
    this.env.learned(m.vpnIp);
  }

  /** A mesh lighthouse's push (server.ts): an answer we did not ask for just now, taken as one. */
  private pushed(lighthouse: VpnIp, m: MetaMessage): void {
    if (this.env.vpnAddrs().includes(m.vpnIp) || this.isLighthouse(m.vpnIp))
      return this.env.counters.inc('drops', 'lighthouse-push-ignored');
    this.env.counters.inc('lighthouse', 'push');
    this.reply(lighthouse, m);
    this.env.moved?.(m.vpnIp, this.answers.get(m.vpnIp)?.get(lighthouse)?.addrs ?? []);
  }

  private punchBack(m: MetaMessage): void {
    if (this.env.vpnAddrs().includes(m.vpnIp)) return this.env.counters.inc('drops', 'lighthouse-punch-for-self');
    this.env.counters.inc('lighthouse', 'punch-notification');
    const networks = this.env.vpnNetworks();
    const addrs = m.addrs.filter((a) => this.usable(m.vpnIp, a, networks));
    // Open our NAT now (mesh); the full-TTL punch after punchy.delay is Nebula's and still helps a nebula peer.
    for (const a of addrs) this.env.openMapping(a);
    this.env.schedule(this.env.punchDelayMs(), () => {
      for (const a of addrs) this.env.punch(a);
    });
    const respondDelay = this.env.respondDelayMs?.() ?? RESPOND_DELAY_MS;
    if (this.env.respond()) this.env.schedule(respondDelay, () => this.env.sendTestRequestTo(m.vpnIp));
  }

  addressesOf(vpnIp: VpnIp): UdpAddr[] {
    const perLighthouse = this.answers.get(vpnIp);
    if (!perLighthouse) return [];
    return [...perLighthouse.values()].flatMap((answer) => answer.addrs);
  }

  /** The addresses a peer reported as its own interface addresses, as far as the lighthouses' answers tell. */
  reportedOf(vpnIp: VpnIp): UdpAddr[] {
    const perLighthouse = this.reported.get(vpnIp);
    return perLighthouse ? [...perLighthouse.values()].flat() : [];
  }

  relaysFor(vpnIp: VpnIp): readonly VpnIp[] {
    return this.relaysOf.get(vpnIp) ?? [];
  }

  /**
   * Whether a lighthouse told us about `vpnIp` (answered a query or pushed its addresses) within ANSWER_FRESH_MS and
   * since its tunnel last closed: then `relaysFor` is what the lighthouses know, an empty list included. An older
   * answer (a lookup whose handshake failed, hours before the tunnel that is made now) says nothing of relays the
   * peer gained since; its addresses stay handshake candidates all the same.
   */
  hasAnswer(vpnIp: VpnIp): boolean {
    const perLighthouse = this.answers.get(vpnIp);
    if (!perLighthouse) return false;
    const now = this.env.clock.now();
    for (const answer of perLighthouse.values()) if (now - answer.at < ANSWER_FRESH_MS) return true;
    return false;
  }

  forget(vpnIp: VpnIp): void {
    this.answers.delete(vpnIp);
    this.reported.delete(vpnIp);
    this.relaysOf.delete(vpnIp);
  }
}

function perLighthouseOf<T>(map: Map<VpnIp, Map<VpnIp, T>>, vpnIp: VpnIp): Map<VpnIp, T> {
  let perLighthouse = map.get(vpnIp);
  if (!perLighthouse) {
    perLighthouse = new Map();
    map.set(vpnIp, perLighthouse);
  }
  return perLighthouse;
}

/** One lighthouse's answer about a host: its usable addresses, in the order the lighthouse gave them. */
interface Answer {
  addrs: UdpAddr[];
  /** The first IPv4 address of `addrs` is the one the lighthouse saw the host's packets come from. */
  seenV4: boolean;
  /** When it came (env.clock). */
  at: number;
}

/**
 * Whether a reply marks its first IPv4 address (of `capped`, its addresses capped per family) as seen and that
 * address is usable: when it is not, the next one must not pass for the seen one.
 */
function seenFirstV4(m: MetaMessage, capped: readonly UdpAddr[], usable: (a: UdpAddr) => boolean): boolean {
  if (((m.seen ?? 0) & SEEN_FIRST_V4) === 0) return false;
  const first = capped.find((a) => !a.address.includes(':'));
  return first !== undefined && usable(first);
}

/** [seen, ...reported] IPv4 addresses: the NAT view of an answer whose first IPv4 address was seen. */
function natView(addrs: readonly UdpAddr[]): UdpAddr[] {
  return addrs.filter((a) => !a.address.includes(':'));
}
