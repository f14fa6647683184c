import assert from 'node:assert/strict';
import { test } from 'node:test';

import { AddressWatchWiring } from '../../pkg/daemon/address-watch-wiring.js';
import type { MeshNode } from '../../pkg/daemon/node.js';
import { LocalNetworksCache } from '../../pkg/punchy/local-networks-cache.js';
import type { LocalNetwork } from '../../pkg/punchy/punch-needed.js';

// The interface networks a lighthouse answer is split by are kept, and read again whenever the address watch looks
// at the interfaces (issue 19: reading them cost ~0.5 ms on every first contact).

function counted(): { read: () => LocalNetwork[]; reads: () => number; set: (n: LocalNetwork[]) => void } {
  let reads = 0;
  let nets: LocalNetwork[] = [{ address: '192.168.7.1', prefixLength: 24 }];
  return {
    read: () => {
      reads++;
      return nets;
    },
    reads: () => reads,
    set: (n) => (nets = n),
  };
}

test('the networks are read once and kept; a refresh reads them at once, so the next use reads nothing', () => {
  const sys = counted();
  const cache = new LocalNetworksCache(sys.read, true);
  for (let i = 0; i < 5; i++) assert.deepEqual(cache.get(), [{ address: '192.168.7.1', prefixLength: 24 }]);
  assert.equal(sys.reads(), 1);
  sys.set([{ address: '10.1.0.2', prefixLength: 16 }]);
  cache.refresh();
  assert.equal(sys.reads(), 2);
  assert.deepEqual(cache.get(), [{ address: '10.1.0.2', prefixLength: 16 }]);
  assert.equal(sys.reads(), 2);
});

test('without an address watch (keep false) every get reads the system, as nothing would refresh it', () => {
  const sys = counted();
  const cache = new LocalNetworksCache(sys.read, false);
  cache.refresh();
  cache.get();
  cache.get();
  cache.get();
  assert.equal(sys.reads(), 3);
});

test("every look the address watch takes at the interfaces (its snapshot) reads the node's networks again", () => {
  const sys = counted();
  const cache = new LocalNetworksCache(sys.read, true);
  const node = { localNetworks: cache, ownAddresses: () => [] } as unknown as MeshNode;
  const wiring = new AddressWatchWiring(node);
  cache.get();
  // An event the watch judges as no change to our reported addresses (an interface outside local_allow_list, a
  // prefix length): the networks are still read again, there and then.
  sys.set([]);
  assert.deepEqual(wiring.snapshot(), []);
  assert.equal(sys.reads(), 2);
  assert.deepEqual(cache.get(), []);
  assert.equal(sys.reads(), 2);
});
