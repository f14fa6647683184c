// Step 4 of the inside pipeline (encrypt) for data packets, batched: the packets of one TUN read (a TSO burst is
// tens of segments) are copied into a CryptoBatch as they pass steps 1-3, and sealed together, one addon crossing per
// tunnel, when the read ends: the node holds the batch over each TUN read and releases it at the read's end (hold,
// release); packets added outside a read (a handshake's queued packets, a reject reply) are sealed from a microtask
// at the end of the turn. sendOnTunnel (tunnel-sender.ts) flushes before it sends anything else, so nothing it sends
// overtakes a pending data packet. The sealed datagrams go to the kernel at once (UdpConn.flush), before the tunnels'
// statistics and the path-health detector hear of them: a lone packet's bookkeeping is not on its way to the wire.
//
// Each packet takes its tunnel's counter (and gets its header) when the batch is sealed, in the order the packets
// were added: a packet sealed on its own meanwhile (a relay frame on the hop's tunnel, pkg/relay/frame.ts, or the
// TCP fallback's UDP probe) takes a lower counter and leaves first, so a tunnel's counters go out in order however
// many of those a turn sends, and none falls behind the peer's replay window on our account (docs/wire-format.md,
// "Counters and the replay window"). A packet added while a flush is sending (a socket's send that re-enters the
// pipeline) waits for the next flush: sealed at once it would take a higher counter than the records still to leave.
//
// A key closed between the add and the flush (its tunnel torn down by a packet handled meanwhile) seals nothing:
// those packets are dropped and counted (drops{seal-key-closed}), as a packet for a tunnel that is gone is. Only
// what was sealed and handed to the socket counts as sent (SealOutcomes.sent: the tunnel's statistics, liveness, and
// the path-health detector's note that a reply is due).

import { encodeHeader, HEADER_LEN, type MessageType } from '../header/header.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import { AEAD_TAG_LEN, type Aead } from '../noise/aead.js';
import { AEAD_META_WORDS as W, sealRecords } from '../noise/session-aead.js';
import type { UdpAddr } from '../udp/addr.js';
import type { UdpConn } from '../udp/udp-conn.js';
import { CryptoBatch, MAX_RECORDS } from './crypto-batch.js';
import { releaseSlots, reusedSlots } from './reused-slots.js';
import { atTurnEnd } from '../schedule/turn-end.js';

function sealAll(
  aead: Aead,
  buf: Buffer,
  meta: Uint32Array,
  counters: Float64Array,
  count: number,
  ok: Uint8Array,
): void {
  sealRecords(aead, buf, meta, counters, count);
  ok.fill(1, 0, count);
}

/** What became of the batched packets: the tunnel sender's statistics and drop counters (tunnel-sender.ts). */
export interface SealOutcomes {
  /**
   * `count` packets of `host`, `bytes` payload bytes in all, were sealed and handed to the socket for `to` (the
   * address they were added for, which the tunnel's remote may no longer be: a roam between the add and the flush);
   * `answerable`: at least one of them was added as one the peer's side answers (path-health.ts).
   */
  sent(host: HostInfo, count: number, bytes: number, answerable: boolean, to: UdpAddr): void;
  /** Packets lost: 'seal-key-closed' (their key was closed first), 'send-exception' (the socket threw). */
  dropped(reason: 'seal-key-closed' | 'send-exception', count: number): void;
}

interface LatePacket {
  host: HostInfo;
  conn: UdpConn;
  dest: UdpAddr;
  type: MessageType;
  subtype: number;
  payload: Uint8Array;
  answerable: boolean;
}

export class SealBatch {
  private readonly batch = new CryptoBatch();
  // Per record, written by index up to the batch's count (reused-slots.ts).
  private readonly hosts = reusedSlots<HostInfo | undefined>(MAX_RECORDS, undefined);
  private readonly types = reusedSlots<MessageType>(MAX_RECORDS, 0);
  private readonly subtypes = reusedSlots(MAX_RECORDS, 0);
  private readonly conns = reusedSlots<UdpConn | undefined>(MAX_RECORDS, undefined);
  private readonly dests = reusedSlots<UdpAddr | undefined>(MAX_RECORDS, undefined);
  private readonly lengths = reusedSlots(MAX_RECORDS, 0);
  private readonly answerable = reusedSlots(MAX_RECORDS, false);
  private queued = false;
  private flushing = false;
  /** Held (hold, release): adds wait for release() instead of queueing a flush at the end of the turn. */
  private held = false;
  /** Packets added during a flush, for the next one (payloads copied). */
  private late: LatePacket[] = [];
  private readonly flushNow = (): void => this.flush();

  constructor(private readonly outcomes: SealOutcomes) {}

  get pending(): number {
    return this.batch.count;
  }

  /**
   * The tunnel's counter is taken at the flush; `payload` is copied, the caller may reuse it at once. `answerable`:
   * the peer's side answers it, reported with the packet once it was sent (SealOutcomes.sent).
   */
  add(
    host: HostInfo,
    conn: UdpConn,
    dest: UdpAddr,
    type: MessageType,
    subtype: number,
    payload: Uint8Array,
    answerable: boolean,
  ): void {
    const b = this.batch;
    const total = HEADER_LEN + payload.length + AEAD_TAG_LEN;
    if (this.flushing) {
      this.late.push({ host, conn, dest, type, subtype, payload: Uint8Array.from(payload), answerable });
      return;
    }
    if (!b.fits(total)) this.flush();
    const i = b.count;
    const at = b.add(host.keys.send, 0, total);
    b.chunk.set(payload, at + HEADER_LEN);
    b.setMeta(i, at, HEADER_LEN, at + HEADER_LEN, payload.length, at + HEADER_LEN);
    this.hosts[i] = host;
    this.types[i] = type;
    this.subtypes[i] = subtype;
    this.conns[i] = conn;
    this.dests[i] = dest;
    this.lengths[i] = total;
    this.answerable[i] = answerable;
    if (!this.queued && !this.held) {
      this.queued = true;
      atTurnEnd(this.flushNow);
    }
  }

  /**
   * Packets added from now on are sealed at release() (or by a flush meanwhile), not at the end of the turn: one
   * hop less for a TUN read's packets, whose end the reader knows. The holder must release, even when it throws.
   */
  hold(): void {
    this.held = true;
  }

  /** Ends a hold and seals and sends what it kept. */
  release(): void {
    this.held = false;
    this.flush();
  }

  /** Seals what is pending and sends it, in the order it was added. */
  flush(): void {
    this.queued = false;
    const b = this.batch;
    const n = b.count;
    if (n === 0 || this.flushing) return;
    this.flushing = true;
    let dropped = 0;
    let thrown = 0;
    // What was sent is reported per run of one tunnel's packets to one address (a batch is nearly always one run).
    let runHost: HostInfo | null = null;
    let runDest: UdpAddr | null = null;
    let runCount = 0;
    let runBytes = 0;
    let runAnswerable = false;
    // The socket of the records being sent: each one's datagrams go to the kernel when the next socket's start.
    let conn: UdpConn | null = null;
    try {
      this.takeCounters(n);
      b.run(sealAll);
      const { meta, ok, chunk } = b;
      for (let i = 0; i < n; i++) {
        if (!ok[i]) {
          dropped++;
          continue;
        }
        const at = meta[i * W]!;
        const length = this.lengths[i]!;
        const to = this.conns[i]!;
        if (to !== conn) {
          conn?.flush?.();
          conn = to;
        }
        // A send that throws (UdpConn promises it does not) loses its packet, not the rest of the batch: this runs
        // from a microtask, where an exception would end the process.
        try {
          to.send(chunk.subarray(at, at + length), this.dests[i]!);
        } catch {
          thrown++;
          continue;
        }
        const host = this.hosts[i]!;
        const dest = this.dests[i]!;
        if (host !== runHost || dest !== runDest) {
          if (runHost !== null) this.outcomes.sent(runHost, runCount, runBytes, runAnswerable, runDest!);
          runHost = host;
          runDest = dest;
          runCount = 0;
          runBytes = 0;
          runAnswerable = false;
        }
        runCount++;
        runAnswerable ||= this.answerable[i]!;
        runBytes += length - HEADER_LEN - AEAD_TAG_LEN;
      }
    } finally {
      // Sent before anything is reported (the report runs the path-health detector: see the top of this file).
      try {
        conn?.flush?.();
      } catch {
        // Like a send's: UdpConn promises it does not throw; the batch's bookkeeping must still run.
      }
      b.clear();
      // The numbers and flags hold nothing alive: they are simply overwritten by the next batch.
      releaseSlots(this.hosts, n);
      releaseSlots(this.conns, n);
      releaseSlots(this.dests, n);
      this.flushing = false;
      this.addLate();
    }
    if (runHost !== null) this.outcomes.sent(runHost, runCount, runBytes, runAnswerable, runDest!);
    if (dropped !== 0) this.outcomes.dropped('seal-key-closed', dropped);
    if (thrown !== 0) this.outcomes.dropped('send-exception', thrown);
  }

  /** Each pending packet's counter, in the order they were added, and the header that carries it. */
  private takeCounters(n: number): void {
    const { meta, counters, chunk } = this.batch;
    for (let i = 0; i < n; i++) {
      const host = this.hosts[i]!;
      const counter = host.nextCounter();
      counters[i] = counter;
      encodeHeader(chunk, meta[i * W]!, this.types[i]!, this.subtypes[i]!, host.remoteIndex, counter);
    }
  }

  /** What was added during the flush starts the next batch (its flush queued on a microtask by add). */
  private addLate(): void {
    if (this.late.length === 0) return;
    const late = this.late;
    this.late = [];
    for (const p of late) this.add(p.host, p.conn, p.dest, p.type, p.subtype, p.payload, p.answerable);
  }
}
