// What an address change means to the node (udp/address-watch.ts AddressListener): the path finder holds traffic
// and refreshes every tunnel, the NAT is measured again, the TCP fallback looks at UDP again, the port mapping is
// renewed and the lighthouses are asked where they see us now.

import type { AddressListener } from '../udp/address-watch.js';
import type { MeshNode } from './node.js';

export class AddressWatchWiring implements AddressListener {
  constructor(private readonly node: MeshNode) {}

  snapshot(): string[] {
    // Called on every interface event and poll (and when the watch starts): whatever changed, the kept networks are
    // read again.
    this.node.localNetworks.refresh();
    return this.node.ownAddresses().map((a) => a.address);
  }

  addressLost(): void {
    this.node.paths.addressLost();
  }

  addressesChanged(addresses: string[], lostAny: boolean): void {
    const node = this.node;
    node.paths.localAddressesChanged(addresses, lostAny);
    node.natTests?.addressesChanged();
    node.tcp?.fallback?.addressesChanged();
    node.portMap?.refresh();
    node.lighthouseClient?.askAboutSelf();
  }
}
