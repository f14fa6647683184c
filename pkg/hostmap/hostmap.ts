// The tables of established tunnels: by peer overlay IP (the send path), by our local index (the receive path)
// and by the peer's index (recv_error lookups). Index allocation lives here because local indexes must be unique
// across established and pending tunnels.
//
// A candidate is a tunnel we answered a stage 1 for while the peer already had a tunnel (or a handshake of ours)
// in progress. Stage 1 travels in clear, so anyone who saw the peer's certificate can send one; a candidate is
// therefore only reachable by our index (so the peer's first packet on it can prove it) and stays out of the send
// path and of recv_error lookups until it is promoted. At most one per overlay IP (docs/security-model.md).

import { randomBytes } from 'node:crypto';
import type { Ipv4 } from '../ip/ipv4.js';
import type { HostInfo } from './hostinfo.js';

export class HostMap {
  readonly byVpnIp = new Map<Ipv4, HostInfo>();
  readonly byIndex = new Map<number, HostInfo>();
  readonly byRemoteIndex = new Map<number, HostInfo>();
  /** Unproven tunnels, one per overlay IP at most, oldest first; each is also in `byIndex`. */
  readonly candidates = new Map<Ipv4, HostInfo>();
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

  /** Installs a tunnel and returns the one it replaced, if any (a newer handshake wins; it also ends a candidate). */
  add(host: HostInfo): HostInfo | undefined {
    const candidate = this.candidates.get(host.vpnIp);
    if (candidate) this.remove(candidate);
    return this.install(host);
  }

  /** Holds `host` as the candidate for its overlay IP, in place of the previous one (returned). */
  addCandidate(host: HostInfo): HostInfo | undefined {
    const previous = this.candidates.get(host.vpnIp);
    if (previous) this.remove(previous);
    this.candidates.set(host.vpnIp, host);
    this.byIndex.set(host.localIndex, host);
    this.reservedIndexes.delete(host.localIndex);
    return previous;
  }

  isCandidate(host: HostInfo): boolean {
    return this.candidates.get(host.vpnIp) === host;
  }

  /** The candidate proved itself: it becomes the tunnel and the one it replaces (returned) goes. */
  promote(host: HostInfo): HostInfo | undefined {
    if (this.candidates.get(host.vpnIp) === host) this.candidates.delete(host.vpnIp);
    return this.install(host);
  }

  remove(host: HostInfo): void {
    if (this.byVpnIp.get(host.vpnIp) === host) this.byVpnIp.delete(host.vpnIp);
    if (this.candidates.get(host.vpnIp) === host) this.candidates.delete(host.vpnIp);
    if (this.byIndex.get(host.localIndex) === host) this.byIndex.delete(host.localIndex);
    if (this.byRemoteIndex.get(host.remoteIndex) === host) this.byRemoteIndex.delete(host.remoteIndex);
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
