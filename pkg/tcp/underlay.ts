// The underlay as the daemon sees it once TCP is in play: a UdpConn that sends each datagram over UDP, or over TCP
// when its destination is TCP-attached (docs/tcp-fallback.md):
//   - a virtual address (tcp-addr.ts): a peer connected to our TCP listener (server.ts), lighthouses and relays;
//   - a routed address: a lighthouse or relay whose UDP address we reach over our own TCP link while UDP is blocked
//     (fallback.ts). Frames from that link arrive as datagrams from that same UDP address, so the tunnel above never
//     notices the change of transport.
// Listeners get a third argument, true for a frame that came over TCP.

import { escapedErrors } from '../log/escaped-errors.js';
import { addrKey, type UdpAddr } from '../udp/addr.js';
import type { UdpConn } from '../udp/udp-conn.js';
import type { TcpLink } from './link.js';
import type { TcpServer } from './server.js';
import { isTcpAddr } from './tcp-addr.js';

export type PacketListener = (packet: Buffer, from: UdpAddr, overTcp?: boolean) => void;

export class TcpUnderlay implements UdpConn {
  private readonly listeners: PacketListener[] = [];
  private readonly batchEnds: Array<(count: number) => void> = [];
  private readonly routes = new Map<string, TcpLink>();
  server: TcpServer | null = null;

  constructor(readonly udp: UdpConn) {
    udp.onPacket((packet, from) => this.deliver(packet, from, false));
  }

  get localPort(): number {
    return this.udp.localPort;
  }

  onPacket(cb: PacketListener): void {
    this.listeners.push(cb);
  }

  /** The UDP connection's batches, and each frame over TCP as a batch of one (node hands them over one by one). */
  onBatchEnd(cb: (count: number) => void): void {
    this.udp.onBatchEnd?.(cb);
    this.batchEnds.push(cb);
  }

  /** A datagram or a frame for the listeners. */
  deliver(packet: Buffer, from: UdpAddr, overTcp: boolean): void {
    // As the UDP connection guards its listeners: a throw drops that packet and nothing else.
    for (const l of this.listeners) {
      try {
        l(packet, from, overTcp);
      } catch (e) {
        escapedErrors.report(overTcp ? 'tcp' : 'udp', e);
      }
    }
    if (!overTcp) return;
    for (const end of this.batchEnds) {
      try {
        end(1);
      } catch (e) {
        escapedErrors.report('tcp', e);
      }
    }
  }

  send(packet: Uint8Array, to: UdpAddr): void {
    if (isTcpAddr(to)) {
      this.server?.send(packet, to);
      return;
    }
    const link = this.routes.size > 0 ? this.routes.get(addrKey(to)) : undefined;
    if (link) link.send(packet);
    else this.udp.send(packet, to);
  }

  /** Over UDP whatever the route: probing whether UDP works again. */
  sendUdp(packet: Uint8Array, to: UdpAddr): void {
    this.udp.send(packet, to);
  }

  /** Low-TTL punches open NAT mappings for UDP; toward a TCP-attached address they would open nothing. */
  sendWithTtl(packet: Uint8Array, to: UdpAddr, ttl: number): void {
    if (isTcpAddr(to) || this.routed(to)) return;
    this.udp.sendWithTtl?.(packet, to, ttl);
  }

  flush(): void {
    this.udp.flush?.();
  }

  /** From now on, what is sent to `to` goes over `link` (until `unroute`). */
  route(to: UdpAddr, link: TcpLink): void {
    this.routes.set(addrKey(to), link);
  }

  unroute(to: UdpAddr, link?: TcpLink): void {
    const key = addrKey(to);
    if (!link || this.routes.get(key) === link) this.routes.delete(key);
  }

  routed(to: UdpAddr): boolean {
    return this.routes.size > 0 && this.routes.has(addrKey(to));
  }

  async close(): Promise<void> {
    for (const link of this.routes.values()) link.close('shutdown');
    this.routes.clear();
    await this.server?.close();
    await this.udp.close();
  }
}
