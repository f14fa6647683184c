// The server side of the TCP fallback (lighthouses and relays, docs/tcp-fallback.md): accepts TCP connections,
// gives each a virtual address (tcp-addr.ts), feeds its frames into the receive path and carries what the daemon
// sends to that address back on it.
//
// Bounds (docs/security-model.md): MAX_CONNECTIONS in all, where a new connection takes the place of the oldest one
// no tunnel has used yet (or is closed when every one is in use), and MAX_PER_IP from one source address, beyond
// which a new connection is closed at once; a connection that is no tunnel's remote AUTH_DEADLINE_MS after it opened (no
// handshake completed over it: a scanner, a slowloris) is closed, and so is one that stopped being any tunnel's
// remote for UNUSED_CLOSE_MS (the peer went back to UDP, or its tunnel closed); one frame of partial input and
// MAX_BACKLOG unsent bytes per connection (link.ts).

import { createServer, type Server, type Socket } from 'node:net';
import { after, type Clock } from '../clock/clock.js';
import type { Counters } from '../metrics/counters.js';
import { addrKey, socketAddr, type UdpAddr } from '../udp/addr.js';
import { TcpLink } from './link.js';
import { isTcpAddr, tcpAddr } from './tcp-addr.js';

export const MAX_CONNECTIONS = 1024;
export const MAX_PER_IP = 32;
export const AUTH_DEADLINE_MS = 5000;
export const UNUSED_CLOSE_MS = 30_000;
export const SWEEP_INTERVAL_MS = 1000;

export interface TcpServerEnv {
  clock: Clock;
  counters: Counters;
  /** A frame from a connection, as a datagram from its virtual address. */
  deliver(packet: Buffer, from: UdpAddr): void;
  /** The addrKeys of every tunnel's remote (read once per sweep). */
  remotesInUse(): ReadonlySet<string>;
  /** Tests: smaller bounds. */
  limits?: { maxConnections?: number; maxPerIp?: number };
}

interface Accepted {
  link: TcpLink;
  addr: UdpAddr;
  ip: string;
  openedAt: number;
  /** When it was last some tunnel's remote; -1 while it never was. */
  usedAt: number;
}

export class TcpServer {
  private readonly conns = new Map<number, Accepted>();
  private readonly perIp = new Map<string, number>();
  private next = 0;
  private cancelSweep: (() => void) | null = null;
  private closed = false;

  private constructor(
    private readonly server: Server,
    private readonly env: TcpServerEnv,
  ) {}

  static async listen(host: string, port: number, env: TcpServerEnv): Promise<TcpServer> {
    const server = createServer({ noDelay: true });
    const s = new TcpServer(server, env);
    server.on('connection', (socket) => s.accept(socket));
    server.on('error', () => env.counters.inc('tcp', 'listen-error'));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, backlog: 128 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return s;
  }

  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  get connections(): number {
    return this.conns.size;
  }

  /** Test seam and the listener's own path: takes over a connected socket, or closes it when a bound is hit. */
  accept(socket: Socket): void {
    const env = this.env;
    const ip = socketAddr(socket.remoteAddress ?? '', 0).address;
    if (this.closed || ip === '' || socket.destroyed) return void socket.destroy();
    const fromIp = this.perIp.get(ip) ?? 0;
    if (fromIp >= (env.limits?.maxPerIp ?? MAX_PER_IP)) return this.refuse(socket, 'tcp-connections-per-ip');
    if (this.conns.size >= (env.limits?.maxConnections ?? MAX_CONNECTIONS) && !this.evictUnused()) {
      return this.refuse(socket, 'tcp-connections-full');
    }
    let id = this.next;
    while (this.conns.has(tcpAddr(ip, id).port)) id++;
    this.next = id + 1;
    const addr = tcpAddr(ip, id);
    const link = new TcpLink(socket, env.counters, {
      frame: (packet) => env.deliver(packet, addr),
      closed: () => this.forget(addr.port, ip),
    });
    this.conns.set(addr.port, { link, addr, ip, openedAt: env.clock.now(), usedAt: -1 });
    this.perIp.set(ip, fromIp + 1);
    env.counters.inc('tcp', 'accepted');
    this.armSweep();
  }

  /**
   * Full: the oldest connection no tunnel has used yet goes (a flood of idle connections then only churns itself,
   * and a peer's handshake, done in a round trip, is marked used at the next sweep). False when all are in use.
   */
  private evictUnused(): boolean {
    for (const c of this.conns.values()) {
      if (c.usedAt >= 0) continue;
      this.env.counters.inc('drops', 'tcp-evicted-unused');
      c.link.close('evicted');
      return true;
    }
    return false;
  }

  private refuse(socket: Socket, reason: string): void {
    this.env.counters.inc('drops', reason);
    socket.destroy();
  }

  private forget(port: number, ip: string): void {
    if (!this.conns.delete(port)) return;
    const n = (this.perIp.get(ip) ?? 1) - 1;
    if (n <= 0) this.perIp.delete(ip);
    else this.perIp.set(ip, n);
    this.env.counters.inc('tcp', 'closed');
  }

  /** Sends to a virtual address; false when it names no open connection (or its backlog is full). */
  send(packet: Uint8Array, to: UdpAddr): boolean {
    if (!isTcpAddr(to)) return false;
    const c = this.conns.get(to.port);
    if (!c || c.ip !== to.address) {
      this.env.counters.inc('drops', 'tcp-send-no-connection');
      return false;
    }
    return c.link.send(packet);
  }

  /** Whether `to` names an open connection. */
  has(to: UdpAddr): boolean {
    return this.conns.get(to.port)?.ip === to.address;
  }

  private armSweep(): void {
    if (this.cancelSweep || this.closed) return;
    this.cancelSweep = after(this.env.clock, SWEEP_INTERVAL_MS, () => {
      this.cancelSweep = null;
      this.sweep();
      if (this.conns.size > 0) this.armSweep();
    });
  }

  /** Closes connections past their deadline; see the bounds at the top. */
  sweep(): void {
    if (this.conns.size === 0) return;
    const now = this.env.clock.now();
    const inUse = this.env.remotesInUse();
    for (const c of [...this.conns.values()]) {
      if (inUse.has(addrKey(c.addr))) {
        c.usedAt = now;
        continue;
      }
      if (c.usedAt < 0 && now - c.openedAt >= AUTH_DEADLINE_MS) {
        this.env.counters.inc('drops', 'tcp-no-handshake');
        c.link.close('no-handshake');
      } else if (c.usedAt >= 0 && now - c.usedAt >= UNUSED_CLOSE_MS) {
        this.env.counters.inc('tcp', 'closed-unused');
        c.link.close('unused');
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cancelSweep?.();
    for (const c of [...this.conns.values()]) c.link.close('shutdown');
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
