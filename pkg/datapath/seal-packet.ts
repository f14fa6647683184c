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
  host.keys.send.seal(counter, payload, out.subarray(0, HEADER_LEN), out, HEADER_LEN);
  return out;
}
