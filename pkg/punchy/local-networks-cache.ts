// The networks our interfaces are on (punch-needed.ts's LocalNetwork list), kept and read again whenever the address
// watch sees any interface or address event: each lighthouse answer splits the peer's addresses by them, and
// reading the system's interfaces costs ~0.3-0.6 ms of main-thread CPU on a first contact (issue 19). The watch
// looks at the interfaces on every raw event and poll (udp/address-watch.ts `snapshot`), including those outside
// local_allow_list and prefix-length changes, so refreshing the kept list there misses nothing it would have seen.
// The refresh reads at once rather than on the next use, so no first contact pays for the read (the watch looks at
// the interfaces on those events anyway; one more look costs about as much).

import type { LocalNetwork } from './punch-needed.js';

export class LocalNetworksCache {
  private kept: LocalNetwork[] | null = null;

  /** `keep`: false when nothing calls refresh() (no address watch), then every get() reads afresh. */
  constructor(
    private readonly read: () => LocalNetwork[],
    private readonly keep: boolean,
  ) {}

  get(): LocalNetwork[] {
    if (!this.keep) return this.read();
    return (this.kept ??= this.read());
  }

  /** The interfaces may have changed: read them again now. */
  refresh(): void {
    if (this.keep) this.kept = this.read();
  }
}
