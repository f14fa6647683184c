// Birthday punching wired to a node (the method is described in punchy/birthday.ts): the symmetric side's many
// sockets, the port-preserving side's probes, and moving a tunnel onto the socket a probe reached. Who may make us
// probe, where to and how often is punchy/birthday-policy.ts.

import type { Clock } from '../clock/clock.js';
import { HEADER_LEN, MessageType, parseHeader } from '../header/header.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import type { TunnelEvents } from '../hostmap/hostmap.js';
import type { Logger } from '../log/logger.js';
import type { Counters } from '../metrics/counters.js';
import {
  ATTEMPT_MS,
  BIRTHDAY_PROBE,
  BIRTHDAY_REQUEST,
  PORT_MAX,
  PORT_MIN,
  PROBE_TICK_MS,
  PROBES,
  PROBES_PER_TICK,
  SOCKETS,
} from '../punchy/birthday.js';
import { PeerRunInterval, probeTarget, ProbeBudget, type MeasuredMapping } from '../punchy/birthday-policy.js';
import { PUNCH_TTL } from '../punchy/nat-punch.js';
import { PUNCH_BYTE } from '../punchy/punchy.js';
import { isIpv6Addr, udpAddr, type UdpAddr } from '../udp/addr.js';
import { DgramConn, type UdpConn } from '../udp/udp-conn.js';
import { formatVpnIp, type VpnIp } from '../ip/vpn-ip.js';

/** The tunnels birthday punching works on: tests go inside them, and only the current one is worth probing for. */
export interface BirthdayTunnels {
  /** Sends an authenticated test request on `host`'s tunnel, to `to` instead of its current path when given. */
  sendTest(host: HostInfo, payload: Uint8Array, to?: UdpAddr): void;
  /** Whether `host` is still the tunnel for its VPN IP: a replaced one is probed for no longer. */
  isCurrent(host: HostInfo): boolean;
  /** Closed tunnels: the socket one was moved onto goes with it. */
  readonly tunnelEvents: TunnelEvents;
}

/** What the lighthouses saw of us and of a peer: who probes, and where to (punchy/birthday-policy.ts). */
export interface NatViews {
  /** Our IPv4 NAT view (LighthouseClient.selfNatView). */
  self(): readonly UdpAddr[];
  /** A peer's IPv4 NAT view (LighthouseClient.natViewOf). */
  peer(vpnIp: VpnIp): readonly UdpAddr[];
  /** Our NAT's mapping as measured against a lighthouse's second port; a rewriting NAT never probes. */
  selfMeasured?(): MeasuredMapping;
  /** Asks the lighthouses about `vpnIp`; their answer comes back as Birthday.peerViewLearned. */
  ask?(vpnIp: VpnIp): void;
}

/** The symmetric side's extra sockets: how they are opened and punched, and where what they receive goes. */
export interface BirthdaySockets {
  /** Every datagram a chosen socket receives goes through the outside pipeline. */
  onUdp(packet: Buffer, from: UdpAddr): void;
  /** The IP TTL of the sockets' punches; default PUNCH_TTL (the node's is learned: punchy/nat-discovery.ts). */
  punchTtl?(): number;
  /** Opens one of the symmetric side's sockets; default a node:dgram socket on an ephemeral port. */
  openSocket?(): Promise<UdpConn>;
}

export interface BirthdayEnv extends BirthdayTunnels, BirthdaySockets {
  /** The lighthouses' NAT views; null without lighthouses (then nobody is probed). */
  readonly natViews: NatViews | null;
  readonly log: Logger;
  readonly counters: Counters;
  readonly clock: Clock;
  /** Runs `fn` after `ms` unless the node stopped; a throw is logged, never fatal. */
  schedule(ms: number, fn: () => void): void;
  /** The node stopped: a probe run ends. */
  stopped(): boolean;
}

/**
 * How long a request waits for the lighthouses' answer about its peer; well within the requester's ATTEMPT_MS,
 * whose sockets stay open for our probes meanwhile.
 */
export const VIEW_WAIT_MS = ATTEMPT_MS / 4;

export class Birthday {
  /** Symmetric side: a peer is asked at most once per PEER_RUN_INTERVAL_MS, the interval its prober admits. */
  private readonly attempts = new PeerRunInterval();
  private readonly probing = new Set<VpnIp>();
  private readonly budget = new ProbeBudget();
  /** Port-preserving side: requests held until the lighthouses answer about their peer (one per peer). */
  private readonly awaitingView = new Map<VpnIp, HostInfo>();
  /** Port-preserving side: a peer's request makes us ask the lighthouses about it at most once per interval. */
  private readonly askedView = new PeerRunInterval();
  /** Sockets that carry a tunnel, closed with the node. */
  readonly owned = new Set<UdpConn>();

  constructor(private readonly env: BirthdayEnv) {
    env.tunnelEvents.onClosed((host) => {
      if (!host.conn) return;
      this.owned.delete(host.conn);
      void host.conn.close();
    });
  }

  /** Symmetric side: ask the peer to probe, then open SOCKETS mappings toward its public address. */
  async start(host: HostInfo, peerPublic: UdpAddr): Promise<void> {
    if (isIpv6Addr(peerPublic) || !this.attempts.take(host.vpnIp, this.env.clock.now())) return;
    const { log, counters } = this.env;
    log.info('Trying birthday punching toward a port-preserving NAT', {
      vpnIp: formatVpnIp(host.vpnIp),
      udpAddr: `${peerPublic.address}:${peerPublic.port}`,
    });
    counters.inc('birthday', 'attempt');
    const open1 = this.env.openSocket ?? (() => DgramConn.open({ host: '0.0.0.0', port: 0 }));
    const conns = await Promise.all(Array.from({ length: SOCKETS }, () => open1().catch(() => null)));
    const open = conns.filter((c): c is UdpConn => c !== null);
    let chosen: UdpConn | null = null;
    for (const conn of open) {
      conn.onPacket((packet, from) => {
        if (chosen === conn) return this.env.onUdp(packet, from);
        if (chosen !== null || !this.authentic(host, packet)) return;
        chosen = conn;
        host.conn?.close().catch(() => undefined);
        host.conn = conn;
        this.owned.add(conn);
        counters.inc('birthday', 'success');
        log.info('Birthday punching found a direct path', {
          vpnIp: formatVpnIp(host.vpnIp),
          udpAddr: `${from.address}:${from.port}`,
        });
        this.env.onUdp(packet, from);
        for (const other of open) if (other !== conn) void other.close();
      });
      conn.sendWithTtl?.(PUNCH_BYTE, peerPublic, this.env.punchTtl?.() ?? PUNCH_TTL);
    }
    this.env.sendTest(host, BIRTHDAY_REQUEST);
    this.env.schedule(ATTEMPT_MS, () => {
      if (chosen === null) {
        counters.inc('birthday', 'timeout');
        for (const conn of open) void conn.close();
      }
    });
  }

  /** A packet for `host` that decrypts (checked without touching the replay window: the pipeline does that). */
  private authentic(host: HostInfo, packet: Buffer): boolean {
    const h = parseHeader(packet);
    if (!h || h.type !== MessageType.Test || h.remoteIndex !== host.localIndex || !host.replay.check(h.counter))
      return false;
    return host.keys.recv.open(h.counter, packet.subarray(HEADER_LEN), packet.subarray(0, HEADER_LEN)) !== null;
  }

  /**
   * Port-preserving side: the peer asked; probe random ports of the public IP a lighthouse saw it at until its
   * reply arrives directly. Refused (and counted) unless punchy/birthday-policy.ts allows it.
   */
  onTestRequest(host: HostInfo, payload: Uint8Array): void {
    if (isPayload(payload, BIRTHDAY_REQUEST)) this.consider(host, true);
  }

  /**
   * A lighthouse answered about `vpnIp`: a request held for its view is decided now. Only one asked for
   * (awaitingView) is, so an answer never starts a run by itself.
   */
  peerViewLearned(vpnIp: VpnIp): void {
    const host = this.awaitingView.get(vpnIp);
    if (!host) return;
    this.awaitingView.delete(vpnIp);
    if (this.env.isCurrent(host) && host.remote === null) this.consider(host, false);
  }

  /** `mayAsk`: with no lighthouse view of the peer yet, ask for one and decide on the answer instead of refusing. */
  private consider(host: HostInfo, mayAsk: boolean): void {
    const { counters, natViews } = this.env;
    if (this.probing.has(host.vpnIp)) return counters.inc('drops', 'birthday-already-probing');
    if (this.awaitingView.has(host.vpnIp)) return counters.inc('drops', 'birthday-awaiting-view');
    const target = natViews
      ? probeTarget(natViews.self(), natViews.peer(host.vpnIp), natViews.selfMeasured?.())
      : 'peer-not-seen';
    // A tunnel we answered was never looked up: its peer's request can come before we asked a lighthouse about it
    // (it measured its NAT and went for a direct path at once), so ask now. docs/nat-traversal.md "Birthday punching".
    if (
      target === 'peer-not-seen' &&
      mayAsk &&
      natViews?.ask &&
      this.askedView.take(host.vpnIp, this.env.clock.now())
    ) {
      this.awaitingView.set(host.vpnIp, host);
      counters.inc('birthday', 'view-asked');
      natViews.ask(host.vpnIp);
      this.env.schedule(VIEW_WAIT_MS, () => {
        if (this.awaitingView.get(host.vpnIp) !== host) return;
        this.awaitingView.delete(host.vpnIp);
        counters.inc('drops', 'birthday-peer-not-seen');
      });
      return;
    }
    if (typeof target === 'string') return counters.inc('drops', `birthday-${target}`);
    const admitted = this.budget.admit(host.vpnIp, this.env.clock.now());
    if (admitted !== 'ok') return counters.inc('drops', `birthday-${admitted}`);
    this.probing.add(host.vpnIp);
    counters.inc('birthday', 'probing');
    let sent = 0;
    const tick = (): void => {
      const done = host.remote !== null || sent >= PROBES || this.env.stopped() || !this.env.isCurrent(host);
      if (done) {
        this.probing.delete(host.vpnIp);
        counters.inc('birthday', 'probes-sent', sent);
        return;
      }
      for (let i = 0; i < PROBES_PER_TICK && sent < PROBES; i++, sent++) {
        const port = PORT_MIN + Math.floor(Math.random() * (PORT_MAX - PORT_MIN + 1));
        this.env.sendTest(host, BIRTHDAY_PROBE, udpAddr(target.address, port));
      }
      this.env.schedule(PROBE_TICK_MS, tick);
    };
    tick();
  }

  closeAll(): void {
    for (const conn of this.owned) void conn.close();
    this.owned.clear();
  }
}

function isPayload(payload: Uint8Array, marker: Uint8Array): boolean {
  return payload.length === marker.length && payload.every((b, i) => b === marker[i]);
}
