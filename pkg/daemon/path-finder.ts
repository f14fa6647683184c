// Finding and keeping direct paths: low-TTL punches (punchy/nat-punch.ts), moving relayed tunnels to a direct
// path, birthday punching across a symmetric NAT, and refreshing every tunnel after our own address changed.

import type { DataPathContext } from '../datapath/context.js';
import { sendOnTunnel } from '../datapath/tunnel-sender.js';
import { MessageType } from '../header/header.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import { formatIpv4, type Ipv4, type Ipv4Net } from '../ip/ipv4.js';
import { orderAddresses } from '../lighthouse/address-order.js';
import type { LighthouseClient } from '../lighthouse/client.js';
import { portBehaviour } from '../punchy/nat-kind.js';
import { PUNCH_TTL } from '../punchy/nat-punch.js';
import { PUNCH_BYTE } from '../punchy/punchy.js';
import { addrKey, type UdpAddr } from '../udp/addr.js';
import type { Birthday } from './birthday.js';

export interface PathEnv extends DataPathContext {
  readonly lighthouseClient: LighthouseClient | null;
  readonly birthday: Birthday;
  readonly punchSettleMs: number;
  candidates(vpnIp: Ipv4): UdpAddr[];
  preferred(): readonly Ipv4Net[];
  /** Runs `fn` later unless the node stopped; a throw is logged, never fatal. */
  schedule(ms: number, fn: () => void): void;
}

export class PathFinder {
  constructor(private readonly env: PathEnv) {}

  openMapping(to: UdpAddr): void {
    // Without per-packet TTL control a full-TTL punch could poison the far NAT, so none is sent.
    this.env.log.debug('Low-TTL punch', { udpAddr: addrKey(to) });
    this.env.udp.sendWithTtl?.(PUNCH_BYTE, to, PUNCH_TTL);
  }

  /** A lighthouse answered for `vpnIp`: feed a pending handshake, or try to take a relayed tunnel direct. */
  addressesLearned(vpnIp: Ipv4): void {
    this.env.handshakes.trigger(vpnIp);
    const host = this.env.hostmap.byVpnIp.get(vpnIp);
    if (host && host.remote === null) {
      this.probeDirect(host);
      this.maybeBirthday(host);
    }
  }

  /** A relayed tunnel where we are behind a symmetric NAT and the peer behind a port-preserving one. */
  private maybeBirthday(host: HostInfo): void {
    const client = this.env.lighthouseClient;
    if (!client) return;
    // NAT views hold only addresses a lighthouse saw first (meta.ts SEEN_FIRST_V4): the sockets' punches go to
    // where the peer really is, never to an address it merely reported.
    const peerView = client.natViewOf(host.vpnIp);
    const us = portBehaviour(client.selfNatView());
    const them = portBehaviour(peerView);
    if (us === 'rewriting' && (them === 'preserving' || them === 'no-nat')) void this.env.birthday.start(host, peerView[0]);
  }

  /**
   * Tries a direct path for a relayed tunnel: low-TTL punches now, then an authenticated test request straight to
   * each candidate once the far side has punched back. The peer moves its tunnel to whichever address the test
   * arrives from (roaming on an authenticated packet), its reply comes back directly, and we move ours.
   */
  private probeDirect(host: HostInfo): void {
    const candidates = this.env.candidates(host.vpnIp);
    if (candidates.length === 0) return;
    for (const a of candidates) this.openMapping(a);
    this.env.schedule(this.env.punchSettleMs, () => {
      if (this.env.hostmap.byVpnIp.get(host.vpnIp) !== host || host.remote !== null) return;
      for (const a of candidates) sendOnTunnel(this.env, host, MessageType.Test, 0, new Uint8Array(0), a);
      this.env.counters.inc('direct-probes');
    });
  }

  upgradeRelayed(): void {
    for (const host of this.env.hostmap.byVpnIp.values()) this.upgradeOne(host);
  }

  upgradeOne(host: HostInfo): void {
    if (host.remote !== null || this.env.hostmap.byVpnIp.get(host.vpnIp) !== host) return;
    // The query makes the lighthouse tell the peer to punch toward us; its answer then triggers probeDirect.
    if (this.env.lighthouseClient) this.env.lighthouseClient.query(host.vpnIp);
    else this.probeDirect(host);
  }

  /** Our addresses are changing: stop full-TTL data to NATed peers until the refresh has punched them open. */
  holdForMove(): void {
    const until = this.env.clock.now() + 200 + this.env.punchSettleMs;
    for (const host of this.env.hostmap.byVpnIp.values()) {
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
    this.env.log.info('Local addresses changed, refreshing tunnels', { addresses: addresses.join(','), moved: lostAny });
    this.env.counters.inc('local-address-changes');
    const peers = [...this.env.hostmap.byVpnIp.values()].filter((h) => !this.env.lighthouseClient?.isLighthouse(h.vpnIp));
    const unanswered = (): HostInfo[] =>
      peers.filter((h) => this.env.hostmap.byVpnIp.get(h.vpnIp) === h && h.lastRecvAt <= changedAt + this.env.punchSettleMs);
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
          this.env.log.debug('Refreshing tunnel after a move', { vpnIp: formatIpv4(host.vpnIp), targets: this.refreshTargets(host).map(addrKey).join(',') });
          for (const a of this.refreshTargets(host)) sendOnTunnel(this.env, host, MessageType.Test, 0, new Uint8Array(0), a);
        }
      });
    };
    this.env.lighthouseClient?.sendUpdate();
    for (const delay of [0, 600, 1200, 2500]) this.env.schedule(delay, round);
  }

  private refreshTargets(host: HostInfo): UdpAddr[] {
    return orderAddresses([...(host.remote ? [host.remote] : []), ...this.env.candidates(host.vpnIp)], this.env.preferred());
  }
}
