// The client side of the TCP fallback (docs/tcp-fallback.md). A node whose UDP draws no answer from any lighthouse
// within UDP_ANSWER_WAIT_MS of start (or of an address change) opens TCP to its lighthouses and relays, at the same
// port number as their UDP address, and sends what it would have sent them over UDP as frames. Peers reach it
// through those relays (the node advertises the TCP-attached ones as its relays meanwhile). It keeps testing UDP:
// every UDP_RETRY_MS a test request on each such tunnel goes over plain UDP, and the first authenticated packet
// that comes back over UDP ends the fallback (the links close, traffic goes over UDP again).
//
//   udp ──(no lighthouse answer in 2 s)──▶ tcp ──(authenticated UDP packet from a TCP-attached server)──▶ udp

import type { Socket } from 'node:net';
import { after, type Clock } from '../clock/clock.js';
import type { Logger } from '../log/logger.js';
import type { Counters } from '../metrics/counters.js';
import { addrKey, type UdpAddr } from '../udp/addr.js';
import { TcpLink } from './link.js';
import type { TcpUnderlay } from './underlay.js';
import { formatVpnIp, type VpnIp } from '../ip/vpn-ip.js';

/** How long UDP may go unanswered by every lighthouse before we fall back. */
export const UDP_ANSWER_WAIT_MS = 2000;
/** While on TCP: one UDP test per TCP-attached server this often; also the wait before reconnecting a lost link. */
export const UDP_RETRY_MS = 5000;
/** A TCP connect that takes longer than this failed. */
export const CONNECT_TIMEOUT_MS = 3000;
/**
 * A link that brought no frame for this many retry rounds, each of which sent a test request over it, is dead (a NAT
 * or firewall on the way dropped the connection without a reset): it is closed and connected again.
 */
export const SILENT_ROUNDS = 3;

export interface TcpServerTarget {
  vpnIp: VpnIp;
  /** Its UDP addresses (static_host_map); the TCP connection goes to the same address and port number. */
  addrs: readonly UdpAddr[];
}

export interface TcpFallbackEnv {
  clock: Clock;
  counters: Counters;
  log: Logger;
  underlay: TcpUnderlay;
  /** Lighthouses, then relays that are not lighthouses. */
  servers(): TcpServerTarget[];
  /**
   * Whether some lighthouse sent us an authenticated packet since `sinceMs` and after `lastFrameAt` (clock ms) of
   * its own: the last frame that came from it over TCP, so that packet came over UDP.
   */
  lighthouseHeardSince(sinceMs: number, lastFrameAt?: (vpnIp: VpnIp) => number): boolean;
  /** Sends a test request to each lighthouse with a tunnel: their answers tell whether UDP still works. */
  testLighthouses(): void;
  /** An authenticated test request to `vpnIp` at `to` over plain UDP; false when there is no tunnel to it. */
  probeUdp(vpnIp: VpnIp, to: UdpAddr): boolean;
  /** A test request to `vpnIp` on its tunnel as usual (over the link): its answer shows the link is alive. */
  testOverLink(vpnIp: VpnIp): void;
  /** A link to `vpnIp` came up: send what waits for it (a pending handshake) now. */
  linked(vpnIp: VpnIp): void;
  /** The set of TCP-attached relays changed: tell the lighthouses (they hand our relays to peers). */
  relaysChanged(): void;
  connect?(to: UdpAddr, timeoutMs: number): Promise<Socket>;
}

interface Attached {
  vpnIp: VpnIp;
  addr: UdpAddr;
  link: TcpLink;
  /** link.framesIn at the last retry round, and the rounds since it last changed. */
  framesIn: number;
  silentRounds: number;
}

export type TransportState = 'udp' | 'tcp';

export class TcpFallback {
  private state: TransportState = 'udp';
  private readonly attached = new Map<VpnIp, Attached>();
  private readonly connecting = new Set<VpnIp>();
  /** When the last frame came from each server over TCP (kept after its link closes). */
  private readonly lastFrameAt = new Map<VpnIp, number>();
  private cancelCheck: (() => void) | null = null;
  private cancelRetry: (() => void) | null = null;
  private stopped = false;
  /** When the fallback last began (clock ms), for status. */
  since = 0;

  constructor(private readonly env: TcpFallbackEnv) {}

  /** 'tcp' while some server is reached over TCP (falling back with every connect failing is not being on TCP). */
  get transport(): TransportState {
    return this.state === 'tcp' && this.attached.size > 0 ? 'tcp' : 'udp';
  }

  /** Servers we reach over TCP right now. */
  tcpAttached(): VpnIp[] {
    return [...this.attached.keys()];
  }

  isAttached(vpnIp: VpnIp): boolean {
    return this.attached.has(vpnIp);
  }

  /** At start: fall back unless a lighthouse answers over UDP within UDP_ANSWER_WAIT_MS. */
  start(): void {
    this.armCheck();
  }

  /** Our addresses changed: on UDP, check that UDP still gets answers; on TCP, test UDP at once. */
  addressesChanged(): void {
    if (this.stopped) return;
    if (this.state === 'tcp') return this.probe();
    this.env.testLighthouses();
    this.armCheck();
  }

  private armCheck(): void {
    this.cancelCheck?.();
    const since = this.env.clock.now();
    this.cancelCheck = after(this.env.clock, UDP_ANSWER_WAIT_MS, () => {
      this.cancelCheck = null;
      if (this.stopped || this.state !== 'udp' || this.env.lighthouseHeardSince(since)) return;
      this.fallBack();
    });
  }

  private fallBack(): void {
    this.state = 'tcp';
    this.since = this.env.clock.now();
    this.env.counters.inc('tcp', 'fallback');
    this.env.log.info('UDP gets no answer from any lighthouse, falling back to TCP', {
      servers: this.env.servers().length,
    });
    for (const s of this.env.servers()) this.connect(s);
    this.armRetry();
  }

  private connect(target: TcpServerTarget): void {
    if (this.attached.has(target.vpnIp) || this.connecting.has(target.vpnIp) || target.addrs.length === 0) return;
    this.connecting.add(target.vpnIp);
    void this.connectFirst(target).finally(() => this.connecting.delete(target.vpnIp));
  }

  /** The first of the server's addresses that accepts; one connection per server. */
  private async connectFirst(target: TcpServerTarget): Promise<void> {
    const connect = this.env.connect ?? connectTcp;
    for (const addr of target.addrs) {
      let socket: Socket;
      try {
        socket = await connect(addr, CONNECT_TIMEOUT_MS);
      } catch {
        this.env.counters.inc('tcp', 'connect-failed');
        continue;
      }
      if (this.stopped || this.state !== 'tcp') return void socket.destroy();
      const link = new TcpLink(socket, this.env.counters, {
        frame: (packet) => {
          this.env.underlay.deliver(packet, addr, true);
          // After the delivery, which stamped the tunnel's last packet: that stamp must not look newer than this.
          this.lastFrameAt.set(target.vpnIp, this.env.clock.now());
        },
        closed: (reason) => this.linkClosed(target.vpnIp, link, reason),
      });
      this.attached.set(target.vpnIp, { vpnIp: target.vpnIp, addr, link, framesIn: 0, silentRounds: 0 });
      this.env.underlay.route(addr, link);
      this.env.counters.inc('tcp', 'connected');
      this.env.log.info('Connected over TCP', { vpnIp: formatVpnIp(target.vpnIp), tcpAddr: addrKey(addr) });
      this.env.linked(target.vpnIp);
      this.env.relaysChanged();
      return;
    }
  }

  private linkClosed(vpnIp: VpnIp, link: TcpLink, reason: string): void {
    const a = this.attached.get(vpnIp);
    if (a?.link !== link) return;
    this.attached.delete(vpnIp);
    this.env.underlay.unroute(a.addr, link);
    if (this.state !== 'tcp' || this.stopped) return;
    this.env.counters.inc('tcp', 'link-lost');
    this.env.log.info('TCP link lost', { vpnIp: formatVpnIp(vpnIp), reason });
    this.env.relaysChanged();
  }

  /** While on TCP: test UDP and reconnect lost links, every UDP_RETRY_MS. */
  private armRetry(): void {
    this.cancelRetry?.();
    this.cancelRetry = after(this.env.clock, UDP_RETRY_MS, () => {
      this.cancelRetry = null;
      if (this.stopped || this.state !== 'tcp') return;
      // A lighthouse answered other than over TCP (it came back up, or UDP to it works): UDP works.
      if (this.env.lighthouseHeardSince(this.since, (ip) => this.lastFrameAt.get(ip) ?? -Infinity))
        return this.udpWorks();
      this.probe();
      this.closeSilentLinks();
      for (const s of this.env.servers()) this.connect(s);
      for (const a of this.attached.values()) this.env.testOverLink(a.vpnIp);
      this.armRetry();
    });
  }

  private closeSilentLinks(): void {
    for (const a of [...this.attached.values()]) {
      a.silentRounds = a.link.framesIn === a.framesIn ? a.silentRounds + 1 : 0;
      a.framesIn = a.link.framesIn;
      if (a.silentRounds < SILENT_ROUNDS) continue;
      this.env.counters.inc('tcp', 'link-silent');
      a.link.close('silent');
    }
  }

  private probe(): void {
    for (const a of this.attached.values())
      if (this.env.probeUdp(a.vpnIp, a.addr)) this.env.counters.inc('tcp', 'udp-probe');
  }

  /** Whether `from` is a server we reach over TCP (an authenticated UDP packet from it then ends the fallback). */
  routedFrom(from: UdpAddr): boolean {
    return this.state === 'tcp' && this.env.underlay.routed(from);
  }

  /** An authenticated packet came over UDP from a TCP-attached server: UDP works again. */
  udpWorks(): void {
    if (this.state !== 'tcp') return;
    this.state = 'udp';
    this.cancelRetry?.();
    this.cancelRetry = null;
    this.env.counters.inc('tcp', 'back-to-udp');
    this.env.log.info('UDP works again, leaving TCP', { afterMs: Math.round(this.env.clock.now() - this.since) });
    const links = [...this.attached.values()];
    this.attached.clear();
    for (const a of links) {
      this.env.underlay.unroute(a.addr, a.link);
      a.link.close('back-to-udp');
    }
    this.env.relaysChanged();
    // Checked as after an address change: should the lighthouses not answer over UDP after all, we fall back again.
    this.env.testLighthouses();
    this.armCheck();
  }

  stop(): void {
    this.stopped = true;
    this.cancelCheck?.();
    this.cancelRetry?.();
    for (const a of this.attached.values()) a.link.close('shutdown');
    this.attached.clear();
  }
}

/** A TCP connection to `to`'s address and port number, or an error after `timeoutMs`. */
export async function connectTcp(to: UdpAddr, timeoutMs: number): Promise<Socket> {
  const { createConnection } = await import('node:net');
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: to.address, port: to.port, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('connect timeout'));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
