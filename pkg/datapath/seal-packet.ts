// One packet for one tunnel: header with the peer's index and our next counter, AEAD with the header as associated
// data (docs/wire-format.md). Used by the per-packet send path (tunnel-sender.ts), the TCP fallback's probe and a
// batch's packets added while it is being flushed (seal-batch.ts).

import { encodeHeader, HEADER_LEN, type MessageType } from '../header/header.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import { AEAD_TAG_LEN } from '../noise/aead.js';
import { AEAD_META_WORDS, sealRecords } from '../noise/session-aead.js';

/**
 * One record (native-aead.ts layout: header as associated data, payload sealed in place after it) for the addon's
 * one-buffer call: the seal needs no views of `out`. The header and body views and the view seal() returns were
 * three objects per packet, ~290 bytes of a lighthouse's young garbage per ack.
 */
const ONE = { meta: new Uint32Array(AEAD_META_WORDS), counters: new Float64Array(1) };

export function sealForTunnel(host: HostInfo, type: MessageType, subtype: number, payload: Uint8Array): Buffer {
  const counter = host.nextCounter();
  const out = Buffer.allocUnsafe(HEADER_LEN + payload.length + AEAD_TAG_LEN);
  encodeHeader(out, 0, type, subtype, host.remoteIndex, counter);
  // Sealed in place, from a copy in `out` (pooled, its memory outside the JS heap): a payload of 64 bytes or less
  // (an encoded lighthouse message, an empty test request) lives on the JS heap, and handing it to the addon made V8
  // move it out first (a malloc and a backing store per packet, half a lighthouse's malloc time per host update).
  out.set(payload, HEADER_LEN);
  const { meta, counters } = ONE;
  meta[0] = 0;
  meta[1] = HEADER_LEN;
  meta[2] = HEADER_LEN;
  meta[3] = payload.length;
  meta[4] = HEADER_LEN;
  counters[0] = counter;
  sealRecords(host.keys.send, out, meta, counters, 1);
  return out;
}
