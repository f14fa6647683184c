// Finding and keeping direct paths: low-TTL punches (punchy/nat-punch.ts), moving relayed tunnels to a direct
// path, birthday punching across a symmetric NAT, and refreshing every tunnel after our own address changed.
// When a path stops answering (datapath/path-health.ts) the tunnel fails over to a relay at once, asks the
// lighthouses for fresh addresses and probes them, and handshakes anew if nothing answers.

import type { DataPathContext } from '../datapath/context.js';
import { PathHealth } from '../datapath/path-health.js';
import { sendOnTunnel } from '../datapath/tunnel-sender.js';
import { MessageType, TestSubType } from '../header/header.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import { orderAddresses, type PreferredRange } from '../lighthouse/address-order.js';
import type { LighthouseClient } from '../lighthouse/client.js';
import { birthdaySides, type MeasuredMapping } from '../punchy/birthday-policy.js';
import { PUNCH_BYTE } from '../punchy/punchy.js';
import type { RelayEntry } from '../relay/relay-table.js';
import { addrKey, type UdpAddr } from '../udp/addr.js';
import type { Birthday } from './birthday.js';
import { formatVpnIp, type VpnIp } from '../ip/vpn-ip.js';

export interface PathEnv extends DataPathContext {
  readonly lighthouseClient: LighthouseClient | null;
  readonly birthday: Birthday;
  readonly punchSettleMs: number;
  /** The IP TTL of a low-TTL punch (learned per network: punchy/nat-discovery.ts). */
  punchTtl(): number;
  /** Our NAT's mapping as measured against a lighthouse's second port (punchy/nat-discovery.ts). */
  natMapping(): MeasuredMapping;
  candidates(vpnIp: VpnIp): UdpAddr[];
  preferred(): readonly PreferredRange[];
  /** Runs `fn` later unless the node stopped; a throw is logged, never fatal. */
  schedule(ms: number, fn: () => void): void;
  /**
   * A relay to `vpnIp` we could send through: one already up, one just asked for (through a relay the lighthouse
   * named for the peer), or none (no relays known, relay.use_relays off, or we are a relay).
   */
  prepareRelay(vpnIp: VpnIp): 'established' | 'requested' | 'none';
}

/** A relayed packet moves a direct tunnel to the relay only when nothing came directly for this long. */
export const RELAY_ROAM_QUIET_MS = 150;
/** Tunnels we sent on within this window count as in use: a lost local address makes them suspect at once. */
export const WARM_RELAY_RECENT_MS = 60_000;
/** While we send to a peer, whether its relay is warm is checked at most this often. */
export const WARM_RELAY_CHECK_MS = 10_000;

/** Per tunnel: where its authenticated packets came from lately, and when its relay was last warmed. */
interface PathMemory {
  /** The tunnel's packetsIn after the last relayed packet: a count above it when the next comes means direct ones came. */
  packetsInAtRelayed: number;
  lastDirectAt: number;
  warmedAt: number;
  /** Whether we asked the lighthouses about the peer to learn its relays. */
  askedRelays: boolean;
  /** The direct address we left when failing over (probed again with the fresh candidates). */
  leftDirect: UdpAddr | null;
}

export class PathFinder {
  readonly health: PathHealth;
  private readonly memory = new WeakMap<HostInfo, PathMemory>();

  constructor(private readonly env: PathEnv) {
    this.health = new PathHealth({
      clock: env.clock,
      isCurrent: (host) => env.hostmap.byVpnIp.get(host.vpnIp) === host,
      probe: (host) => {
        env.counters.inc('path', 'probe');
        sendOnTunnel(env, host, MessageType.Test, TestSubType.Request, new Uint8Array(0));
      },
      suspect: (host) => this.pathSuspect(host),
      giveUp: (host) => {
        // Nothing answered on any path: not the direct one, not the relay, not the addresses the lighthouses gave
        // now. The peer lost the tunnel (restarted, SIGKILLed, moved where we cannot follow): drop it and handshake
        // anew at once, so new packets wait in the handshake's queue. Liveness would take 15 s to say the same.
        env.counters.inc('path', 'gave-up');
        env.counters.inc('tunnels-dead');
        env.log.info('Tunnel status dead, removing', {
          vpnIp: formatVpnIp(host.vpnIp),
          certName: host.certName,
          reason: 'no answer on any path',
        });
        env.closeTunnel(host, 'dead', false);
        env.handshakes.start(host.vpnIp);
      },
    });
  }

  private memoryOf(host: HostInfo): PathMemory {
    let m = this.memory.get(host);
    if (!m) {
      m = {
        packetsInAtRelayed: 0,
        lastDirectAt: host.createdAt,
        warmedAt: -Infinity,
        askedRelays: false,
        leftDirect: null,
      };
      this.memory.set(host, m);
    }
    return m;
  }

  /**
   * The path-health detector gave up on the tunnel's path: send over a relay from now on (the tunnel and its keys
   * stay, only the path changes), ask the lighthouses where the peer is now and probe what they answer, and send a
   * test request over the new path so that an answer (or none) decides between keeping it and a new handshake.
   */
  private pathSuspect(host: HostInfo): void {
    const env = this.env;
    env.counters.inc('path', 'suspect');
    this.failOverToRelay(host);
    // The answer names the peer's current addresses (probed then) and its relays (a failover not possible yet is
    // tried again then: see addressesLearned).
    env.lighthouseClient?.query(host.vpnIp);
    // Without lighthouses (or until one answers) the addresses we already know are probed.
    this.probeDirect(host, true);
    sendOnTunnel(env, host, MessageType.Test, TestSubType.Request, new Uint8Array(0));
  }

  /** Moves a direct tunnel onto a relay (up, or just asked for); false when there is none to move to. */
  private failOverToRelay(host: HostInfo): boolean {
    const env = this.env;
    if (
      host.remote === null ||
      env.lighthouseClient?.isLighthouse(host.vpnIp) ||
      env.prepareRelay(host.vpnIp) === 'none'
    )
      return false;
    env.log.debug('Direct path unanswered, failing over to a relay', {
      vpnIp: formatVpnIp(host.vpnIp),
      left: addrKey(host.remote),
    });
    this.memoryOf(host).leftDirect = host.remote;
    host.remote = null;
    // Any authenticated packet that arrives directly may take the tunnel back (outside.ts roam).
    host.roamedFrom = null;
    // The hold after a move keeps full-TTL packets away from the peer's NAT; relayed ones go to the relay.
    host.holdUntil = 0;
    env.counters.inc('path', 'failover-relay');
    return true;
  }

  /** A relay to `vpnIp` came up: a tunnel that failed over to it proves the new path with a test request. */
  relayReady(vpnIp: VpnIp): void {
    const host = this.env.hostmap.byVpnIp.get(vpnIp);
    if (host && host.remote === null)
      sendOnTunnel(this.env, host, MessageType.Test, TestSubType.Request, new Uint8Array(0));
  }

  /**
   * We sent `host` something it should answer (see path-health.ts). Also keeps a relay warm for a peer that
   * advertises relays, so a failover need not wait for one to be set up: one terminal entry per peer, checked at
   * most every WARM_RELAY_CHECK_MS, and only while we send to the peer.
   */
  answerableSent(host: HostInfo, test: boolean): void {
    const now = this.health.sent(host, test);
    if (host.remote === null) return;
    const m = this.memoryOf(host);
    if (now - m.warmedAt < WARM_RELAY_CHECK_MS) return;
    m.warmedAt = now;
    const client = this.env.lighthouseClient;
    if (!client || client.isLighthouse(host.vpnIp)) return;
    // A peer that started the tunnel was never looked up, so its relays are unknown: ask once per tunnel. A peer we
    // looked up is known (an answer without relays is an answer): asking again on the first packet after the
    // handshake cost the lighthouse a second query and the peer a second punch notification, in the middle of every
    // first contact (issue 19).
    if (this.env.prepareRelay(host.vpnIp) === 'none' && !m.askedRelays && !client.hasAnswer(host.vpnIp)) {
      m.askedRelays = true;
      client.query(host.vpnIp);
    }
  }

  /**
   * An authenticated packet of `host` came through relay `via`; `previousRecvAt` is when the one before it came.
   * The peer sends over the relay because its direct path stopped answering: answer the same way, unless packets
   * still come directly (then this one was in flight when the peer moved back, or the peer only probes).
   */
  arrivedViaRelay(host: HostInfo, via: RelayEntry, previousRecvAt: number): void {
    const m = this.memoryOf(host);
    // packetsIn counts this packet too: more than the relayed ones means a direct one came since we last looked.
    if (host.packetsIn - 1 > m.packetsInAtRelayed) m.lastDirectAt = previousRecvAt;
    m.packetsInAtRelayed = host.packetsIn;
    if (host.remote === null) return;
    const now = this.env.clock.now();
    if (now - m.lastDirectAt < RELAY_ROAM_QUIET_MS) return;
    this.env.log.debug('Peer answers through a relay, following it', {
      vpnIp: formatVpnIp(host.vpnIp),
      left: addrKey(host.remote),
    });
    m.leftDirect = host.remote;
    host.remote = null;
    host.relayVia = via;
    host.roamedFrom = null;
    host.holdUntil = 0;
    this.env.counters.inc('path', 'follow-relay');
  }

  openMapping(to: UdpAddr): void {
    // Without per-packet TTL control a full-TTL punch could poison the far NAT, so none is sent.
    this.env.log.debug('Low-TTL punch', { udpAddr: addrKey(to) });
    this.env.udp.sendWithTtl?.(PUNCH_BYTE, to, this.env.punchTtl());
  }

  /**
   * Our NAT was measured (punchy/nat-discovery.ts), a few hundred ms after start or a move: a tunnel that came up
   * over a relay meanwhile, its candidates punched with the default TTL (which behind a carrier-grade NAT dies
   * before the outermost NAT), tries a direct path with the learned one now rather than at its first upgrade
   * check a second after it came up. Cold start, a behind two NATs, b speaks first: direct after 0.4-0.6 s instead
   * of 1.3-1.4 s. (Punching the recent targets again with the new TTL as well made no measurable difference.)
   */
  punchTtlLearned(): void {
    this.upgradeRelayed();
  }

  /** A lighthouse answered for `vpnIp`: feed a pending handshake, or try to take a relayed tunnel direct. */
  addressesLearned(vpnIp: VpnIp): void {
    this.env.handshakes.trigger(vpnIp);
    // A birthday request may have been waiting for this answer (daemon/birthday.ts).
    this.env.birthday.peerViewLearned(vpnIp);
    const host = this.env.hostmap.byVpnIp.get(vpnIp);
    if (host && host.remote === null) {
      this.probeDirect(host);
      this.maybeBirthday(host);
    } else if (host && this.memory.get(host)?.askedRelays && this.health.phaseOf(host) !== 'suspect') {
      // The answer to our question about its relays (answerableSent): warm one now.
      this.env.prepareRelay(host.vpnIp);
    } else if (host && this.health.phaseOf(host) === 'suspect') {
      // We may not have known the peer's relays before (it started the tunnel, so we never asked about it).
      if (this.failOverToRelay(host))
        sendOnTunnel(this.env, host, MessageType.Test, TestSubType.Request, new Uint8Array(0));
      this.probeDirect(host, true);
    }
  }

  /** A relayed tunnel where we are behind a symmetric NAT and the peer behind a port-preserving one. */
  private maybeBirthday(host: HostInfo): void {
    const client = this.env.lighthouseClient;
    if (!client) return;
    // NAT views hold only addresses a lighthouse saw first (meta.ts SEEN_FIRST_V4): the sockets' punches go to
    // where the peer really is, never to an address it merely reported.
    const peerView = client.natViewOf(host.vpnIp);
    if (birthdaySides(client.selfNatView(), peerView, { symmetric: this.env.natMapping() }) === 'fit')
      void this.env.birthday.start(host, peerView[0]);
  }

  /**
   * Tries a direct path for a relayed tunnel: low-TTL punches now, then an authenticated test request straight to
   * each candidate once the far side has punched back. The peer moves its tunnel to whichever address the test
   * arrives from (roaming on an authenticated packet), its reply comes back directly, and we move ours.
   * `suspect`: the tunnel's path stopped answering, so its other candidates (and the address it left) are probed
   * even while it still has a direct remote.
   */
  private probeDirect(host: HostInfo, suspect = false): void {
    const left = this.memory.get(host)?.leftDirect;
    const candidates = orderAddresses(
      [...this.env.candidates(host.vpnIp), ...(left ? [left] : [])].filter(
        (a, i, all) =>
          all.findIndex((b) => addrKey(b) === addrKey(a)) === i && addrKey(a) !== (host.remote && addrKey(host.remote)),
      ),
      this.env.preferred(),
    );
    if (candidates.length === 0) return;
    for (const a of candidates) this.openMapping(a);
    this.env.schedule(this.env.punchSettleMs, () => {
      if (this.env.hostmap.byVpnIp.get(host.vpnIp) !== host) return;
      if (host.remote !== null && !(suspect && this.health.phaseOf(host) === 'suspect')) return;
      for (const a of candidates)
        sendOnTunnel(this.env, host, MessageType.Test, TestSubType.Request, new Uint8Array(0), a);
      this.env.counters.inc('direct-probes');
    });
  }

  upgradeRelayed(): void {
    for (const host of this.env.hostmap.byPrimary.values()) this.upgradeOne(host);
  }

  upgradeOne(host: HostInfo): void {
    if (host.remote !== null || this.env.hostmap.byVpnIp.get(host.vpnIp) !== host) return;
    // The query makes the lighthouse tell the peer to punch toward us; its answer then triggers probeDirect.
    if (this.env.lighthouseClient) this.env.lighthouseClient.query(host.vpnIp);
    else this.probeDirect(host);
  }

  /**
   * An address of ours is gone (the watcher says so at once, before the new one settles): the direct paths that used
   * it are dead, so tunnels in use fail over now, and direct data waits for the refresh (holdForMove).
   */
  addressLost(): void {
    this.holdForMove();
    this.suspectRecent(this.env.clock.now());
  }

  private suspectRecent(now: number): void {
    for (const host of this.env.hostmap.byPrimary.values()) {
      if (this.env.lighthouseClient?.isLighthouse(host.vpnIp)) continue;
      if (host.lastSendAt > 0 && now - host.lastSendAt < WARM_RELAY_RECENT_MS) this.health.suspectNow(host);
    }
  }

  /** Our addresses are changing: stop full-TTL data to NATed peers until the refresh has punched them open. */
  holdForMove(): void {
    const until = this.env.clock.now() + 200 + this.env.punchSettleMs;
    for (const host of this.env.hostmap.byPrimary.values()) {
      // A relayed tunnel's packets go to the relay, not toward the peer's NAT: nothing to hold.
      if (host.remote === null) continue;
      if (!this.env.lighthouseClient?.isLighthouse(host.vpnIp)) host.holdUntil = Math.max(host.holdUntil, until);
    }
  }

  /**
   * Roaming from our side: report the new addresses to the lighthouses at once, ask them about every peer (which
   * makes them tell each peer to punch toward our new address), punch our own NAT open toward each peer, and then
   * send each an authenticated test request: the peer moves its tunnel to our new address on receipt.
   */
  localAddressesChanged(addresses: string[], lostAny = true): void {
    const changedAt = this.env.clock.now();
    this.env.log.info('Local addresses changed, refreshing tunnels', {
      addresses: addresses.join(','),
      moved: lostAny,
    });
    this.env.counters.inc('local-address-changes');
    const peers = [...this.env.hostmap.byPrimary.values()].filter(
      (h) => !this.env.lighthouseClient?.isLighthouse(h.vpnIp),
    );
    // A lost address breaks the direct paths that used it: tunnels in use fail over now rather than wait for silence.
    if (lostAny) this.suspectRecent(changedAt);
    const unanswered = (): HostInfo[] =>
      peers.filter(
        (h) => this.env.hostmap.byVpnIp.get(h.vpnIp) === h && h.lastRecvAt <= changedAt + this.env.punchSettleMs,
      );
    // A round: tell the lighthouses where we are now and ask about every peer (so each is told to punch toward our
    // new address), punch our own NAT open, then an authenticated test request to each peer once it has punched.
    // Rounds repeat because the first may go out before the new route is in place.
    const round = (): void => {
      const waiting = unanswered();
      if (waiting.length === 0) return;
      // Only a lost address breaks the current path; when the set merely grew, traffic keeps flowing meanwhile.
      if (lostAny) this.holdForMove();
      this.env.lighthouseClient?.sendUpdate();
      for (const host of waiting) {
        this.env.lighthouseClient?.query(host.vpnIp);
        for (const a of this.refreshTargets(host)) this.openMapping(a);
      }
      this.env.schedule(this.env.punchSettleMs, () => {
        for (const host of unanswered()) {
          this.env.log.debug('Refreshing tunnel after a move', {
            vpnIp: formatVpnIp(host.vpnIp),
            targets: this.refreshTargets(host).map(addrKey).join(','),
          });
          for (const a of this.refreshTargets(host))
            sendOnTunnel(this.env, host, MessageType.Test, TestSubType.Request, new Uint8Array(0), a);
        }
      });
    };
    this.env.lighthouseClient?.sendUpdate();
    for (const delay of [0, 600, 1200, 2500]) this.env.schedule(delay, round);
  }

  private refreshTargets(host: HostInfo): UdpAddr[] {
    const left = this.memory.get(host)?.leftDirect;
    return orderAddresses(
      [...(host.remote ? [host.remote] : left ? [left] : []), ...this.env.candidates(host.vpnIp)],
      this.env.preferred(),
    );
  }
}
