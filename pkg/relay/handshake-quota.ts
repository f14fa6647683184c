// Handshakes a relay starts on behalf of the peers that ask it for a relay (docs/security-model.md). Nebula's relay
// starts a tunnel to a requested target it has none to, so the requester's next retry finds it up; each such
// handshake then sends stage 1 to every candidate address and queries the lighthouse for ~6.6 s (10 retries at
// 100 ms linear backoff). Without a bound, one peer naming many targets makes us send far more than it sent.
//
// Each handshake is charged to the requester that caused it until it ends (tunnel up or given up); a requester may
// hold `perRequester` charges, and all requesters together `total`. Charges are settled lazily, only when a bound is
// reached, so nothing runs on a timer.

import type { VpnIp } from '../ip/vpn-ip.js';

/** A requester reaching many new peers at once gets 16 started per round; its retries start the rest. */
export const MAX_RELAY_HANDSHAKES_PER_REQUESTER = 16;
/** All requesters together: bounds what many (compromised) peers can make one relay send. */
export const MAX_RELAY_HANDSHAKES = 256;

export type QuotaVerdict = 'ok' | 'requester-full' | 'full';

export class RelayHandshakeQuota {
  /** target -> the requester charged for the handshake toward it. */
  private readonly charged = new Map<VpnIp, VpnIp>();
  private readonly perRequesterCount = new Map<VpnIp, number>();

  constructor(
    /** Whether the handshake toward `target` is still pending (not up, not given up). */
    private readonly stillPending: (target: VpnIp) => boolean,
    private readonly perRequester = MAX_RELAY_HANDSHAKES_PER_REQUESTER,
    private readonly total = MAX_RELAY_HANDSHAKES,
  ) {}

  /** Whether `requester` may make us start one more handshake now. */
  check(requester: VpnIp): QuotaVerdict {
    if (this.verdict(requester) === 'ok') return 'ok';
    this.settle();
    return this.verdict(requester);
  }

  /** Charges `requester` for a handshake we just started toward `target`. */
  charge(requester: VpnIp, target: VpnIp): void {
    const previous = this.charged.get(target);
    if (previous !== undefined) this.release(previous);
    this.charged.set(target, requester);
    this.perRequesterCount.set(requester, (this.perRequesterCount.get(requester) ?? 0) + 1);
  }

  /** Charges held by `requester` (for tests and status). */
  heldBy(requester: VpnIp): number {
    return this.perRequesterCount.get(requester) ?? 0;
  }

  get size(): number {
    return this.charged.size;
  }

  private verdict(requester: VpnIp): QuotaVerdict {
    if (this.charged.size >= this.total) return 'full';
    return this.heldBy(requester) >= this.perRequester ? 'requester-full' : 'ok';
  }

  /** Drops the charges of handshakes that have ended. */
  private settle(): void {
    for (const [target, requester] of [...this.charged]) {
      if (this.stillPending(target)) continue;
      this.charged.delete(target);
      this.release(requester);
    }
  }

  private release(requester: VpnIp): void {
    const n = (this.perRequesterCount.get(requester) ?? 1) - 1;
    if (n > 0) this.perRequesterCount.set(requester, n);
    else this.perRequesterCount.delete(requester);
  }
}
