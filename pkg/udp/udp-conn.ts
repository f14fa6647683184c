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
    const target = this.target(to);
    if (target === null) return;
    this.socket.send(packet, to.port, target, (err) => {
      if (err) this.sendErrors++;
    });
  }

  sendWithTtl(packet: Uint8Array, to: UdpAddr, ttl: number): void {
    const target = this.target(to);
    if (target === null) return;
    // TTL is per socket and node:dgram hands the datagram to the kernel a tick later, so the TTL is restored only
    // once the datagram has gone.
    this.socket.setTTL(ttl);
    this.socket.send(packet, to.port, target, () => this.socket.setTTL(64));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
