// Step 5 of the outside pipeline (decrypt) for data packets, batched: the packets of one received batch are copied
// into a CryptoBatch as they pass steps 1-4 (header, lookup, replay check), and opened together, one addon crossing
// per tunnel, when the batch ends: from a microtask (the addon runs microtasks right after each batch of datagrams,
// before it reads the next), or at once before anything else is handled (outside.ts flushes before every packet
// that is not a data packet, so a handshake, close or control message never overtakes data that arrived before it).
//
// Only packets that came straight from the socket are batched (relayed ones are opened at once: the relay looks at
// what each did). Order is the pipeline's: `onOpened` gets every record in arrival order, with null for one that did
// not authenticate; the replay window is only updated there, after the open, so a packet failing to open never moves it
// (docs/security-model.md). A packet added while the batch is being delivered (nothing does this today) is opened
// and delivered on its own at once.
//
// Time: the clock is read once per opened batch, and every record of it is handed that one time (lastRecvAt, the
// inbound firewall's conntrack): nothing after the open needs finer time than a batch takes (docs/state-machines.md,
// "Data path time"), and a read per packet was ~10% of a receiver's CPU in a 64-byte flood.

import type { Clock } from '../clock/clock.js';
import { HEADER_LEN } from '../header/header.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import { AEAD_TAG_LEN } from '../noise/aead.js';
import { AEAD_META_WORDS as W, openRecords } from '../noise/session-aead.js';
import type { UdpAddr } from '../udp/addr.js';
import { CryptoBatch, MAX_RECORDS } from './crypto-batch.js';
import { releaseSlots, reusedSlots } from './reused-slots.js';
import { atTurnEnd } from '../schedule/turn-end.js';

/** `now`: the batch's time, read once when it was opened. */
export type OnOpened = (host: HostInfo, plaintext: Buffer | null, counter: number, from: UdpAddr, now: number) => void;

export class OpenBatch {
  private readonly batch = new CryptoBatch();
  // Per record, written by index up to the batch's count (reused-slots.ts).
  private readonly hosts = reusedSlots<HostInfo | undefined>(MAX_RECORDS, undefined);
  private readonly froms = reusedSlots<UdpAddr | undefined>(MAX_RECORDS, undefined);
  private queued = false;
  private flushing = false;
  private readonly flushNow = (): void => this.flush();

  constructor(
    private readonly onOpened: OnOpened,
    /** What onOpened threw for one record (that record is lost, the rest of the batch goes on). */
    private readonly onError: (err: unknown) => void,
    /** Read once per opened batch (and per packet opened on its own); the node's clock in a node. Required: a data-path
     *  class never falls back to real time on its own (time is injected, docs/state-machines.md "Data path time"). */
    private readonly clock: Pick<Clock, 'now'>,
  ) {}

  /** `packet` (header ‖ ciphertext ‖ tag, at least HEADER_LEN bytes) is copied; the caller may reuse it at once. */
  add(host: HostInfo, packet: Uint8Array, counter: number, from: UdpAddr): void {
    const aead = host.keys.recv;
    if (this.flushing) {
      return this.onOpened(
        host,
        aead.open(counter, packet.subarray(HEADER_LEN), packet.subarray(0, HEADER_LEN)),
        counter,
        from,
        this.clock.now(),
      );
    }
    const b = this.batch;
    const length = packet.length;
    if (!b.fits(length)) this.flush();
    const i = b.count;
    const at = b.add(aead, counter, length);
    b.chunk.set(packet, at);
    // Opened in place: the plaintext lands where the ciphertext was, right after the header.
    b.setMeta(i, at, HEADER_LEN, at + HEADER_LEN, length - HEADER_LEN, at + HEADER_LEN);
    this.hosts[i] = host;
    this.froms[i] = from;
    if (!this.queued) {
      this.queued = true;
      atTurnEnd(this.flushNow);
    }
  }

  get pending(): number {
    return this.batch.count;
  }

  /** Opens what is pending and hands each record to onOpened, in order. */
  flush(): void {
    this.queued = false;
    const b = this.batch;
    const n = b.count;
    if (n === 0 || this.flushing) return;
    this.flushing = true;
    try {
      b.run(openRecords);
      const now = this.clock.now();
      const { meta, ok, counters, chunk } = b;
      for (let i = 0; i < n; i++) {
        const at = meta[i * W + 4]!;
        const plaintext = ok[i] ? chunk.subarray(at, at + meta[i * W + 3]! - AEAD_TAG_LEN) : null;
        try {
          this.onOpened(this.hosts[i]!, plaintext, counters[i]!, this.froms[i]!, now);
        } catch (err) {
          this.onError(err);
        }
      }
    } finally {
      b.clear();
      releaseSlots(this.hosts, n);
      releaseSlots(this.froms, n);
      this.flushing = false;
    }
  }
}
