// Relayed framing (docs/wire-format.md, "Relays"): the inner packet travels in the clear inside an outer packet of the
// hop's tunnel, and the hop authenticates it:
//
//   outer header (type 1, subtype 1, remote index = next hop's relay index, counter = hop tunnel's counter)
//   ‖ inner packet (unchanged: a handshake or an end-to-end encrypted packet)
//   ‖ 16-byte tag = AEAD(hop key, counter, plaintext = empty, ad = outer header ‖ inner packet)

import { encodeHeader, HEADER_LEN, MessageSubType, MessageType } from '../header/header.js';
import type { HostInfo } from '../hostmap/hostinfo.js';

const TAG_LEN = 16;
const EMPTY = new Uint8Array(0);

export function wrapRelayed(hop: HostInfo, relayRemoteIndex: number, inner: Uint8Array): Buffer {
  const counter = hop.nextCounter();
  const out = Buffer.allocUnsafe(HEADER_LEN + inner.length + TAG_LEN);
  encodeHeader(out, 0, MessageType.Message, MessageSubType.Relay, relayRemoteIndex, counter);
  out.set(inner, HEADER_LEN);
  hop.keys.send.seal(counter, EMPTY, out.subarray(0, HEADER_LEN + inner.length), out, HEADER_LEN + inner.length);
  return out;
}

/** The inner packet if the hop's tag verifies, else null. */
export function unwrapRelayed(hop: HostInfo, counter: number, outer: Uint8Array): Uint8Array | null {
  if (outer.length < HEADER_LEN + TAG_LEN) return null;
  const adEnd = outer.length - TAG_LEN;
  if (hop.keys.recv.open(counter, outer.subarray(adEnd), outer.subarray(0, adEnd)) === null) return null;
  return outer.subarray(HEADER_LEN, adEnd);
}
