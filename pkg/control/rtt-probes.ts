// Round-trip probes over a tunnel: a test request whose 16-byte payload is a magic and a random nonce. A mesh
// peer echoes the payload, so the nonce names the probe; the time between send and reply is the RTT through
// whatever path the tunnel uses now.
//
//   payload   0       8               16
//             +-------+---------------+
//             | magic |     nonce     |      magic = "meshrtt1"
//             +-------+---------------+
//
// Nebula 1.6.1 builds its reply in the buffer that holds the decrypted request: the reply header overwrites the
// first 16 payload bytes, so a 16-byte request comes back carrying the reply's own header instead of our nonce
// (seen in the lab). Such a reply is matched to the oldest probe waiting on that tunnel. A longer payload makes
// the reply's sealing overlap its input and Nebula 1.6.1 panics ("crypto/cipher: invalid buffer overlap"), so
// probes must never exceed 16 bytes.

import { randomBytes } from 'node:crypto';
import { after, type Clock } from '../clock/clock.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import type { VpnIp } from '../ip/vpn-ip.js';
import type { UdpAddr } from '../udp/addr.js';
import { ControlError, ControlErrorCode } from './protocol.js';

export const PROBE_MAGIC = Buffer.from('meshrtt1', 'ascii');
/** The most a test payload to a Nebula 1.6.1 peer may carry without crashing it. */
export const PROBE_LEN = 16;

export interface ProbeResult {
  rttMs: number;
  /** Where the reply came from: an underlay address, or null when it came through a relay. */
  from: UdpAddr | null;
  /** The relay's overlay IP when the reply came through one. */
  via: VpnIp | null;
}

interface Pending {
  host: HostInfo;
  sentAt: number;
  resolve(r: ProbeResult): void;
  /** Cancels the probe's timeout. */
  cancelTimeout: () => void;
}

export class RttProbes {
  private readonly pending = new Map<string, Pending>();
  private readonly waitingIndexes = new Map<number, number>();
  private readonly last = new Map<VpnIp, { rttMs: number; at: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly send: (host: HostInfo, payload: Uint8Array) => void,
  ) {}

  /** True while a probe on the tunnel with our index `localIndex` awaits its reply (the reply tap's filter). */
  awaits(localIndex: number): boolean {
    return this.waitingIndexes.has(localIndex);
  }

  get active(): boolean {
    return this.pending.size > 0;
  }

  probe(host: HostInfo, timeoutMs: number): Promise<ProbeResult> {
    const nonce = randomBytes(PROBE_LEN - PROBE_MAGIC.length);
    const key = nonce.toString('hex');
    const payload = Buffer.concat([PROBE_MAGIC, nonce]);
    return new Promise<ProbeResult>((resolve, reject) => {
      // On the node's clock, as the RTT itself is: the timeout is a protocol decision, not a socket's.
      const cancelTimeout = after(this.clock, timeoutMs, () => {
        this.finish(key);
        reject(new ControlError(ControlErrorCode.timeout, `no reply within ${timeoutMs} ms`));
      });
      this.pending.set(key, { host, sentAt: this.clock.now(), resolve, cancelTimeout });
      this.waitingIndexes.set(host.localIndex, (this.waitingIndexes.get(host.localIndex) ?? 0) + 1);
      this.send(host, payload);
    });
  }

  /**
   * A test reply arrived on `host`'s tunnel (decrypted), with the reply's 16-byte header. Replies that are not
   * answers to our probes (empty liveness replies) are ignored.
   */
  onTestReply(host: HostInfo, payload: Uint8Array, header: Uint8Array, from: UdpAddr | null, via: VpnIp | null): void {
    if (payload.length !== PROBE_LEN) return;
    const bytes = Buffer.from(payload);
    let key: string | undefined;
    if (PROBE_MAGIC.equals(bytes.subarray(0, PROBE_MAGIC.length)))
      key = bytes.subarray(PROBE_MAGIC.length).toString('hex');
    else if (bytes.equals(header)) key = this.oldestFor(host.vpnIp);
    const p = key === undefined ? undefined : this.pending.get(key);
    if (!p || p.host.vpnIp !== host.vpnIp) return;
    const now = this.clock.now();
    const rttMs = now - p.sentAt;
    this.finish(key as string);
    this.last.set(host.vpnIp, { rttMs, at: now });
    p.resolve({ rttMs, from, via });
  }

  /** Map order is insertion order: the first probe found for the peer is the oldest. */
  private oldestFor(vpnIp: VpnIp): string | undefined {
    for (const [key, p] of this.pending) if (p.host.vpnIp === vpnIp) return key;
    return undefined;
  }

  /** The last RTT measured to `vpnIp` and when (clock ms). */
  lastRtt(vpnIp: VpnIp): { rttMs: number; at: number } | undefined {
    return this.last.get(vpnIp);
  }

  private finish(key: string): void {
    const p = this.pending.get(key);
    if (!p) return;
    p.cancelTimeout();
    this.pending.delete(key);
    const n = (this.waitingIndexes.get(p.host.localIndex) ?? 1) - 1;
    if (n <= 0) this.waitingIndexes.delete(p.host.localIndex);
    else this.waitingIndexes.set(p.host.localIndex, n);
  }

  /** Rejects nothing, just forgets: used when the daemon stops. */
  clear(): void {
    for (const key of [...this.pending.keys()]) this.finish(key);
  }
}
