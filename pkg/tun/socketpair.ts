// A TUN stand-in for running the real TUN code in process: a LinuxTun, the very class the daemon's data path runs on
// a device, on one end of a socketpair (the addon's tun_socketpair), and the other end for whoever drives it, which
// plays the kernel: it hands the TUN packets (`inject`) and sees what the node wrote (`onWrite`). The start-up
// warm-up's throwaway nodes run on these, so the data path's call sites only ever see production classes
// (docs/state-machines.md "Start-up warm-up"). Nothing reaches a network device and no file is made.

import { loadNativeAddon, type TunAddon, type TunPairAddon, type TunPollHandle } from '../native/addon.js';
import { LinuxTun } from './linux.js';

/** Packets per read on the driving end: a throwaway contact writes one or two at a time. */
const PEER_BATCH = 8;

export class TunPair {
  /** The node's side: give it to MeshNode as its TUN (it closes it when it stops). */
  readonly tun: LinuxTun;
  private readonly readBuf: Uint8Array;
  private readonly readLens = new Uint32Array(PEER_BATCH);
  private readonly slotSize: number;
  private poll: TunPollHandle | null = null;
  private writeListener: ((packet: Uint8Array) => void) | null = null;
  private peerClosed = false;
  /** Packets the node wrote to its TUN, as the driving end read them. */
  written = 0;

  private constructor(
    private readonly addon: TunAddon & TunPairAddon,
    private readonly peerFd: number,
    nodeFd: number,
    name: string,
    mtu: number,
  ) {
    this.tun = new LinuxTun(addon, nodeFd, name, mtu);
    this.slotSize = (mtu + 64) & ~63;
    this.readBuf = new Uint8Array(this.slotSize * PEER_BATCH);
  }

  /** Throws AddonError (code EADDON) when the addon is not there, or the socketpair's errno error. */
  static open(name: string, mtu: number): TunPair {
    const addon = loadNativeAddon();
    const [nodeFd, peerFd] = addon.tun_socketpair();
    return new TunPair(addon, peerFd, nodeFd, name, mtu);
  }

  /** One packet from "the kernel" to the node's TUN: it arrives as a read batch of one. */
  inject(packet: Uint8Array): void {
    if (this.peerClosed) return;
    this.addon.tun_write(this.peerFd, packet, 0, packet.byteLength);
  }

  /** Called with each packet the node writes to its TUN (a view valid during the call); starts reading. */
  onWrite(cb: (packet: Uint8Array) => void): void {
    this.writeListener = cb;
    if (this.poll !== null || this.peerClosed) return;
    this.poll = this.addon.tun_poll_start(this.peerFd, this.readBuf, this.readLens, this.slotSize, (err, count) =>
      this.read(err, count),
    );
  }

  /**
   * Closes both ends: the node's TUN (idempotent: the node's stop closes it first) before the driving end, whose
   * close would otherwise leave the TUN's reader woken at end of file on every turn.
   */
  async close(): Promise<void> {
    if (this.peerClosed) return;
    this.stopReading();
    await this.tun.close();
    this.peerClosed = true;
    this.addon.tun_close(this.peerFd);
  }

  private read(err: Error | null, count: number): void {
    if (err !== null) {
      this.poll = null; // the addon stopped the watcher before reporting
      return;
    }
    for (let i = 0; i < count; i++) {
      const length = this.readLens[i];
      // A zero-length read is the node's end closing (a TUN never hands over an empty packet): stop, or the end of
      // file would wake this reader on every turn.
      if (length === 0) return this.stopReading();
      this.written++;
      const start = i * this.slotSize;
      this.writeListener?.(this.readBuf.subarray(start, start + length));
    }
  }

  private stopReading(): void {
    if (this.poll !== null) this.addon.tun_poll_stop(this.poll);
    this.poll = null;
  }
}
