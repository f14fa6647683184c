// The UDP socket seam. Two implementations for real sockets: BatchConn (batch-conn.ts, the addon's recvmmsg and
// sendmmsg; the daemon's default) and DgramConn (node:dgram; the fallback when the addon is missing), plus
// MemoryUdp (memory-udp.ts) for tests.

import type { RemoteInfo, Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { guarded } from '../log/escaped-errors.js';
import { isIpv6Addr, socketAddr, type UdpAddr } from './addr.js';
import type { SenderCache } from './addr-record.js';

/**
 * Buffer contract. Received: `packet` is valid only until the callback returns (a batched connection reuses its
 * receive buffer for the next batch); whoever keeps bytes past that copies them. `from` is immutable and may be
 * kept. Sent: the bytes belong to the connection from `send` on; do not change them afterwards (node:dgram hands
 * them to the kernel a tick later, a batched connection copies them at once).
 *
 * Errors: an exception thrown by an `onPacket` listener is caught by the connection and reported to
 * pkg/log/escaped-errors.ts; it drops that datagram and nothing else. `send` never throws for a transient error, it
 * counts and drops. Sends may be gathered and handed to the kernel together at the end of the current turn of the
 * event loop (before any timer or I/O callback runs), in the order they were made.
 */
export interface UdpConn {
  readonly localPort: number;
  /** Adds a listener; every datagram goes to every listener, in the order they were added (as node:dgram does). */
  onPacket(cb: (packet: Buffer, from: UdpAddr) => void): void;
  /**
   * Adds a listener called once a receive batch has gone to every `onPacket` listener, in the same turn, with how
   * many datagrams it held (node:dgram: one). For work due every so many datagrams without a call per datagram
   * (pkg/daemon/young-generation-ceiling.ts); it does not start receiving.
   */
  onBatchEnd?(cb: (count: number) => void): void;
  send(packet: Uint8Array, to: UdpAddr): void;
  /** Sends with a one-off IP TTL (NAT traversal: open our own mapping without reaching the far NAT). */
  sendWithTtl?(packet: Uint8Array, to: UdpAddr, ttl: number): void;
  /**
   * Connections that remember senders (BatchConn): where the data path names a sender an authenticated packet came
   * from, so that it stays remembered while unauthenticated ones churn a small table (pkg/udp/addr-record.ts).
   */
  readonly senders?: SenderCache;
  /** Batched connections: hand what `send` gathered to the kernel now rather than at the end of the turn. */
  flush?(): void;
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
  private lowTtl: Array<{ packet: Uint8Array; port: number; target: string }> = [];
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly socket: Socket,
    private readonly dualStack: boolean,
  ) {}

  static async open(opts: DgramConnOptions): Promise<DgramConn> {
    const v6 = isIPv6(opts.host);
    // Loaded here, not at the top: only this fallback needs node:dgram, and each node built-in a start-up loads
    // costs it ~0.3 ms (the cold tunnel is measured from process start).
    const { createSocket } = await import('node:dgram');
    const socket = createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: false });
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
    // An exception in the listener drops the datagram; from an EventEmitter it would end the process.
    this.socket.on(
      'message',
      guarded('udp', (msg: Buffer, rinfo: RemoteInfo) => cb(msg, socketAddr(rinfo.address, rinfo.port))),
    );
  }

  onBatchEnd(cb: (count: number) => void): void {
    // node:dgram hands datagrams over one by one: each is a batch of one.
    this.socket.on(
      'message',
      guarded('udp', () => cb(1)),
    );
  }

  private target(to: UdpAddr): string | null {
    if (this.dualStack) return isIpv6Addr(to) ? to.address : `::ffff:${to.address}`;
    return isIpv6Addr(to) ? null : to.address;
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
   * Sends with a one-off IP TTL. TTL is a socket option, and node:dgram hands a datagram to the kernel a tick after
   * `send`. So low-TTL datagrams wait until the sends already under way have left, and sends made meanwhile wait
   * until the low-TTL ones have left and the TTL is back; otherwise a data packet would die with a punch.
   */
  sendWithTtl(packet: Uint8Array, to: UdpAddr, ttl: number): void {
    const target = this.target(to);
    if (target === null) return;
    if (!this.held) {
      this.held = [];
      this.lowTtl = [];
      setImmediate(() => this.flushLowTtl(ttl));
    }
    this.lowTtl.push({ packet: Uint8Array.from(packet), port: to.port, target });
  }

  private flushLowTtl(ttl: number): void {
    const batch = this.lowTtl;
    this.lowTtl = [];
    let left = batch.length;
    const done = (): void => {
      if (--left > 0) return;
      this.socket.setTTL(64);
      const held = this.held ?? [];
      this.held = null;
      for (const h of held) this.send(h.packet, h.to);
    };
    this.socket.setTTL(ttl);
    for (const p of batch) this.socket.send(p.packet, p.port, p.target, done);
  }

  /** Idempotent, like BatchConn's: a failed start and its caller may both close the socket. */
  close(): Promise<void> {
    this.closing ??= new Promise((resolve) => this.socket.close(() => resolve()));
    return this.closing;
  }
}
