// MemoryTun: the in-memory twin of a TUN for pipeline tests. `inject` plays the kernel handing us a packet,
// `written` collects what the pipeline wrote. It keeps LinuxTun's contract, ownership included: packets are
// copied into a batch buffer that is overwritten with 0xEE once the callback returns, so a consumer that keeps a
// view without copying it fails its test instead of failing in production.

import type { PacketBatch, TunDevice, TunStats } from './device.js';
import { guarded } from '../log/escaped-errors.js';
import { TunError } from './errors.js';

export interface MemoryTunOptions {
  name?: string;
  mtu?: number;
  /** Overwrite delivered packets after the callback (default true). */
  poison?: boolean;
}

const POISON = 0xee;

export class MemoryTun implements TunDevice {
  readonly name: string;
  readonly mtu: number;
  readonly stats: TunStats = { readPackets: 0, readBatches: 0, writtenPackets: 0, writeDrops: 0, joinRefusals: 0 };
  /** Copies of every packet written, in order. */
  readonly written: Uint8Array[] = [];
  closed = false;

  private consumer: ((batch: PacketBatch) => void) | null = null;
  private writeListener: ((packet: Uint8Array) => void) | null = null;
  private readonly pending: Uint8Array[] = [];
  private readonly poison: boolean;

  constructor(opts: MemoryTunOptions = {}) {
    this.name = opts.name ?? 'memtun0';
    this.mtu = opts.mtu ?? 1300;
    this.poison = opts.poison ?? true;
  }

  onPackets(cb: (batch: PacketBatch) => void): void {
    // Guarded like the kernel device's consumer, so tests see what the daemon would.
    this.consumer = guarded('tun', cb);
    if (this.pending.length > 0) this.deliver(this.pending.splice(0));
  }

  /** Delivers one packet as one batch, synchronously; queued until onPackets like the kernel would. */
  inject(packet: Uint8Array): void {
    this.injectBatch([packet]);
  }

  /** Delivers packets as one batch, synchronously. */
  injectBatch(packets: readonly Uint8Array[]): void {
    if (this.closed) return;
    if (this.consumer === null) this.pending.push(...packets.map((p) => p.slice()));
    else this.deliver(packets);
  }

  /** Called with each written packet (a copy), e.g. to wire two pipelines together. */
  onWrite(cb: (packet: Uint8Array) => void): void {
    this.writeListener = cb;
  }

  write(packet: Uint8Array): void {
    if (this.closed) throw new TunError('ETUNCLOSED', `tun ${this.name} is closed`);
    const copy = packet.slice();
    this.written.push(copy);
    this.stats.writtenPackets++;
    this.writeListener?.(copy);
  }

  writeBatch(packets: readonly Uint8Array[]): number {
    for (const p of packets) this.write(p);
    return packets.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.consumer = null;
    this.pending.length = 0;
  }

  private deliver(packets: readonly Uint8Array[]): void {
    const consumer = this.consumer;
    if (consumer === null) return;
    const total = packets.reduce((n, p) => n + p.byteLength, 0);
    const buf = new Uint8Array(total);
    const views: Uint8Array[] = [];
    let off = 0;
    for (const p of packets) {
      buf.set(p, off);
      views.push(buf.subarray(off, off + p.byteLength));
      off += p.byteLength;
    }
    this.stats.readPackets += views.length;
    this.stats.readBatches++;
    consumer(views);
    if (this.poison) buf.fill(POISON);
    views.length = 0;
  }
}
