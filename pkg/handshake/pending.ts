// A handshake we started and that has not been answered yet. Stage 1 is built once (one ephemeral key) and the
// same bytes are retransmitted, so a responder can recognise a retransmit and answer with its cached stage 2.

import type { HostInfo } from '../hostmap/hostinfo.js';
import type { HandshakeCredential } from './identity.js';
import type { IxInitiator } from '../noise/ix.js';
import type { VpnIp } from '../ip/vpn-ip.js';

/** Nebula queues at most 100 packets per pending host. */
export const PENDING_QUEUE_LIMIT = 100;

export class PendingHandshake {
  attempts = 0;
  nextAttemptAt = 0;
  readonly queue: Uint8Array[] = [];
  /** Underlay addresses a wrong host answered from: never tried again for this target. */
  readonly blocked = new Set<string>();
  /** Addresses already sent to (or punched): a lighthouse answer naming only these changes nothing. */
  readonly tried = new Set<string>();
  /**
   * Set when this handshake replaces a tunnel whose peer sent a recv_error: the tunnel stays in service, its
   * address is tried too, and an authenticated packet on it abandons this handshake (the peer still has it).
   */
  replacing: HostInfo | null = null;
  /** The certificate stage 1 carries (the initiating version's, or the version a correction asked for). */
  credential: HandshakeCredential | null = null;

  constructor(
    readonly vpnIp: VpnIp,
    readonly localIndex: number,
    readonly initiator: IxInitiator,
    readonly packet: Uint8Array,
    readonly startedAt: number,
  ) {}

  enqueue(packet: Uint8Array): boolean {
    if (this.queue.length >= PENDING_QUEUE_LIMIT) return false;
    this.queue.push(Uint8Array.from(packet));
    return true;
  }
}
