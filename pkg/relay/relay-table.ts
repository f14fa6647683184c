// Relay entries (docs/state-machines.md, "Relay entries"). An entry rides on one tunnel (the hop) and names the peer on
// the far side: at an end (A or B) it is terminal and the peer is the other end; at the relay it forwards, and comes in
// pairs, one per hop, each naming the other side's peer. Relay indexes come from the same generator as tunnel indexes,
// so they never collide with one.
//
// Each hop holds at most `maxPerHop` entries (docs/security-model.md): a hop can name any number of distinct far
// peers, and each name would otherwise cost an entry. At the bound the hop's oldest entry makes room. Evicting
// rather than refusing: a hop's entries carry only traffic through that hop, so a hostile hop can only push out
// its own relays, while an honest hop whose old entries went stale (their far end left) keeps working.

import type { HostMap } from '../hostmap/hostmap.js';
import type { VpnIp } from '../ip/vpn-ip.js';

export interface RelayEntry {
  /** Our relay index: the hop puts it in the outer header of packets it relays to us. */
  readonly localIndex: number;
  /** The hop's relay index for this relay; 0 until its response arrives. */
  remoteIndex: number;
  state: 'requested' | 'established';
  readonly terminal: boolean;
  /** The tunnel this relay rides on, by its primary overlay address (HostInfo.vpnIp). */
  readonly hopIp: VpnIp;
  /** The other side: the far end for a terminal entry, the other hop for a forwarding one. */
  readonly peerIp: VpnIp;
}

/**
 * Far peers one hop may carry for us. A node rarely reaches more than a few hundred peers through one relay; at
 * ~0.5 KiB per entry the bound costs at most ~128 KiB per hop.
 */
export const MAX_RELAYS_PER_HOP = 256;

export class RelayTable {
  readonly byIndex = new Map<number, RelayEntry>();
  private readonly byHopPeer = new Map<string, RelayEntry>();
  /** hop -> its entries, oldest first (a Set keeps insertion order). */
  private readonly byHop = new Map<VpnIp, Set<RelayEntry>>();

  constructor(
    private readonly hostmap: HostMap,
    private readonly maxPerHop = MAX_RELAYS_PER_HOP,
    /** Called for each entry removed to make room (and for the forwarding partner removed with it). */
    private readonly onEvict: (entry: RelayEntry) => void = () => {},
  ) {}

  private static key(hopIp: VpnIp, peerIp: VpnIp): string {
    return `${hopIp}/${peerIp}`;
  }

  get(hopIp: VpnIp, peerIp: VpnIp): RelayEntry | undefined {
    return this.byHopPeer.get(RelayTable.key(hopIp, peerIp));
  }

  /** Adds an entry, replacing the one for the same hop and peer, and evicting the hop's oldest at the bound. */
  add(init: Omit<RelayEntry, 'localIndex'>): RelayEntry {
    const old = this.get(init.hopIp, init.peerIp);
    if (old) this.remove(old);
    let onHop = this.byHop.get(init.hopIp);
    while (onHop && onHop.size >= this.maxPerHop) {
      const oldest: RelayEntry = onHop.values().next().value!;
      this.evict(oldest);
      onHop = this.byHop.get(init.hopIp);
    }
    const localIndex = this.hostmap.allocateIndex();
    this.hostmap.reservedIndexes.add(localIndex);
    const entry: RelayEntry = { ...init, localIndex };
    this.byIndex.set(localIndex, entry);
    this.byHopPeer.set(RelayTable.key(entry.hopIp, entry.peerIp), entry);
    if (!onHop) this.byHop.set(entry.hopIp, (onHop = new Set()));
    onHop.add(entry);
    return entry;
  }

  remove(entry: RelayEntry): void {
    if (this.byIndex.get(entry.localIndex) !== entry) return;
    this.byIndex.delete(entry.localIndex);
    this.hostmap.reservedIndexes.delete(entry.localIndex);
    const key = RelayTable.key(entry.hopIp, entry.peerIp);
    if (this.byHopPeer.get(key) === entry) this.byHopPeer.delete(key);
    const onHop = this.byHop.get(entry.hopIp);
    if (onHop?.delete(entry) && onHop.size === 0) this.byHop.delete(entry.hopIp);
  }

  /** A forwarding entry is half of a pair: the other half, on the peer's tunnel, cannot work without it. */
  private evict(entry: RelayEntry): void {
    this.remove(entry);
    this.onEvict(entry);
    if (entry.terminal) return;
    const partner = this.get(entry.peerIp, entry.hopIp);
    if (partner && !partner.terminal) {
      this.remove(partner);
      this.onEvict(partner);
    }
  }

  /** An established terminal relay to `peerIp`, through any hop. */
  terminalFor(peerIp: VpnIp): RelayEntry | undefined {
    for (const e of this.byIndex.values()) if (e.terminal && e.peerIp === peerIp && e.state === 'established') return e;
    return undefined;
  }

  /** Removes the entries that ride on, or lead to, a tunnel that is gone; returns them. */
  forgetTunnel(vpnIp: VpnIp): RelayEntry[] {
    const gone = [...this.byIndex.values()].filter((e) => e.hopIp === vpnIp || (!e.terminal && e.peerIp === vpnIp));
    for (const e of gone) this.remove(e);
    return gone;
  }

  /** Entries riding on the tunnel to `hopIp`. */
  countOnHop(hopIp: VpnIp): number {
    return this.byHop.get(hopIp)?.size ?? 0;
  }

  get size(): number {
    return this.byIndex.size;
  }
}
