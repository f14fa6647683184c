// Relay entries (reference §6.3). An entry rides on one tunnel (the hop) and names the peer on the far side:
// at an end (A or B) it is terminal and the peer is the other end; at the relay it forwards, and comes in pairs,
// one per hop, each naming the other side's peer. Relay indexes come from the same generator as tunnel indexes,
// so they never collide with one.

import type { HostMap } from '../hostmap/hostmap.js';
import type { Ipv4 } from '../ip/ipv4.js';

export interface RelayEntry {
  /** Our relay index: the hop puts it in the outer header of packets it relays to us. */
  readonly localIndex: number;
  /** The hop's relay index for this relay; 0 until its response arrives. */
  remoteIndex: number;
  state: 'requested' | 'established';
  readonly terminal: boolean;
  /** The tunnel (peer overlay IP) this relay rides on. */
  readonly hopIp: Ipv4;
  /** The other side: the far end for a terminal entry, the other hop for a forwarding one. */
  readonly peerIp: Ipv4;
}

export class RelayTable {
  readonly byIndex = new Map<number, RelayEntry>();
  private readonly byHopPeer = new Map<string, RelayEntry>();

  constructor(private readonly hostmap: HostMap) {}

  private static key(hopIp: Ipv4, peerIp: Ipv4): string {
    return `${hopIp}/${peerIp}`;
  }

  get(hopIp: Ipv4, peerIp: Ipv4): RelayEntry | undefined {
    return this.byHopPeer.get(RelayTable.key(hopIp, peerIp));
  }

  add(init: Omit<RelayEntry, 'localIndex'>): RelayEntry {
    const old = this.get(init.hopIp, init.peerIp);
    if (old) this.remove(old);
    const localIndex = this.hostmap.allocateIndex();
    this.hostmap.reservedIndexes.add(localIndex);
    const entry: RelayEntry = { ...init, localIndex };
    this.byIndex.set(localIndex, entry);
    this.byHopPeer.set(RelayTable.key(entry.hopIp, entry.peerIp), entry);
    return entry;
  }

  remove(entry: RelayEntry): void {
    this.byIndex.delete(entry.localIndex);
    this.hostmap.reservedIndexes.delete(entry.localIndex);
    const key = RelayTable.key(entry.hopIp, entry.peerIp);
    if (this.byHopPeer.get(key) === entry) this.byHopPeer.delete(key);
  }

  /** An established terminal relay to `peerIp`, through any hop. */
  terminalFor(peerIp: Ipv4): RelayEntry | undefined {
    for (const e of this.byIndex.values()) if (e.terminal && e.peerIp === peerIp && e.state === 'established') return e;
    return undefined;
  }

  /** Entries that ride on, or lead to, a tunnel that is gone. */
  forgetTunnel(vpnIp: Ipv4): void {
    for (const e of [...this.byIndex.values()]) if (e.hopIp === vpnIp || (!e.terminal && e.peerIp === vpnIp)) this.remove(e);
  }

  get size(): number {
    return this.byIndex.size;
  }
}
