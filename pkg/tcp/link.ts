// One TCP connection carrying framed packets (frame.ts), either end. Writes never queue without bound: a frame
// that would take the socket's unsent backlog past MAX_BACKLOG is dropped and counted, as a full UDP send buffer
// would drop a datagram (the tunnel above retransmits what matters).

import type { Socket } from 'node:net';
import type { Counters } from '../metrics/counters.js';
import { encodeFrame, FRAME_HEADER_LEN, FrameReader, MAX_FRAME } from './frame.js';

/** Unsent bytes one connection may hold: a few dozen full frames, ~256 KiB per peer at most. */
export const MAX_BACKLOG = 256 * 1024;

export interface TcpLinkEvents {
  /** A whole packet (valid only during the call, as for a UDP datagram). */
  frame(packet: Buffer): void;
  /** The connection ended (either side, an error or a protocol error); called once. */
  closed(reason: string): void;
}

export class TcpLink {
  private readonly reader = new FrameReader();
  private ended = false;
  /** Frames received: a connection that never sends one is an idle (slowloris) one. */
  framesIn = 0;
  framesOut = 0;

  constructor(
    readonly socket: Socket,
    private readonly counters: Counters,
    private readonly events: TcpLinkEvents,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => this.close('error'));
    socket.on('close', () => this.close('closed'));
    socket.on('end', () => this.close('end'));
  }

  get open(): boolean {
    return !this.ended;
  }

  private onData(chunk: Buffer): void {
    if (this.ended) return;
    const err = this.reader.push(chunk, (packet) => {
      this.framesIn++;
      this.events.frame(packet);
    });
    if (err) {
      this.counters.inc('drops', `tcp-${err}`);
      this.close(err);
    }
  }

  /** Sends one packet; false when it was dropped (closed, too long, or the backlog is full). */
  send(packet: Uint8Array): boolean {
    if (this.ended) return false;
    if (packet.length === 0 || packet.length > MAX_FRAME) {
      this.counters.inc('drops', 'tcp-send-too-long');
      return false;
    }
    if (this.socket.writableLength + FRAME_HEADER_LEN + packet.length > MAX_BACKLOG) {
      this.counters.inc('drops', 'tcp-backlog-full');
      return false;
    }
    this.socket.write(encodeFrame(packet));
    this.framesOut++;
    return true;
  }

  close(reason = 'closed'): void {
    if (this.ended) return;
    this.ended = true;
    this.socket.destroy();
    this.events.closed(reason);
  }
}
