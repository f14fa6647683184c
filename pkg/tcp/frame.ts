// TCP framing of underlay packets (mesh only, docs/tcp-fallback.md). A TCP stream carries exactly the datagrams
// that UDP would have, each behind its length:
//
//    0                   1                   2
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 ...
//   +-------------------------------+-----------------------------
//   |     length (u16, big-endian)  |  one Nebula packet (length bytes)
//   +-------------------------------+-----------------------------
//
// A length of 0 or above MAX_FRAME is a protocol error: the reader stops and the connection is closed, so a peer
// can never make us hold more than one frame's worth of partial input.

/** The largest packet a frame may carry: what the batched UDP socket receives whole (a 9001-byte MTU). */
export const MAX_FRAME = 9216;
export const FRAME_HEADER_LEN = 2;

/** One frame around `packet` (copied: the caller keeps its buffer). */
export function encodeFrame(packet: Uint8Array): Buffer {
  if (packet.length === 0 || packet.length > MAX_FRAME) throw new RangeError(`frame length ${packet.length} is not 1-${MAX_FRAME}`);
  const out = Buffer.allocUnsafe(FRAME_HEADER_LEN + packet.length);
  out.writeUInt16BE(packet.length, 0);
  out.set(packet, FRAME_HEADER_LEN);
  return out;
}

export type FrameError = 'frame-empty' | 'frame-too-long';

/**
 * Reassembles frames from stream chunks. Holds at most one partial frame (<= MAX_FRAME + 2 bytes); once it has
 * returned an error it refuses everything after (the stream can no longer be trusted to be in step).
 */
export class FrameReader {
  private pending: Buffer | null = null;
  private failed: FrameError | null = null;

  /** Calls `onFrame` for each whole frame in `chunk` (a view valid only during the call); returns the error, if any. */
  push(chunk: Buffer, onFrame: (packet: Buffer) => void): FrameError | null {
    if (this.failed) return this.failed;
    let buf = chunk;
    if (this.pending) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    let at = 0;
    while (buf.length - at >= FRAME_HEADER_LEN) {
      const len = buf.readUInt16BE(at);
      if (len === 0 || len > MAX_FRAME) {
        this.failed = len === 0 ? 'frame-empty' : 'frame-too-long';
        return this.failed;
      }
      if (buf.length - at < FRAME_HEADER_LEN + len) break;
      onFrame(buf.subarray(at + FRAME_HEADER_LEN, at + FRAME_HEADER_LEN + len));
      at += FRAME_HEADER_LEN + len;
    }
    // Copied: the chunk belongs to the socket, and a partial frame is never more than MAX_FRAME + 2 bytes.
    if (at < buf.length) this.pending = Buffer.from(buf.subarray(at));
    return null;
  }

  /** Bytes of an unfinished frame held. */
  get buffered(): number {
    return this.pending?.length ?? 0;
  }
}
