// UdpConn on the addon's batched UDP (pkg/native/udp.c): recvmmsg batches woken by the event loop, and sends
// gathered into one sendmmsg per turn of the loop. One crossing between JavaScript and C per batch each way, and
// no allocation per datagram beyond a Buffer view (received) and a copy into the send buffer (sent).
//
//   receive  kernel --recvmmsg--> recvBuf slots + records --one call--> onPacket(view, from) per datagram
//   send     send(packet, to) copies into sendBuf + a record; the first one of a turn queues a microtask that
//            hands them all to sendmmsg (the addon's callbacks run microtasks before returning to the loop, so a
//            batch of TUN packets or UDP datagrams goes out as one batch). A full send buffer flushes at once.
//
// Addresses cross as numbers (addr-record.ts). A one-off TTL rides in the record, so sendWithTtl needs no socket
// option toggling and ordinary sends in the same batch keep the default TTL.

import { loadNativeAddon, UDP_META_WORDS, type UdpAddon, type UdpPollHandle } from '../native/addon.js';
import type { UdpAddr } from './addr.js';
import { guarded } from '../log/escaped-errors.js';
import { AddrTable, type SenderCache } from './addr-record.js';
import type { UdpConn } from './udp-conn.js';
import { atTurnEnd } from '../schedule/turn-end.js';

const W = UDP_META_WORDS;
const TTL_SHIFT = 8;

export interface BatchConnOptions {
  host: string;
  port: number;
  /**
   * SO_RCVBUF in bytes. Absent: DEFAULT_READ_BUFFER, not the kernel's 208 KiB, because batching peers (we are one)
   * send in bursts of tens of datagrams and a receiver that is off the CPU for a few milliseconds must not lose
   * them (the daemon passes listen.read_buffer, absent when unset). 0: the kernel default.
   */
  readBuffer?: number;
  /** SO_SNDBUF in bytes (0 or absent: the kernel default; a full buffer is waited out, see udp.c). */
  writeBuffer?: number;
  /**
   * Receive a peer's coalesced runs whole (UDP_GRO, cut by the addon; docs/ipv6.md "The underlay socket"). Default
   * true unless MESH_UDP_GRO=0; listen.gro. Where the kernel refuses, datagrams arrive one by one as before.
   */
  gro?: boolean;
  /** Datagrams per recvmmsg batch; default 64. */
  batchSize?: number;
  /** Largest datagram received whole; larger ones are dropped by the addon. Default 9216 (a 9001-byte MTU). */
  maxDatagram?: number;
  /** Defaults to the project's addon; tests may pass another implementation. */
  addon?: UdpAddon;
}

export interface BatchConnStats {
  received: number;
  receiveBatches: number;
  sent: number;
  sendBatches: number;
  /** Datagrams the kernel did not take (send buffer full past the addon's wait, or unreachable family). */
  sendDrops: number;
}

export class BatchConnError extends Error {
  override name = 'BatchConnError';
  constructor(
    readonly code: 'EUDPOPEN' | 'EUDPCLOSED',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export const DEFAULT_READ_BUFFER = 4 * 1024 * 1024;
const DEFAULT_BATCH = 64;
const DEFAULT_MAX_DATAGRAM = 9216;
const SEND_BUFFER_BYTES = 256 * 1024;
const SEND_RECORDS = 256;
const MAX_UDP_PAYLOAD = 65507;

export class BatchConn implements UdpConn {
  readonly stats: BatchConnStats = { received: 0, receiveBatches: 0, sent: 0, sendBatches: 0, sendDrops: 0 };
  /** MESH_UDP_SENDERS=0: a new address object per datagram instead of the sender tables (a benchmark's A/B). */
  private readonly addrs = new AddrTable(undefined, undefined, process.env.MESH_UDP_SENDERS !== '0');
  /** The data path keeps authenticated senders here (UdpConn.senders); the rest stay in a small table. */
  readonly senders: SenderCache = this.addrs;
  private readonly recvBuf: Buffer;
  private readonly recvMeta: Uint32Array;
  private readonly slotSize: number;
  private readonly sendBuf = Buffer.allocUnsafe(SEND_BUFFER_BYTES);
  private readonly sendMeta = new Uint32Array(SEND_RECORDS * W);
  private sendCount = 0;
  private sendBytes = 0;
  private flushQueued = false;
  private readonly flushNow = (): void => this.flush();
  private listeners: Array<(packet: Buffer, from: UdpAddr) => void> = [];
  private batchEnds: Array<(count: number) => void> = [];
  private errorHandler: ((err: Error) => void) | null = null;
  private poll: UdpPollHandle | null = null;
  private closed = false;

  private constructor(
    private readonly addon: UdpAddon,
    private readonly fd: number,
    readonly localPort: number,
    batchSize: number,
    maxDatagram: number,
  ) {
    this.slotSize = (maxDatagram + 63) & ~63;
    // Not zero-filled: untouched pages stay out of the resident set (a 1300-byte datagram touches one page of its
    // slot), and no byte is read that the kernel did not write.
    this.recvBuf = Buffer.allocUnsafeSlow(this.slotSize * batchSize);
    this.recvMeta = new Uint32Array(batchSize * W);
  }

  /** Binds the socket; throws BatchConnError EUDPOPEN (with the errno error as cause) when the addon cannot. */
  static async open(opts: BatchConnOptions): Promise<BatchConn> {
    const addon = opts.addon ?? loadNativeAddon();
    let opened: { fd: number; port: number };
    try {
      opened = addon.udp_open(opts.host, opts.port);
    } catch (err) {
      throw new BatchConnError('EUDPOPEN', `cannot listen on ${opts.host}:${opts.port}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    try {
      const readBuffer = opts.readBuffer ?? DEFAULT_READ_BUFFER;
      if (readBuffer || opts.writeBuffer) addon.udp_set_buffers(opened.fd, readBuffer, opts.writeBuffer ?? 0);
    } catch (err) {
      addon.udp_close(opened.fd);
      throw new BatchConnError(
        'EUDPOPEN',
        `cannot size the buffers of ${opts.host}:${opts.port}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    // Where the kernel refuses, the addon's reader takes datagrams one by one (udp_set_gro returns false).
    if ((opts.gro ?? true) && process.env.MESH_UDP_GRO !== '0') addon.udp_set_gro(opened.fd, true);
    return new BatchConn(
      addon,
      opened.fd,
      opened.port,
      opts.batchSize ?? DEFAULT_BATCH,
      opts.maxDatagram ?? DEFAULT_MAX_DATAGRAM,
    );
  }

  /**
   * Adds a listener (each datagram goes to every listener, in the order they were added) and starts receiving.
   * `packet` is a view into the receive buffer, valid until the callback returns (see the UdpConn contract);
   * `from` is immutable and shared by every datagram from that sender.
   */
  onPacket(cb: (packet: Buffer, from: UdpAddr) => void): void {
    // Guarded once here: a listener's exception drops that datagram for that listener, never the batch or the process.
    this.listeners = [...this.listeners, guarded('udp', cb)];
    if (this.poll !== null || this.closed) return;
    this.poll = this.addon.udp_poll_start(this.fd, this.recvBuf, this.recvMeta, this.slotSize, (err, count) =>
      this.deliver(err, count),
    );
  }

  /** Adds a listener for each receive batch's end (UdpConn.onBatchEnd), called after every `onPacket` listener. */
  onBatchEnd(cb: (count: number) => void): void {
    this.batchEnds = [...this.batchEnds, guarded('udp', cb)];
  }

  /** Read failures end receiving; without a handler the error is thrown from the event loop. */
  onError(cb: (err: Error) => void): void {
    this.errorHandler = cb;
  }

  send(packet: Uint8Array, to: UdpAddr): void {
    this.queue(packet, to, 0);
  }

  sendWithTtl(packet: Uint8Array, to: UdpAddr, ttl: number): void {
    this.queue(packet, to, Math.min(255, Math.max(1, ttl | 0)));
  }

  /** Hands every queued datagram to the kernel now (normally a microtask does this at the end of the turn). */
  flush(): void {
    this.flushQueued = false;
    const count = this.sendCount;
    if (count === 0 || this.closed) return;
    this.sendCount = 0;
    this.sendBytes = 0;
    let sent = 0;
    try {
      sent = this.addon.udp_sendmmsg(this.fd, this.sendBuf, this.sendMeta, count);
    } catch {
      // The socket itself failed (EBADF after a close race, say); like a transient error, counted and dropped.
    }
    this.stats.sent += sent;
    this.stats.sendBatches++;
    this.stats.sendDrops += count - sent;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.listeners = [];
    this.batchEnds = [];
    // The watcher must leave epoll before the descriptor number can be reused.
    if (this.poll !== null) this.addon.udp_poll_stop(this.poll);
    this.poll = null;
    this.addon.udp_close(this.fd);
  }

  private queue(packet: Uint8Array, to: UdpAddr, ttl: number): void {
    if (this.closed) return;
    const words = this.addrs.toWords(to);
    const length = packet.byteLength;
    if (words === null || length > MAX_UDP_PAYLOAD) {
      this.stats.sendDrops++;
      return;
    }
    if (this.sendCount === SEND_RECORDS || this.sendBytes + length > SEND_BUFFER_BYTES) this.flush();
    const offset = this.sendBytes;
    this.sendBuf.set(packet, offset);
    const m = this.sendMeta;
    const r = this.sendCount * W;
    m[r] = offset;
    m[r + 1] = length;
    m[r + 2] = words[0] | (ttl << TTL_SHIFT);
    m[r + 3] = to.port;
    m[r + 4] = words[1];
    m[r + 5] = words[2];
    m[r + 6] = words[3];
    m[r + 7] = words[4];
    this.sendCount++;
    this.sendBytes = offset + length;
    if (!this.flushQueued) {
      this.flushQueued = true;
      atTurnEnd(this.flushNow);
    }
  }

  private deliver(err: Error | null, count: number): void {
    if (err !== null) {
      this.poll = null; // the addon stopped the watcher before reporting
      // Like an EventEmitter 'error' nobody listens to: a socket that cannot read any more must not go unnoticed.
      if (this.errorHandler) this.errorHandler(err);
      else throw err;
      return;
    }
    const { recvBuf, recvMeta, addrs, listeners, batchEnds } = this;
    this.stats.received += count;
    this.stats.receiveBatches++;
    for (let i = 0; i < count; i++) {
      const r = i * W;
      const offset = recvMeta[r];
      const packet = recvBuf.subarray(offset, offset + recvMeta[r + 1]);
      const from = addrs.fromRecord(recvMeta, r);
      for (let k = 0; k < listeners.length; k++) listeners[k](packet, from);
    }
    for (let k = 0; k < batchEnds.length; k++) batchEnds[k](count);
  }
}
