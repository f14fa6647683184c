// The in-memory twin of UdpConn: sockets on a shared MemoryNetwork deliver to each other by address on the next
// microtask (or when a DeliveryPacer says so), so pipeline tests run real packets through both nodes without the
// kernel. `drop` lets a test lose or inspect datagrams.

import { guarded } from '../log/escaped-errors.js';
import { addrKey, type UdpAddr } from './addr.js';
import type { UdpConn } from './udp-conn.js';

/** Decides when a datagram in flight arrives: `arrive` is called once, or never if the pacer was closed. */
export interface DeliveryPacer {
  pace(arrive: () => void): void;
}

/** The default: every datagram arrives on the next microtask, before any I/O callback of the process runs. */
const NEXT_MICROTASK: DeliveryPacer = { pace: (arrive) => queueMicrotask(arrive) };

export class MemoryNetwork {
  constructor(private readonly pacer: DeliveryPacer = NEXT_MICROTASK) {}

  private readonly sockets = new Map<string, MemoryUdp>();
  /** Return true to drop a datagram in flight. */
  drop: (packet: Uint8Array, from: UdpAddr, to: UdpAddr) => boolean = () => false;
  delivered = 0;

  bind(address: string, port: number): MemoryUdp {
    const conn = new MemoryUdp(this, { address, port });
    this.sockets.set(addrKey(conn.addr), conn);
    return conn;
  }

  deliver(packet: Uint8Array, from: UdpAddr, to: UdpAddr): void {
    if (this.drop(packet, from, to)) return;
    const target = this.sockets.get(addrKey(to));
    if (!target) return;
    const copy = Buffer.from(packet);
    this.delivered++;
    this.pacer.pace(() => target.receive(copy, from));
  }

  unbind(conn: MemoryUdp): void {
    this.sockets.delete(addrKey(conn.addr));
  }
}

export class MemoryUdp implements UdpConn {
  private handler: ((packet: Buffer, from: UdpAddr) => void) | null = null;
  readonly sent: Array<{ packet: Uint8Array; to: UdpAddr }> = [];

  constructor(
    private readonly net: MemoryNetwork,
    readonly addr: UdpAddr,
  ) {}

  get localPort(): number {
    return this.addr.port;
  }

  onPacket(cb: (packet: Buffer, from: UdpAddr) => void): void {
    // Guarded like the real connections (see UdpConn), so tests see what the daemon would.
    this.handler = guarded('udp', cb);
  }

  receive(packet: Buffer, from: UdpAddr): void {
    this.handler?.(packet, from);
  }

  send(packet: Uint8Array, to: UdpAddr): void {
    this.sent.push({ packet: Uint8Array.from(packet), to });
    this.net.deliver(packet, this.addr, to);
  }

  async close(): Promise<void> {
    this.net.unbind(this);
  }
}
