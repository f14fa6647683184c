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
  if (packet.length === 0 || packet.length > MAX_FRAME)
    throw new RangeError(`frame length ${packet.length} is not 1-${MAX_FRAME}`);
  const out = Buffer.allocUnsafe(FRAME_HEADER_LEN + packet.length);
  out.writeUInt16BE(packet.length, 0);
  out.set(packet, FRAME_HEADER_LEN);
  return out;
}

export type FrameError = 'frame-empty' | 'frame-too-long';

/**
 * Reassembles frames from stream chunks. A frame whole inside a chunk is handed on as a view of it; one that spans
 * chunks is copied once into a buffer of its announced length (so a peer trickling bytes costs no re-copying), and
 * that buffer is all the reader holds (<= MAX_FRAME bytes). After an error it refuses everything (the stream can no
 * longer be trusted to be in step).
 */
export class FrameReader {
  private readonly head = Buffer.alloc(FRAME_HEADER_LEN);
  private headLen = 0;
  private frame: Buffer | null = null;
  private filled = 0;
  private failed: FrameError | null = null;

  /** Calls `onFrame` for each whole frame in `chunk` (valid only during the call); returns the error, if any. */
  push(chunk: Buffer, onFrame: (packet: Buffer) => void): FrameError | null {
    if (this.failed) return this.failed;
    let at = 0;
    while (at < chunk.length) {
      if (this.frame === null) {
        let len: number;
        if (this.headLen === 0 && chunk.length - at >= FRAME_HEADER_LEN) {
          len = chunk.readUInt16BE(at);
          at += FRAME_HEADER_LEN;
        } else {
          this.head[this.headLen++] = chunk[at++];
          if (this.headLen < FRAME_HEADER_LEN) continue;
          this.headLen = 0;
          len = this.head.readUInt16BE(0);
        }
        if (len === 0 || len > MAX_FRAME) {
          this.failed = len === 0 ? 'frame-empty' : 'frame-too-long';
          return this.failed;
        }
        if (chunk.length - at >= len) {
          onFrame(chunk.subarray(at, at + len));
          at += len;
          continue;
        }
        this.frame = Buffer.allocUnsafe(len);
        this.filled = 0;
      }
      const n = Math.min(this.frame.length - this.filled, chunk.length - at);
      chunk.copy(this.frame, this.filled, at, at + n);
      this.filled += n;
      at += n;
      if (this.filled === this.frame.length) {
        const whole = this.frame;
        this.frame = null;
        onFrame(whole);
      }
    }
    return null;
  }

  /** Bytes of an unfinished frame held, its length field included. */
  get buffered(): number {
    return this.frame ? FRAME_HEADER_LEN + this.filled : this.headLen;
  }
}
