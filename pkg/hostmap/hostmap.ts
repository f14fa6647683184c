// The tables of established tunnels: by peer overlay address (the send path), by our local index (the receive
// path) and by the peer's index (recv_error lookups). A peer may have several overlay addresses (IPv4 and IPv6
// networks of a v2 certificate): `byVpnIp` holds a tunnel under every one of them, as Nebula 1.10's hostmap does,
// and `byPrimary` under its primary address only, so that iterating it visits each tunnel once (docs/ipv6.md).
// Index allocation lives here because local indexes must be unique across established and pending tunnels.
//
// A candidate is a tunnel we answered a stage 1 for and that has not carried an authenticated packet yet. Stage 1
// travels in clear, so anyone who saw the peer's certificate can send one; a candidate is therefore only reachable by
// our index (so the peer's first packet on it can prove it) and stays out of the send path and of recv_error lookups
// until it is promoted. Bounded per overlay address by the handshake manager and here in all (docs/security-model.md).

import { randomInt } from 'node:crypto';
import type { VpnIp } from '../ip/vpn-ip.js';
import type { HostInfo } from './hostinfo.js';

/**
 * Candidates held in all: the oldest makes room beyond this. Each costs ~2 KiB (keys, replay window, the stage 1 and
 * stage 2 copies), so ~8 MiB at the bound.
 */
export const MAX_CANDIDATES = 4096;

/**
 * The largest local index we draw (allocateIndex): 2^31 - 1, the largest small integer (Smi) of node's 64-bit V8,
 * which has no pointer compression (31-bit Smis: a build with it would need 2^30 - 1; hostmap-index.test asks V8).
 */
export const MAX_LOCAL_INDEX = 0x7fff_ffff;

const NONE: readonly HostInfo[] = [];

/**
 * The tunnel lifecycle as the collaborators that keep something per peer see it (lighthouse answers, relay entries,
 * birthday sockets, certificate expiry): each subscribes itself instead of the node calling each by hand.
 */
export interface TunnelEvents {
  /** A tunnel was installed (added or promoted), after the tables hold it. */
  onInstalled(listener: (host: HostInfo) => void): () => void;
  /**
   * A tunnel was closed for good (closeTunnel: dead, closed by the peer or the operator, invalid certificate,
   * shutdown), after the tables dropped it. A tunnel replaced by a newer handshake, or a candidate that goes, is not
   * closed: what was kept for its peer holds for the new tunnel (docs/state-machines.md).
   */
  onClosed(listener: (host: HostInfo) => void): () => void;
}

/** Where a listener's throw goes: the tables are consistent and the other listeners ran by then. */
export type ListenerFailed = (error: unknown) => void;

export class HostMap implements TunnelEvents {
  /** Each tunnel under every one of its addresses (`HostInfo.vpnAddrs`): look up here (or `get`). */
  readonly byVpnIp = new Map<VpnIp, HostInfo>();
  /** Each tunnel once, under its primary address (`HostInfo.vpnIp`): iterate this (or `hosts()`). */
  readonly byPrimary = new Map<VpnIp, HostInfo>();
  readonly byIndex = new Map<number, HostInfo>();
  readonly byRemoteIndex = new Map<number, HostInfo>();
  /** Unproven tunnels by our index, oldest first (age order, for expiry); each is also in `byIndex`. */
  readonly candidates = new Map<number, HostInfo>();
  /** The same candidates by each of their overlay addresses, oldest first. */
  private readonly candidatesByVpnIp = new Map<VpnIp, HostInfo[]>();
  /** Indexes held by pending handshakes, so that a new index never collides with one of them. */
  readonly reservedIndexes = new Set<number>();
  /** Told of every tunnel installed (added or promoted), after the tables hold it: who waits for a tunnel. */
  private readonly installedListeners = new Set<(host: HostInfo) => void>();
  /** Told of every tunnel closed (`close`), after the tables dropped it: who keeps something per peer. */
  private readonly closedListeners = new Set<(host: HostInfo) => void>();

  /**
   * `listenerFailed`: a listener's throw is handed there (the node logs it); without one it is thrown again once
   * every listener ran, so that a test sees it.
   */
  constructor(private readonly listenerFailed?: ListenerFailed) {}

  /** Calls `listener` with each tunnel installed from now on; returns the call that stops it. */
  onInstalled(listener: (host: HostInfo) => void): () => void {
    this.installedListeners.add(listener);
    return () => void this.installedListeners.delete(listener);
  }

  /** Calls `listener` with each tunnel closed from now on; returns the call that stops it. */
  onClosed(listener: (host: HostInfo) => void): () => void {
    this.closedListeners.add(listener);
    return () => void this.closedListeners.delete(listener);
  }

  /**
   * A random non-zero 31-bit index unused locally (Nebula tries 32 times, and so do we). randomInt reads node's
   * cached CSPRNG bytes: ~0.1 us, against ~2 us for a randomBytes(4) (a native job object the garbage collector then
   * finalizes; ~7 us a handshake in a busy lighthouse's profile). An index is no secret: every header carries it.
   * Below 2^31, where Nebula draws all 32 bits (any value is valid on the wire): V8 holds such a number as a small
   * integer, so the header read allocates nothing for it and byIndex, looked up for every packet received, compares
   * keys without loading them (a 40k-entry map with cold caches: 31-47 ns a lookup against 113-170 with heap-number
   * keys); the tunnel's key, not the index, is what keeps others' packets out (docs/differences-from-nebula.md).
   */
  allocateIndex(): number {
    for (let i = 0; i < 32; i++) {
      // `| 0`: randomInt computes in doubles and returns a boxed number; the Smi is what byIndex must hold.
      const idx = randomInt(1, MAX_LOCAL_INDEX + 1) | 0;
      if (!this.byIndex.has(idx) && !this.reservedIndexes.has(idx)) return idx;
    }
    throw new Error('could not allocate a unique local index');
  }

  /** Installs a tunnel and returns the one it replaced, if any (a newer handshake wins; it also ends the candidates). */
  add(host: HostInfo): HostInfo | undefined {
    for (const addr of host.vpnAddrs) for (const candidate of [...this.candidatesFor(addr)]) this.remove(candidate);
    return this.install(host);
  }

  /** The tunnel answering for `addr`, any of its addresses (the send path's lookup). */
  get(addr: VpnIp): HostInfo | undefined {
    return this.byVpnIp.get(addr);
  }

  has(addr: VpnIp): boolean {
    return this.byVpnIp.has(addr);
  }

  /** Every established tunnel once. */
  hosts(): IterableIterator<HostInfo> {
    return this.byPrimary.values();
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
    for (const addr of host.vpnAddrs) {
      const forIp = this.candidatesByVpnIp.get(addr);
      if (forIp) forIp.push(host);
      else this.candidatesByVpnIp.set(addr, [host]);
    }
    this.byIndex.set(host.localIndex, host);
    this.reservedIndexes.delete(host.localIndex);
    return evicted;
  }

  /** The candidates holding one overlay address, oldest first (empty when none). */
  candidatesFor(vpnIp: VpnIp): readonly HostInfo[] {
    return this.candidatesByVpnIp.get(vpnIp) ?? NONE;
  }

  isCandidate(host: HostInfo): boolean {
    return this.candidates.get(host.localIndex) === host;
  }

  /**
   * The candidate proved itself: it becomes the tunnel, and the one it replaces (returned) goes, as do the
   * candidates for any of its overlay addresses older than it (the peer's newer handshake won; none of them can be
   * its own).
   */
  promote(host: HostInfo): HostInfo | undefined {
    for (const addr of host.vpnAddrs) {
      for (const other of [...this.candidatesFor(addr)]) {
        if (other === host) break;
        this.remove(other);
      }
    }
    this.dropCandidate(host);
    return this.install(host);
  }

  /**
   * Takes a tunnel out for good and tells the closed listeners. `remove` alone is for a tunnel that gives way to
   * another one of the same peer (replaced, or a candidate): nothing is closed then.
   */
  close(host: HostInfo): void {
    this.remove(host);
    this.tell(this.closedListeners, host);
  }

  remove(host: HostInfo): void {
    if (this.byPrimary.get(host.vpnIp) === host) this.byPrimary.delete(host.vpnIp);
    for (const addr of host.vpnAddrs) if (this.byVpnIp.get(addr) === host) this.byVpnIp.delete(addr);
    this.dropCandidate(host);
    if (this.byIndex.get(host.localIndex) === host) this.byIndex.delete(host.localIndex);
    if (this.byRemoteIndex.get(host.remoteIndex) === host) this.byRemoteIndex.delete(host.remoteIndex);
  }

  private dropCandidate(host: HostInfo): void {
    if (this.candidates.get(host.localIndex) !== host) return;
    this.candidates.delete(host.localIndex);
    for (const addr of host.vpnAddrs) {
      const forIp = this.candidatesByVpnIp.get(addr);
      if (!forIp) continue;
      const at = forIp.indexOf(host);
      if (at >= 0) forIp.splice(at, 1);
      if (forIp.length === 0) this.candidatesByVpnIp.delete(addr);
    }
  }

  /**
   * Installs `host` under all its addresses. A tunnel holding any of them goes (the newer handshake wins, as for one
   * address); the first found (the primary address's, if any) is returned as the replaced tunnel.
   */
  private install(host: HostInfo): HostInfo | undefined {
    let old: HostInfo | undefined;
    for (const addr of host.vpnAddrs) {
      const other = this.byVpnIp.get(addr);
      if (other === undefined || other === host) continue;
      old ??= other;
      this.remove(other);
    }
    this.byPrimary.set(host.vpnIp, host);
    for (const addr of host.vpnAddrs) this.byVpnIp.set(addr, host);
    this.byIndex.set(host.localIndex, host);
    this.byRemoteIndex.set(host.remoteIndex, host);
    this.reservedIndexes.delete(host.localIndex);
    this.tell(this.installedListeners, host);
    return old;
  }

  /** Every listener hears of `host` whatever another one threw (one bad subscriber must not starve the others). */
  private tell(listeners: ReadonlySet<(host: HostInfo) => void>, host: HostInfo): void {
    let failed: { error: unknown } | null = null;
    for (const listener of listeners) {
      try {
        listener(host);
      } catch (error) {
        if (this.listenerFailed) this.listenerFailed(error);
        else failed ??= { error };
      }
    }
    if (failed) throw failed.error;
  }

  /** Established tunnels (each once). */
  get size(): number {
    return this.byPrimary.size;
  }
}
