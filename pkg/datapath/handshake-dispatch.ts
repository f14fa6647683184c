// Hands a handshake packet to the handshake manager by its stage (the header's counter: 1 = stage 1, 2 = stage 2),
// for packets that arrived directly (outside.ts) and for those unwrapped from a relay (daemon/node.ts), so both paths
// refuse the same subtypes and counters (docs/wire-format.md, the Noise IX handshake).

import { HandshakeSubType, type Header } from '../header/header.js';
import type { PacketSource } from '../handshake/manager.js';
import type { Counters } from '../metrics/counters.js';

/** The two entry points of the handshake manager (pkg/handshake/manager.ts). */
export interface HandshakeStages {
  handleStage1(packet: Uint8Array, src: PacketSource): void;
  handleStage2(packet: Uint8Array, remoteIndex: number, src: PacketSource): void;
}

export function dispatchHandshake(
  stages: HandshakeStages,
  counters: Counters,
  packet: Uint8Array,
  h: Pick<Header, 'subtype' | 'counter' | 'remoteIndex'>,
  src: PacketSource,
): void {
  if (h.subtype !== HandshakeSubType.IXPSK0) return counters.inc('drops', 'handshake-unknown-subtype');
  if (h.counter === 1) stages.handleStage1(packet, src);
  else if (h.counter === 2) stages.handleStage2(packet, h.remoteIndex, src);
  else counters.inc('drops', 'handshake-bad-counter');
}
