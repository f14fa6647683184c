// The relay protocol of Nebula 1.6 (docs/state-machines.md, "Relay entries"): asking a relay for a path to a peer we
// cannot reach directly, serving as a relay (`relay.am_relay`), accepting a relay as its target, and carrying relayed
// packets.
//
//   A (initiator)             R (am_relay)                    B (target)
//   Request{a, A->B}   ───▶   allocates r_b, r_a
//                             Request{r_b, A->B}       ───▶   allocates b (established)
//                             Response{b, r_b}         ◀───
//   Response{r_a, a}   ◀───   r_a, r_b established
//   stage 1 wrapped for r_a ─▶ unwrap, rewrap for b    ───▶   handshake through the relay
//
// What a peer may make us hold or do (docs/security-model.md): as the relay, only targets inside our VPN network,
// and a bounded number of handshakes started per requester (handshake-quota.ts); as the target, only relays through
// a hop we advertise as our relay, for far ends inside our VPN network; on every hop a bounded number of entries
// (relay-table.ts). Lines a peer's request causes are rate-limited.
//
// Versions (docs/wire-format.md): a request we start goes in the layout of the hop's tunnel (v1, or v2 on a tunnel
// made with v2 certificates); every other message answers or forwards one and goes in its layout, as Nebula 1.10+ does.
//
// Several overlay addresses (docs/ipv6.md): a hop or a peer may be named by any of its addresses (the hostmap finds
// a tunnel by each); entries are keyed by the tunnels' primary addresses (HostInfo.vpnIp), so a dual-stack relay is
// reachable by either of its addresses. A message whose layout cannot carry its addresses (v1 and an IPv6 end) is
// not sent and is counted ('relay' 'v1-ipv6-skipped'), as Nebula 1.10 refuses it.

import type { Clock } from '../clock/clock.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import type { HostMap } from '../hostmap/hostmap.js';
import type { IpPrefix } from '../ip/prefix.js';
import { formatVpnIp, type VpnIp } from '../ip/vpn-ip.js';
import { addrsOf, firstIpv4, inNetworks, isAddrOf } from '../lighthouse/overlay-networks.js';
import type { Logger } from '../log/logger.js';
import { RateLimitedLog } from '../log/rate-limit.js';
import type { Counters } from '../metrics/counters.js';
import type { UdpAddr } from '../udp/addr.js';
import { layout, type MetaVersion } from '../lighthouse/meta.js';
import { controlFitsLayout, ControlType, type ControlMessage } from './control.js';
import { unwrapRelayed, wrapRelayed } from './frame.js';
import { RelayHandshakeQuota } from './handshake-quota.js';
import { RelayTable, type RelayEntry } from './relay-table.js';

/** Who we are on the overlay: requests we start name us, and only our networks are relayed to or accepted. */
export interface RelayIdentity {
  /** Our overlay addresses, primary first (LocalIdentity.vpnAddrs): requests we start name the first. */
  myAddrs(): readonly VpnIp[];
  /** Our overlay networks: the only targets we relay to, and far ends we accept. */
  vpnNetworks(): readonly IpPrefix[];
}

/** relay.am_relay and relay.relays as configured now (a reload may change them). */
export interface RelaySettings {
  amRelay(): boolean;
  /** The relays we advertise (relay.relays; none when we are a relay): the only hops we accept relays through. */
  relaysForUs(): readonly VpnIp[];
}

/** The handshakes a relay waits for: to a hop we have no tunnel to, or to a target we relay for. */
export interface RelayHandshakes {
  /** Starts a handshake unless a tunnel or a handshake to `vpnIp` exists; returns whether it started one. */
  startHandshake(vpnIp: VpnIp): boolean;
  /** Whether one is pending: the per-requester quota counts only those (handshake-quota.ts). */
  handshakePending(vpnIp: VpnIp): boolean;
}

/** How relay traffic leaves: control messages inside a hop's tunnel, relayed packets as bare datagrams. */
export interface RelaySender {
  sendControl(host: HostInfo, m: ControlMessage): void;
  /**
   * A relay frame to the hop's current address, from the socket its tunnel uses: a tunnel moved onto a birthday
   * socket (daemon/birthday.ts) is reachable only from that socket's NAT mapping.
   */
  sendOnHop(hop: HostInfo, frame: Uint8Array): void;
}

/** Where relayed packets go in the receive pipeline. */
export interface RelayedDelivery {
  /** Authenticated outer packet on a hop tunnel: roaming and liveness as for any packet. */
  acceptOnHop(hop: HostInfo, length: number, from: UdpAddr): void;
  /** An inner packet for us (we are an end of the relay). */
  deliverInner(inner: Uint8Array, via: RelayEntry): void;
}

/** What a relay's state means to the handshakes and paths of the peer behind it. */
export interface RelayEvents {
  /** A relay to `vpnIp` became usable: retry its handshake now. */
  relayReady(vpnIp: VpnIp): void;
  /** The relay under `host`, a tunnel we reach only through relays, went: handshake again (relay and direct). */
  relayLost?(host: HostInfo): void;
}

export interface RelayEnv
  extends RelayIdentity, RelaySettings, RelayHandshakes, RelaySender, RelayedDelivery, RelayEvents {
  /** The tunnels relays ride on and lead to; its closed event takes their entries. */
  readonly hostmap: HostMap;
  readonly counters: Counters;
  readonly log: Logger;
  readonly clock: Clock;
}

/** "Relay established as target" lines: one per far end a hop names, so a hop could otherwise flood the log. */
const TARGET_LOG_LIMIT = { burst: 10, windowMs: 10_000 };

export class RelayManager {
  readonly table: RelayTable;
  readonly handshakeQuota: RelayHandshakeQuota;
  private readonly targetLog: RateLimitedLog;

  constructor(private readonly env: RelayEnv) {
    this.table = new RelayTable(env.hostmap, undefined, () => env.counters.inc('relay', 'evicted-hop-full'));
    this.handshakeQuota = new RelayHandshakeQuota((vpnIp) => env.handshakePending(vpnIp));
    this.targetLog = new RateLimitedLog(env.log, env.clock, TARGET_LOG_LIMIT);
    // Under every address: a relay may be kept under the one it was asked by.
    env.hostmap.onClosed((host) => {
      for (const addr of host.vpnAddrs) this.tunnelGone(addr);
    });
  }

  private isMine(vpnIp: VpnIp): boolean {
    return this.env.myAddrs().includes(vpnIp);
  }

  /** Sends `m` on `host`'s tunnel unless its layout cannot name its ends (v1 and IPv6), which is counted. */
  private sendControl(host: HostInfo, m: ControlMessage): boolean {
    if (!controlFitsLayout(m.relayFromIp, m.relayToIp, m.version ?? 1)) {
      this.env.counters.inc('relay', 'v1-ipv6-skipped');
      return false;
    }
    this.env.sendControl(host, m);
    return true;
  }

  /** A request to `hop` for a relay to `target`, naming us by our first address its layout can carry. */
  /** Our end of a relay to `target` through `hop`: the one in the table, or a new one in state requested. */
  private terminalVia(hop: HostInfo, target: VpnIp): RelayEntry {
    // Keyed by the hop's primary address: a relay named by its other address is the same hop.
    const entry = this.table.get(hop.vpnIp, target);
    if (entry?.terminal) return entry;
    return this.table.add({ remoteIndex: 0, state: 'requested', terminal: true, hopIp: hop.vpnIp, peerIp: target });
  }

  private requestVia(hop: HostInfo, entry: RelayEntry, target: VpnIp): void {
    const version = hop.certVersion ?? 1;
    // Nebula names its first address (myVpnAddrs[0]); on a v1 tunnel that is our v1 certificate's IPv4 address.
    const me = version === 1 ? (firstIpv4(this.env.myAddrs()) ?? this.env.myAddrs()[0]) : this.env.myAddrs()[0];
    if (this.sendControl(hop, request(entry.localIndex, me, target, version)))
      this.env.counters.inc('relay', 'request-sent');
  }

  /** A side: route a handshake packet for `target` through each of its relays, setting relays up as needed. */
  sendViaRelays(target: VpnIp, packet: Uint8Array, relays: readonly VpnIp[]): void {
    const env = this.env;
    for (const relayIp of relays) {
      if (this.isMine(relayIp) || relayIp === target) continue;
      const hop = env.hostmap.byVpnIp.get(relayIp);
      if (!hop || !hop.remote) {
        env.startHandshake(relayIp);
        continue;
      }
      if (isAddrOf(hop, target)) continue;
      const entry = this.terminalVia(hop, target);
      if (entry.state === 'requested') {
        this.requestVia(hop, entry, target);
        continue;
      }
      env.sendOnHop(hop, wrapRelayed(hop, entry.remoteIndex, packet));
    }
  }

  /**
   * Makes sure a relay to `target` exists or is being set up, through the first of `relays` whose hop tunnel is up,
   * without sending anything through it: a path to fail over to at once (see daemon/path-finder.ts). At most one
   * terminal entry per target, so calling this again costs at most a repeated request.
   */
  prepare(target: VpnIp, relays: readonly VpnIp[]): 'established' | 'requested' | 'none' {
    const env = this.env;
    if (this.table.terminalFor(target)) return 'established';
    for (const relayIp of relays) {
      if (this.isMine(relayIp) || relayIp === target) continue;
      const hop = env.hostmap.byVpnIp.get(relayIp);
      if (!hop?.remote || isAddrOf(hop, target)) continue;
      this.requestVia(hop, this.terminalVia(hop, target), target);
      return 'requested';
    }
    return 'none';
  }

  /** The established terminal relay to `host` under any of its addresses (we may have asked by any of them). */
  terminalForHost(host: HostInfo): RelayEntry | undefined {
    for (const a of addrsOf(host)) {
      const entry = this.table.terminalFor(a);
      if (entry) return entry;
    }
    return undefined;
  }

  /** Sends an end-to-end packet to a peer we reach only through a relay. */
  sendRelayed(host: HostInfo, packet: Uint8Array): boolean {
    const entry = host.relayVia?.state === 'established' ? host.relayVia : this.terminalForHost(host);
    if (!entry) return false;
    return this.sendVia(entry, packet);
  }

  sendVia(entry: RelayEntry, inner: Uint8Array): boolean {
    const hop = this.env.hostmap.byVpnIp.get(entry.hopIp);
    if (!hop?.remote || entry.state !== 'established') return false;
    this.env.sendOnHop(hop, wrapRelayed(hop, entry.remoteIndex, inner));
    return true;
  }

  onControl(from: HostInfo, m: ControlMessage): void {
    if (m.type === ControlType.CreateRelayRequest) return this.onRequest(from, m);
    if (m.type === ControlType.CreateRelayResponse) return this.onResponse(from, m);
    if (m.type === ControlType.RelayRemoved) return this.onRemoved(from, m);
    this.env.counters.inc('drops', 'control-unknown-type');
  }

  /**
   * Our tunnel to `vpnIp` is gone: every relay entry on it or toward it goes, and, as the relay, we tell the end
   * on the other side of each forwarding pair that its leg went (ControlType.RelayRemoved), so that it builds its
   * path again at once instead of sending into an entry we no longer have. One message per pair, and pairs exist
   * only at the ends' requests.
   */
  private tunnelGone(vpnIp: VpnIp): void {
    const env = this.env;
    for (const e of this.table.forgetTunnel(vpnIp)) {
      if (e.terminal || e.peerIp !== vpnIp || e.remoteIndex === 0) continue;
      const end = env.hostmap.byVpnIp.get(e.hopIp);
      if (!end) continue;
      const m: ControlMessage = {
        type: ControlType.RelayRemoved,
        initiatorRelayIndex: e.remoteIndex,
        responderRelayIndex: e.localIndex,
        relayFromIp: e.hopIp,
        relayToIp: vpnIp,
        ...layout(end.certVersion ?? 1),
      };
      if (this.sendControl(end, m)) env.counters.inc('relay', 'removed-sent');
    }
  }

  /** The relay says it dropped our leg to a far end: forget the entry, and rebuild a tunnel that had only it. */
  private onRemoved(from: HostInfo, m: ControlMessage): void {
    const env = this.env;
    const entry = this.table.byIndex.get(m.initiatorRelayIndex);
    // Only the hop that holds the entry, naming its own index for it: nobody else can make us drop a relay.
    if (!entry?.terminal || entry.hopIp !== from.vpnIp || entry.remoteIndex !== m.responderRelayIndex) {
      return env.counters.inc('drops', 'relay-removed-unknown');
    }
    this.table.remove(entry);
    env.counters.inc('relay', 'removed-by-relay');
    env.log.debug('Relay removed by the relay', { relay: formatVpnIp(from.vpnIp), peer: formatVpnIp(entry.peerIp) });
    const host = env.hostmap.byVpnIp.get(entry.peerIp);
    if (host && host.remote === null) env.relayLost?.(host);
  }

  private onRequest(from: HostInfo, m: ControlMessage): void {
    const env = this.env;
    if (this.isMine(m.relayToIp)) return this.acceptAsTarget(from, m);
    if (!env.amRelay()) return env.counters.inc('drops', 'relay-request-not-a-relay');
    if (!isAddrOf(from, m.relayFromIp)) return env.counters.inc('drops', 'relay-request-spoofed');
    // Nebula refuses to handshake outside its networks too; a target there could never be a peer.
    if (!inNetworks(m.relayToIp, env.vpnNetworks()))
      return env.counters.inc('drops', 'relay-request-target-outside-network');
    if (isAddrOf(from, m.relayToIp)) return env.counters.inc('drops', 'relay-request-to-requester');
    const target = env.hostmap.byVpnIp.get(m.relayToIp);
    // Like Nebula: relay only to peers we reach directly, never through a relay of our own.
    if (target && !target.remote) return env.counters.inc('drops', 'relay-request-target-not-direct');
    if (!target) return this.startTunnelFor(from, m.relayToIp);
    // The pair is keyed by both tunnels' primary addresses, whichever address the requester named the target by.
    const targetIp = target.vpnIp;
    let toRequester = this.table.get(from.vpnIp, targetIp);
    if (!toRequester || toRequester.remoteIndex !== m.initiatorRelayIndex || !this.table.get(targetIp, from.vpnIp)) {
      toRequester = this.table.add({
        remoteIndex: m.initiatorRelayIndex,
        state: 'requested',
        terminal: false,
        hopIp: from.vpnIp,
        peerIp: targetIp,
      });
    }
    // The leg toward the target keeps its index when the requester asks again with another one (it re-handshook or
    // restarted): the target holds a relay under that index, and from Nebula 1.7 a target refuses a request for
    // the same pair under a different index, so a new one would leave the pair stuck.
    const toTarget =
      this.table.get(targetIp, from.vpnIp) ??
      this.table.add({ remoteIndex: 0, state: 'requested', terminal: false, hopIp: targetIp, peerIp: from.vpnIp });
    if (toRequester.state === 'established') {
      this.sendControl(
        from,
        response(toRequester.localIndex, toRequester.remoteIndex, m.relayFromIp, m.relayToIp, m.version ?? 1),
      );
      return;
    }
    if (this.sendControl(target, request(toTarget.localIndex, m.relayFromIp, m.relayToIp, m.version ?? 1)))
      env.counters.inc('relay', 'forward-request');
  }

  /** Nebula's behaviour: start the tunnel to the target and let the requester's retry find it up, within quota. */
  private startTunnelFor(requester: HostInfo, target: VpnIp): void {
    const env = this.env;
    if (!env.handshakePending(target)) {
      const verdict = this.handshakeQuota.check(requester.vpnIp);
      if (verdict === 'requester-full') return env.counters.inc('drops', 'relay-request-handshake-quota');
      if (verdict === 'full') return env.counters.inc('drops', 'relay-request-handshakes-full');
      if (env.startHandshake(target)) this.handshakeQuota.charge(requester.vpnIp, target);
    }
    env.counters.inc('relay', 'request-target-not-ready');
  }

  private acceptAsTarget(from: HostInfo, m: ControlMessage): void {
    const env = this.env;
    // Peers learn our relays from the lighthouse, which learns them from us: a request through any other hop was
    // not caused by us advertising it.
    // A dual-stack relay may be advertised by either of its addresses.
    const ours = env.relaysForUs();
    if (!addrsOf(from).some((a) => ours.includes(a)))
      return env.counters.inc('drops', 'relay-request-hop-not-our-relay');
    const far = m.relayFromIp;
    if (!inNetworks(far, env.vpnNetworks()) || isAddrOf(from, far) || this.isMine(far))
      return env.counters.inc('drops', 'relay-request-bad-far-end');
    let entry = this.table.get(from.vpnIp, far);
    if (!entry || entry.remoteIndex !== m.initiatorRelayIndex) {
      entry = this.table.add({
        remoteIndex: m.initiatorRelayIndex,
        state: 'established',
        terminal: true,
        hopIp: from.vpnIp,
        peerIp: far,
      });
      this.targetLog.info('Relay established as target', { relay: formatVpnIp(from.vpnIp), peer: formatVpnIp(far) });
    }
    this.sendControl(
      from,
      response(entry.localIndex, m.initiatorRelayIndex, m.relayFromIp, m.relayToIp, m.version ?? 1),
    );
  }

  private onResponse(from: HostInfo, m: ControlMessage): void {
    const env = this.env;
    const entry = this.table.byIndex.get(m.initiatorRelayIndex);
    if (!entry || entry.hopIp !== from.vpnIp) return env.counters.inc('drops', 'relay-response-unknown');
    entry.remoteIndex = m.responderRelayIndex;
    entry.state = 'established';
    if (entry.terminal) {
      env.log.info('Relay established', { relay: formatVpnIp(from.vpnIp), peer: formatVpnIp(entry.peerIp) });
      env.relayReady(entry.peerIp);
      return;
    }
    // We are the relay: the target answered, so answer the requester.
    const toRequester = this.table.get(entry.peerIp, from.vpnIp);
    const requester = env.hostmap.byVpnIp.get(entry.peerIp);
    if (!toRequester || !requester) return env.counters.inc('drops', 'relay-response-requester-gone');
    toRequester.state = 'established';
    if (
      this.sendControl(
        requester,
        response(toRequester.localIndex, toRequester.remoteIndex, m.relayFromIp, m.relayToIp, m.version ?? 1),
      )
    )
      env.counters.inc('relay', 'established-as-relay');
  }

  /** A relayed packet (type 1, subtype 1) arrived from `from`; `relayIndex` and `counter` come from its header. */
  onRelayedPacket(outer: Uint8Array, relayIndex: number, counter: number, from: UdpAddr): void {
    const env = this.env;
    const entry = this.table.byIndex.get(relayIndex);
    if (!entry) return env.counters.inc('drops', 'relay-unknown-index');
    const hop = env.hostmap.byVpnIp.get(entry.hopIp);
    if (!hop) return env.counters.inc('drops', 'relay-hop-gone');
    if (!hop.replay.check(counter)) return env.counters.inc('drops', 'relay-replay');
    const inner = unwrapRelayed(hop, counter, outer);
    if (inner === null) return env.counters.inc('drops', 'relay-auth');
    // Stricter than Nebula, which leaves the outer window alone here: a replayed outer packet is refused too.
    hop.replay.update(counter);
    env.acceptOnHop(hop, inner.length, from);
    if (entry.terminal) return env.deliverInner(inner, entry);
    const onward = this.table.get(entry.peerIp, entry.hopIp);
    if (!onward || onward.state !== 'established' || !this.sendVia(onward, inner))
      env.counters.inc('drops', 'relay-onward-not-ready');
    else env.counters.inc('relay', 'forwarded');
  }
}

function request(initiatorRelayIndex: number, from: VpnIp, to: VpnIp, version: MetaVersion): ControlMessage {
  return {
    type: ControlType.CreateRelayRequest,
    initiatorRelayIndex,
    responderRelayIndex: 0,
    relayFromIp: from,
    relayToIp: to,
    ...layout(version),
  };
}

function response(
  responderRelayIndex: number,
  initiatorRelayIndex: number,
  from: VpnIp,
  to: VpnIp,
  version: MetaVersion,
): ControlMessage {
  return {
    type: ControlType.CreateRelayResponse,
    initiatorRelayIndex,
    responderRelayIndex,
    relayFromIp: from,
    relayToIp: to,
    ...layout(version),
  };
}
