// The TUN seam between the kernel and the data path. Two implementations: LinuxTun (a real /dev/net/tun device,
// linux.ts) and MemoryTun (an in-memory twin for pipeline tests, memory.ts).

/**
 * One read from the TUN: the packets the kernel had queued when the fd became readable (up to the batch size),
 * each one whole IP packet.
 *
 * Ownership contract: the packets are views into one buffer that the device reuses for the next batch, and the
 * array itself is reused too. Both are valid only until the callback returns. Whoever needs a packet later
 * (queue it behind a handshake, say) copies it: `packet.slice()`.
 */
export type PacketBatch = readonly Uint8Array[];

export interface TunStats {
  /** Packets read from the kernel and delivered to `onPackets`. */
  readPackets: number;
  /** Callbacks made (one per batch); readPackets / readBatches is the mean batch size. */
  readBatches: number;
  /** Packets the kernel accepted from `write`/`writeBatch`. */
  writtenPackets: number;
  /** Packets dropped on write: the kernel queue was full, or it refused the packet (not IP). */
  writeDrops: number;
  /** Joined writes the kernel refused, whose packets then went one by one (docs/ipv6.md "Offloads"). */
  joinRefusals: number;
}

export interface TunDevice {
  /** Interface name as the kernel knows it ("mesh1", "tun0"). */
  readonly name: string;
  /** Device MTU: the largest packet `onPackets` delivers and `write` should be given. */
  readonly mtu: number;
  readonly stats?: TunStats;
  /**
   * Registers the one consumer of packets read from the TUN (a second call replaces it). Reading starts with the
   * first call; until then the kernel queues packets (up to the device's txqueuelen). The callback runs on the
   * event loop, once per batch; see PacketBatch for how long its packets live.
   */
  onPackets(cb: (batch: PacketBatch) => void): void;
  /**
   * Read failures are fatal for the device (reading stops). Without a handler the error is thrown from the event
   * loop, like an EventEmitter 'error' nobody listens to.
   */
  onError?(cb: (err: Error) => void): void;
  /**
   * Hands one IP packet to the kernel. The bytes are consumed before `write` returns, so the caller may reuse its
   * buffer at once. A full kernel queue drops the packet (counted in stats.writeDrops), it never throws for that;
   * it throws TunError ETUNCLOSED after close and ETUNIO when the device is unusable.
   */
  write(packet: Uint8Array): void;
  /** As `write`, for many packets in one native call. Returns how many the kernel accepted. */
  writeBatch(packets: readonly Uint8Array[]): number;
  /**
   * Stops reading and closes the device. The kernel deletes a non-persistent TUN, with its addresses and routes,
   * when its last fd closes. Idempotent.
   */
  close(): Promise<void>;
}
