// Encrypts one payload for one tunnel and sends it: header with the peer's index and our next counter, AEAD with
// the header as associated data (docs/wire-format.md), then UDP to the tunnel's remote, or through a relay. Data
// packets on a direct path are sealed in batches (the node's seal batch, seal-batch.ts: one crossing per tunnel per
// turn); anything else is sealed and sent at once, after the pending batch, so the wire keeps the order of the calls.
// Packets sealed elsewhere (relay frames, the TCP fallback's probe) keep a tunnel's counters in wire order too: the
// batch takes its counters when it is sealed (seal-batch.ts). A packet counts as sent (statistics, liveness, the
// path-health detector's answerable send) once it was sealed and handed to the socket.

import { MessageSubType, MessageType, TestSubType } from '../header/header.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import type { UdpAddr } from '../udp/addr.js';
import type { DataPathContext } from './context.js';
import { expectsAnswer } from './path-health.js';
import type { SealOutcomes } from './seal-batch.js';
import { sealForTunnel } from './seal-packet.js';

/** A test request, or a data packet the peer's side answers (path-health.ts): a reply is expected. */
function expectsReply(type: MessageType, subtype: number, payload: Uint8Array): boolean {
  if (type === MessageType.Test) return subtype === TestSubType.Request;
  return type === MessageType.Message && subtype === MessageSubType.None && expectsAnswer(payload);
}

/** Re-exported for the callers that seal one packet themselves (the TCP fallback's probe, tests). */
export { sealForTunnel };

/** Seals and sends the data packets batched so far (normally a microtask does this at the end of the turn). */
export function flushSealed(ctx: DataPathContext): void {
  ctx.pipelines.inside.flushSealed();
}

export function sendOnTunnel(
  ctx: DataPathContext,
  host: HostInfo,
  type: MessageType,
  subtype: number,
  payload: Uint8Array,
  /** Send to this address instead of the tunnel's remote (probing a direct path, refreshing after a move). */
  to?: UdpAddr,
): void {
  const dest = to ?? host.remote;
  // Only what goes on the tunnel's own path says anything about that path (not probes of other addresses).
  const answerable = to === undefined && expectsReply(type, subtype, payload);
  if (dest && to === undefined && type === MessageType.Message && subtype === MessageSubType.None) {
    // Reported by the batch once sealed and sent (SealAccounting.sent), answerable or not.
    ctx.pipelines.inside.sealBatch().add(host, host.conn ?? ctx.udp, dest, type, subtype, payload, answerable);
    return;
  }
  ctx.pipelines.inside.flushSealed();
  const left = sendNow(ctx, host, sealForTunnel(host, type, subtype, payload), dest);
  // A relayed tunnel whose relay entry is gone has no path at all: what we meant to send there is unanswered all the
  // same, and the detector is what notices it (otherwise nothing ever would: liveness only checks sent traffic).
  if (answerable) ctx.answerableSent?.(host, type === MessageType.Test);
  if (left) countSent(ctx, host, 1, payload.length, dest);
}

/**
 * The tunnel's statistics for packets sealed and handed to the socket, at once or by the seal batch; `to`: where
 * they went (null: through a relay).
 */
function countSent(ctx: DataPathContext, host: HostInfo, count: number, bytes: number, to: UdpAddr | null): void {
  const now = ctx.clock.now();
  host.lastSendAt = now;
  if (to !== null && to === host.remote) {
    host.sentTo = to;
    host.sentToAt = now;
  }
  host.packetsOut += count;
  host.bytesOut += bytes;
  if (host.checkAt === 0) {
    // Liveness (docs/state-machines.md): anything sent schedules a check that the peer was heard from since the
    // last check (checkLiveness).
    host.checkAt = now + ctx.timers.aliveIntervalMs;
    ctx.pipelines.liveness.schedule(host);
  }
}

/** What the node's seal batch reports back (inside-path.ts makes one per node). */
export class SealAccounting implements SealOutcomes {
  constructor(private readonly ctx: DataPathContext) {}

  sent(host: HostInfo, count: number, bytes: number, answerable: boolean, to: UdpAddr): void {
    if (answerable) this.ctx.answerableSent?.(host, false);
    // Where the batch sent them (the tunnel's remote when they were added), not the remote now: after a roam between
    // the add and the flush, the new remote was not sent to and still needs its keep-alive (punchy/punchy.ts).
    countSent(this.ctx, host, count, bytes, to);
  }

  dropped(reason: 'seal-key-closed' | 'send-exception', count: number): void {
    this.ctx.counters.inc('drops', reason, count);
  }
}

function sendNow(ctx: DataPathContext, host: HostInfo, packet: Buffer, dest: UdpAddr | null): boolean {
  if (dest) (host.conn ?? ctx.udp).send(packet, dest);
  else if (!ctx.sendRelayed(host, packet)) {
    ctx.counters.inc('drops', 'no-path');
    return false;
  }
  return true;
}
