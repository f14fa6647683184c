// The tables of established tunnels: by peer overlay IP (the send path), by our local index (the receive path)
// and by the peer's index (recv_error lookups). Index allocation lives here because local indexes must be unique
// across established and pending tunnels.

import { randomBytes } from 'node:crypto';
import type { Ipv4 } from '../ip/ipv4.js';
import type { HostInfo } from './hostinfo.js';

export class HostMap {
  readonly byVpnIp = new Map<Ipv4, HostInfo>();
  readonly byIndex = new Map<number, HostInfo>();
  readonly byRemoteIndex = new Map<number, HostInfo>();
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

  /** Installs a tunnel and returns the one it replaced, if any (a newer handshake wins). */
  add(host: HostInfo): HostInfo | undefined {
    const old = this.byVpnIp.get(host.vpnIp);
    if (old) this.remove(old);
    this.byVpnIp.set(host.vpnIp, host);
    this.byIndex.set(host.localIndex, host);
    this.byRemoteIndex.set(host.remoteIndex, host);
    this.reservedIndexes.delete(host.localIndex);
    return old;
  }

  remove(host: HostInfo): void {
    if (this.byVpnIp.get(host.vpnIp) === host) this.byVpnIp.delete(host.vpnIp);
    if (this.byIndex.get(host.localIndex) === host) this.byIndex.delete(host.localIndex);
    if (this.byRemoteIndex.get(host.remoteIndex) === host) this.byRemoteIndex.delete(host.remoteIndex);
  }

  get size(): number {
    return this.byVpnIp.size;
  }
}
