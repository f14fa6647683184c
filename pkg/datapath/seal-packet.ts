// One packet for one tunnel: header with the peer's index and our next counter, AEAD with the header as associated
// data (docs/wire-format.md). Used by the per-packet send path (tunnel-sender.ts), the TCP fallback's probe and a
// batch's packets added while it is being flushed (seal-batch.ts).

import { encodeHeader, HEADER_LEN, type MessageType } from '../header/header.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import { AEAD_TAG_LEN } from '../noise/aead.js';

export function sealForTunnel(host: HostInfo, type: MessageType, subtype: number, payload: Uint8Array): Buffer {
  const counter = host.nextCounter();
  const out = Buffer.allocUnsafe(HEADER_LEN + payload.length + AEAD_TAG_LEN);
  encodeHeader(out, 0, type, subtype, host.remoteIndex, counter);
  // Sealed in place, from a copy in `out` (pooled, its memory outside the JS heap): a payload of 64 bytes or less
  // (an encoded lighthouse message, an empty test request) lives on the JS heap, and handing it to the addon made V8
  // move it out first (a malloc and a backing store per packet, half a lighthouse's malloc time per host update).
  out.set(payload, HEADER_LEN);
  const body = out.subarray(HEADER_LEN, HEADER_LEN + payload.length);
  host.keys.send.seal(counter, body, out.subarray(0, HEADER_LEN), out, HEADER_LEN);
  return out;
}
