// The tables of established tunnels: by peer overlay IP (the send path), by our local index (the receive path)
// and by the peer's index (recv_error lookups). Index allocation lives here because local indexes must be unique
// across established and pending tunnels.
//
// A candidate is a tunnel we answered a stage 1 for and that has not carried an authenticated packet yet. Stage 1
// travels in clear, so anyone who saw the peer's certificate can send one; a candidate is therefore only reachable by
// our index (so the peer's first packet on it can prove it) and stays out of the send path and of recv_error lookups
// until it is promoted. Bounded per overlay IP by the handshake manager and here in all (docs/security-model.md).

import { randomBytes } from 'node:crypto';
import type { Ipv4 } from '../ip/ipv4.js';
import type { HostInfo } from './hostinfo.js';

/**
 * Candidates held in all: the oldest makes room beyond this. Each costs ~2 KiB (keys, replay window, the stage 1 and
 * stage 2 copies), so ~8 MiB at the bound.
 */
export const MAX_CANDIDATES = 4096;

const NONE: readonly HostInfo[] = [];

export class HostMap {
  readonly byVpnIp = new Map<Ipv4, HostInfo>();
  readonly byIndex = new Map<number, HostInfo>();
  readonly byRemoteIndex = new Map<number, HostInfo>();
  /** Unproven tunnels by our index, oldest first (age order, for expiry); each is also in `byIndex`. */
  readonly candidates = new Map<number, HostInfo>();
  /** The same candidates by overlay IP, oldest first. */
  private readonly candidatesByVpnIp = new Map<Ipv4, HostInfo[]>();
  /** Indexes held by pending handshakes, so that a new index never collides with one of them. */
  readonly reservedIndexes = new Set<number>();

  /** A random non-zero 32-bit index unused locally (Nebula tries 32 times, and so do we). */
  allocateIndex(): number {
    for (let i = 0; i < 32; i++) {
      const idx = randomBytes(4).readUInt32BE(0);
      if (idx !== 0 && !this.byIndex.has(idx) && !this.reservedIndexes.has(idx)) return idx;
    }
    throw new Error('could not allocate a unique local index');
  }

  /** Installs a tunnel and returns the one it replaced, if any (a newer handshake wins; it also ends the candidates). */
  add(host: HostInfo): HostInfo | undefined {
    for (const candidate of [...this.candidatesFor(host.vpnIp)]) this.remove(candidate);
    return this.install(host);
  }

  /**
   * Holds `host` as a candidate for its overlay IP. At `maxTotal` candidates in all, the oldest goes (returned): a
   * real peer's candidate is proven within a round trip, so only a flood that fills the table within one can reach
   * it.
   */
  addCandidate(host: HostInfo, maxTotal = MAX_CANDIDATES): HostInfo | undefined {
    let evicted: HostInfo | undefined;
    if (this.candidates.size >= maxTotal) {
      evicted = this.candidates.values().next().value;
      if (evicted) this.remove(evicted);
    }
    this.candidates.set(host.localIndex, host);
    const forIp = this.candidatesByVpnIp.get(host.vpnIp);
    if (forIp) forIp.push(host);
    else this.candidatesByVpnIp.set(host.vpnIp, [host]);
    this.byIndex.set(host.localIndex, host);
    this.reservedIndexes.delete(host.localIndex);
    return evicted;
  }

  /** The candidates for one overlay IP, oldest first (empty when none). */
  candidatesFor(vpnIp: Ipv4): readonly HostInfo[] {
    return this.candidatesByVpnIp.get(vpnIp) ?? NONE;
  }

  isCandidate(host: HostInfo): boolean {
    return this.candidates.get(host.localIndex) === host;
  }

  /**
   * The candidate proved itself: it becomes the tunnel, and the one it replaces (returned) goes, as do the
   * candidates for its overlay IP older than it (the peer's newer handshake won; none of them can be its own).
   */
  promote(host: HostInfo): HostInfo | undefined {
    for (const other of [...this.candidatesFor(host.vpnIp)]) {
      if (other === host) break;
      this.remove(other);
    }
    this.dropCandidate(host);
    return this.install(host);
  }

  remove(host: HostInfo): void {
    if (this.byVpnIp.get(host.vpnIp) === host) this.byVpnIp.delete(host.vpnIp);
    this.dropCandidate(host);
    if (this.byIndex.get(host.localIndex) === host) this.byIndex.delete(host.localIndex);
    if (this.byRemoteIndex.get(host.remoteIndex) === host) this.byRemoteIndex.delete(host.remoteIndex);
  }

  private dropCandidate(host: HostInfo): void {
    if (this.candidates.get(host.localIndex) !== host) return;
    this.candidates.delete(host.localIndex);
    const forIp = this.candidatesByVpnIp.get(host.vpnIp);
    if (!forIp) return;
    const at = forIp.indexOf(host);
    if (at >= 0) forIp.splice(at, 1);
    if (forIp.length === 0) this.candidatesByVpnIp.delete(host.vpnIp);
  }

  private install(host: HostInfo): HostInfo | undefined {
    const old = this.byVpnIp.get(host.vpnIp);
    if (old) this.remove(old);
    this.byVpnIp.set(host.vpnIp, host);
    this.byIndex.set(host.localIndex, host);
    this.byRemoteIndex.set(host.remoteIndex, host);
    this.reservedIndexes.delete(host.localIndex);
    return old;
  }

  get size(): number {
    return this.byVpnIp.size;
  }
}
