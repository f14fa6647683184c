// pki.disconnect_invalid: a tunnel is closed as soon as its peer's certificate, or the CA that signed it, expires.
// One timer serves the whole hostmap, armed at the earliest expiry among the tunnels: nothing per tunnel, and an
// idle node with no tunnel near its end wakes at most every MAX_WAIT_MS. The wait is capped so that a wall clock
// stepped forward (the timer runs on monotonic time) or a tunnel that came up without `added` is caught anyway.
// Expired means later than notAfter, to the millisecond, as in Nebula (docs/security-model.md).

import { after, unixMs, type Clock } from '../clock/clock.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import type { TunnelEvents } from '../hostmap/hostmap.js';

/** The longest the timer waits before looking again (the old fixed re-check interval). */
export const MAX_WAIT_MS = 30_000;

/** The tunnels whose peer certificates are watched. */
export interface ExpiringTunnels {
  /** Every established tunnel once: a recheck looks at all of them. */
  tunnels(): Iterable<HostInfo>;
  /** Closes a tunnel whose certificate expired (and tells the peer). */
  expired(host: HostInfo): void;
  /** Installed tunnels: each may expire before the one the timer waits for. */
  readonly tunnelEvents: TunnelEvents;
}

export interface CertExpiryEnv extends ExpiringTunnels {
  readonly clock: Clock;
  /** pki.disconnect_invalid as configured now (a reload may turn it off or on). */
  enabled(): boolean;
}

export class CertExpiryWatch {
  private cancel: (() => void) | null = null;
  /** Unix ms the armed timer fires at; Infinity when none is armed. */
  private armedFor = Infinity;

  constructor(private readonly env: CertExpiryEnv) {
    env.tunnelEvents.onInstalled((host) => this.added(host));
  }

  /** A tunnel came up: its certificate may expire before the one the timer waits for. */
  added(host: HostInfo): void {
    if (this.env.enabled() && expiryMs(host) < this.armedFor) this.arm(expiryMs(host));
  }

  /** Closes the tunnels already expired and arms the timer for the next one (start, reload, each firing). */
  recheck(): void {
    this.disarm();
    if (!this.env.enabled()) return;
    const now = unixMs(this.env.clock);
    let next = Infinity;
    for (const host of [...this.env.tunnels()]) {
      const end = expiryMs(host);
      if (now > end) this.env.expired(host);
      else next = Math.min(next, end);
    }
    if (next !== Infinity) this.arm(next);
  }

  stop(): void {
    this.disarm();
  }

  private arm(at: number): void {
    this.disarm();
    // +1: expired means strictly after notAfter.
    const wait = Math.min(MAX_WAIT_MS, Math.max(0, at - unixMs(this.env.clock) + 1));
    this.armedFor = at;
    this.cancel = after(this.env.clock, wait, () => {
      this.cancel = null;
      this.armedFor = Infinity;
      this.recheck();
    });
  }

  private disarm(): void {
    this.cancel?.();
    this.cancel = null;
    this.armedFor = Infinity;
  }
}

function expiryMs(host: HostInfo): number {
  return host.certValidUntil * 1000;
}
