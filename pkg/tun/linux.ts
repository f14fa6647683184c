// A real Linux TUN device on an fd opened by the addon. Reads arrive in batches woken by the event loop (see
// native/poll.c); writes are one native call per packet or per batch. Setup (addresses, routes) is in open.ts.

import type { TunAddon, TunPollHandle } from '../native/addon.js';
import type { PacketBatch, TunDevice, TunStats } from './device.js';
import { guarded } from '../log/escaped-errors.js';
import { TunError } from './errors.js';

export const DEFAULT_BATCH_SIZE = 64;

/** What a delivered packet's slot holds once the consumer returned. */
const NO_PACKET = new Uint8Array(0);

/** Where the device counts what operators should see (the node's Counters: the control socket, Prometheus). */
export interface TunCounters {
  inc(name: string, label?: string, by?: number): void;
}

export interface LinuxTunOptions {
  /** Packets per read batch (slots in the read buffer). */
  batchSize?: number;
  /** Joined writes the kernel refused go to `tun{join-refused}` here too (docs/ipv6.md "Offloads"). */
  counters?: TunCounters;
}

export class LinuxTun implements TunDevice {
  readonly stats: TunStats = { readPackets: 0, readBatches: 0, writtenPackets: 0, writeDrops: 0, joinRefusals: 0 };

  private readonly slotSize: number;
  private readonly readBuf: Uint8Array;
  private readonly readLens: Uint32Array;
  // The batch handed to the consumer: one array kept from read to read, its length that of the last read. Emptied
  // with `length = 0`, V8 would allocate its store again on every read (152 B). It starts as a one-packet read leaves
  // it, an array of objects: an empty `[]` is one of small integers until its first store, and code V8 optimized on a
  // used device (the start-up warm-up's) was thrown out when a fresh one met it ("wrong map").
  private readonly packets: Uint8Array[] = [NO_PACKET];
  private consumer: ((batch: PacketBatch) => void) | null = null;
  private errorHandler: ((err: Error) => void) | null = null;
  private poll: TunPollHandle | null = null;
  private closed = false;
  // writeBatch scratch: offsets/lengths for the zero-copy path, a staging buffer when packets live apart.
  private batchOffsets = new Uint32Array(DEFAULT_BATCH_SIZE);
  private batchLens = new Uint32Array(DEFAULT_BATCH_SIZE);
  private staging = new Uint8Array(0);
  // The whole-buffer view handed to the addon for packets that share one ArrayBuffer: made again only when the
  // buffer changes (the pipeline's output chunk is long-lived), not once per write.
  private sharedView: Uint8Array = new Uint8Array(0);
  // Where tun_writev_batch counts the joined writes the kernel refused (moved into stats after each call).
  private readonly refusals = new Uint32Array(1);
  private readonly counters: TunCounters | undefined;

  constructor(
    private readonly addon: TunAddon,
    private readonly fd: number,
    readonly name: string,
    readonly mtu: number,
    opts: LinuxTunOptions = {},
  ) {
    const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
    this.counters = opts.counters;
    // Slots a little larger than the MTU, so an oversized packet shows up as such instead of silently truncated.
    this.slotSize = (mtu + 64) & ~63;
    this.readBuf = new Uint8Array(this.slotSize * batchSize);
    this.readLens = new Uint32Array(batchSize);
  }

  onPackets(cb: (batch: PacketBatch) => void): void {
    // An exception in the consumer drops the batch, never the process.
    this.consumer = guarded('tun', cb);
    if (this.poll !== null || this.closed) return;
    this.poll = this.addon.tun_poll_start(this.fd, this.readBuf, this.readLens, this.slotSize, (err, count) =>
      this.deliver(err, count),
    );
  }

  onError(cb: (err: Error) => void): void {
    this.errorHandler = cb;
  }

  write(packet: Uint8Array): void {
    this.assertOpen();
    let accepted: number;
    try {
      accepted = this.addon.tun_write(this.fd, packet, 0, packet.byteLength);
    } catch (err) {
      throw ioError('write', this.name, err);
    }
    if (accepted === 1) this.stats.writtenPackets++;
    else this.stats.writeDrops++;
  }

  writeBatch(packets: readonly Uint8Array[]): number {
    this.assertOpen();
    const count = packets.length;
    if (count === 0) return 0;
    if (this.batchOffsets.length < count) {
      this.batchOffsets = new Uint32Array(count);
      this.batchLens = new Uint32Array(count);
    }
    const source = this.batchSource(packets);
    let accepted: number;
    try {
      accepted = this.addon.tun_writev_batch(this.fd, source, this.batchOffsets, this.batchLens, count, this.refusals);
    } catch (err) {
      throw ioError('write', this.name, err);
    }
    if (this.refusals[0] !== 0) {
      this.stats.joinRefusals += this.refusals[0];
      this.counters?.inc('tun', 'join-refused', this.refusals[0]);
      this.refusals[0] = 0;
    }
    this.stats.writtenPackets += accepted;
    this.stats.writeDrops += count - accepted;
    return accepted;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.consumer = null;
    // The watcher must leave epoll before the fd number can be reused.
    if (this.poll !== null) this.addon.tun_poll_stop(this.poll);
    this.poll = null;
    try {
      this.addon.tun_close(this.fd);
    } catch (err) {
      throw ioError('close', this.name, err);
    }
  }

  private deliver(err: Error | null, count: number): void {
    if (err !== null) {
      this.poll = null; // the addon stopped the watcher before reporting
      const error = ioError('read', this.name, err);
      if (this.errorHandler) this.errorHandler(error);
      else throw error;
      return;
    }
    const consumer = this.consumer;
    if (consumer === null) return;
    const { readBuf, readLens, slotSize, packets } = this;
    for (let i = 0; i < count; i++) {
      const start = i * slotSize;
      packets[i] = readBuf.subarray(start, start + readLens[i]);
    }
    // A read of as many packets as the last one changes nothing here.
    if (packets.length !== count) packets.length = count;
    this.stats.readPackets += count;
    this.stats.readBatches++;
    consumer(packets);
    // The views die with the callback (see PacketBatch): a batch kept past it holds no bytes of a later read.
    packets.fill(NO_PACKET);
  }

  /**
   * Fills batchOffsets/batchLens and returns the buffer they index. Packets that are views of one ArrayBuffer
   * (the usual case: a pipeline's output slots) go out without a copy; others are copied into `staging`.
   */
  private batchSource(packets: readonly Uint8Array[]): Uint8Array {
    const shared = packets[0].buffer;
    let total = 0;
    let allShared = true;
    for (const p of packets) {
      total += p.byteLength;
      if (p.buffer !== shared) allShared = false;
    }
    const { batchOffsets, batchLens } = this;
    if (allShared) {
      for (let i = 0; i < packets.length; i++) {
        batchOffsets[i] = packets[i].byteOffset;
        batchLens[i] = packets[i].byteLength;
      }
      if (this.sharedView.buffer !== shared) this.sharedView = new Uint8Array(shared);
      return this.sharedView;
    }
    if (this.staging.length < total) this.staging = new Uint8Array(Math.max(total, this.staging.length * 2));
    let off = 0;
    for (let i = 0; i < packets.length; i++) {
      const p = packets[i];
      this.staging.set(p, off);
      batchOffsets[i] = off;
      batchLens[i] = p.byteLength;
      off += p.byteLength;
    }
    return this.staging;
  }

  private assertOpen(): void {
    if (this.closed) throw new TunError('ETUNCLOSED', `tun ${this.name} is closed`);
  }
}

function ioError(op: string, name: string, cause: unknown): TunError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new TunError('ETUNIO', `tun ${name}: ${op} failed: ${detail}`, { cause });
}
