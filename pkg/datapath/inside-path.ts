// What the inside pipeline (inside.ts, tunnel-sender.ts) keeps for one node between packets: the data packets
// waiting to be sealed (step 4) and step 1's last IPv6 destination. One per node (DataPathContext.pipelines), never
// module state: two nodes in one process (the unit tests run many) must not seal into each other's batch.

import { vpnIp6FromBytes, type VpnIp } from '../ip/vpn-ip.js';
import type { DataPathContext } from './context.js';
import { SealBatch } from './seal-batch.js';
import { SealAccounting } from './tunnel-sender.js';

export class InsidePath {
  // Made with the node, not at its first data packet: on a running node that is a first contact's queued packet,
  // which would wait for it (15-60 us in the interpreter). Only SealBatch's record chunks wait for the first packet;
  // SealAccounting reads the context only when a batch reports, so the node may build this before the rest of itself.
  private readonly seals: SealBatch;
  // The last IPv6 destination and its text: a burst from the TUN is nearly always one flow, and making the string
  // (then parsing it back for the network check) cost ~1.1 us a packet, the comparison ~20 ns.
  private readonly lastDst6 = new Uint8Array(16);
  private lastDst6Text: VpnIp | null = null;

  constructor(ctx: DataPathContext) {
    this.seals = new SealBatch(new SealAccounting(ctx));
  }

  /** Step 4's batch, the node's one for its life. */
  sealBatch(): SealBatch {
    return this.seals;
  }

  /**
   * A batch of packets read from the TUN starts: its data packets are sealed and sent at endTunRead, right after the
   * last of them, instead of from a microtask at the end of the turn (seal-batch.ts hold). The reader must call
   * endTunRead, also when a packet's handling throws.
   */
  beginTunRead(): void {
    this.seals.hold();
  }

  /** The TUN read ends: what it added is sealed and sent now. */
  endTunRead(): void {
    this.seals.release();
  }

  /** Seals and sends the data packets batched so far. */
  flushSealed(): void {
    this.seals.flush();
  }

  /** The destination of an IPv6 packet (at least 40 bytes) as an overlay address. */
  destination6(packet: Uint8Array, offset: number): VpnIp {
    const last = this.lastDst6;
    if (this.lastDst6Text !== null) {
      let same = true;
      for (let i = 0; i < 16; i++) {
        if (packet[offset + i] !== last[i]) {
          same = false;
          break;
        }
      }
      if (same) return this.lastDst6Text;
    }
    const dst = vpnIp6FromBytes(packet, offset);
    last.set(packet.subarray(offset, offset + 16));
    this.lastDst6Text = dst;
    return dst;
  }
}
