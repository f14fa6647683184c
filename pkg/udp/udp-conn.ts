// The UDP socket seam. Contract: `onPacket` callbacks receive a buffer that the callee may keep (node:dgram gives
// each datagram its own Buffer); `send` never throws for a transient error, it counts and drops.

import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { udpAddr, type UdpAddr } from './addr.js';

export interface UdpConn {
  readonly localPort: number;
  onPacket(cb: (packet: Buffer, from: UdpAddr) => void): void;
  send(packet: Uint8Array, to: UdpAddr): void;
  /** Sends with a one-off IP TTL (NAT traversal: open our own mapping without reaching the far NAT). */
  sendWithTtl?(packet: Uint8Array, to: UdpAddr, ttl: number): void;
  close(): Promise<void>;
}

export interface DgramConnOptions {
  host: string;
  port: number;
  readBuffer?: number;
  writeBuffer?: number;
}

export class DgramConn implements UdpConn {
  sendErrors = 0;
  private held: Array<{ packet: Uint8Array; to: UdpAddr }> | null = null;
  private lowTtlInFlight = 0;

  private constructor(
    private readonly socket: dgram.Socket,
    private readonly dualStack: boolean,
  ) {}

  static async open(opts: DgramConnOptions): Promise<DgramConn> {
    const v6 = isIPv6(opts.host);
    const socket = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: false });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(opts.port, opts.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    if (opts.readBuffer) socket.setRecvBufferSize(opts.readBuffer);
    if (opts.writeBuffer) socket.setSendBufferSize(opts.writeBuffer);
    const conn = new DgramConn(socket, v6);
    socket.on('error', () => {
      conn.sendErrors++;
    });
    return conn;
  }

  get localPort(): number {
    return this.socket.address().port;
  }

  onPacket(cb: (packet: Buffer, from: UdpAddr) => void): void {
    this.socket.on('message', (msg, rinfo) => cb(msg, udpAddr(rinfo.address, rinfo.port)));
  }

  private target(to: UdpAddr): string | null {
    if (this.dualStack) return isIPv6(to.address) ? to.address : `::ffff:${to.address}`;
    return isIPv6(to.address) ? null : to.address;
  }

  send(packet: Uint8Array, to: UdpAddr): void {
    if (this.held) {
      this.held.push({ packet: Uint8Array.from(packet), to });
      return;
    }
    const target = this.target(to);
    if (target === null) return;
    this.socket.send(packet, to.port, target, (err) => {
      if (err) this.sendErrors++;
    });
  }

  /**
   * Sends with a one-off IP TTL. TTL is a socket option and node:dgram hands datagrams to the kernel a tick after
   * `send`, so ordinary sends are held back until the low-TTL ones have left and the TTL is restored; otherwise a
   * data packet sent in the same tick would die with the punch.
   */
  sendWithTtl(packet: Uint8Array, to: UdpAddr, ttl: number): void {
    const target = this.target(to);
    if (target === null) return;
    if (!this.held) {
      this.held = [];
      this.socket.setTTL(ttl);
    }
    this.lowTtlInFlight++;
    this.socket.send(packet, to.port, target, () => {
      if (--this.lowTtlInFlight > 0) return;
      this.socket.setTTL(64);
      const held = this.held ?? [];
      this.held = null;
      for (const h of held) this.send(h.packet, h.to);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
