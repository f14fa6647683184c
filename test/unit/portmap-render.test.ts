// The port-mapping line of `mesh netcheck` and `mesh status`: which protocol mapped what and whether the
// lighthouses were told, or why nothing was mapped.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { portMapLine } from '../../pkg/control/render-portmap.js';
import type { PortMapReport } from '../../pkg/portmap/node-portmap.js';

const base: PortMapReport = {
  state: 'none',
  gateway: '192.168.1.1',
  mapping: null,
  failures: [],
  reason: null,
  advertised: false,
  notAdvertisedWhy: null,
};

test('a mapping: protocol, gateway, external address, lifetime left and whether it was advertised', () => {
  const mapping = {
    protocol: 'pcp' as const,
    externalIp: '11.0.113.2',
    externalPort: 4242,
    lifetimeSec: 7200,
    expiresInSec: 7100,
  };
  assert.equal(
    portMapLine({ ...base, state: 'mapped', mapping, advertised: true }),
    'pcp on 192.168.1.1: 11.0.113.2:4242, lifetime 7200 s (7100 s left); advertised to the lighthouses',
  );
  assert.match(
    portMapLine({
      ...base,
      state: 'mapped',
      mapping,
      notAdvertisedWhy: 'external ip 11.0.113.2 is not where the lighthouses see us (198.51.100.9)',
    }),
    /; not advertised: external ip 11\.0\.113\.2 is not where/,
  );
});

test('no mapping: each protocol says why; off when the feature is off', () => {
  const failures = [
    { protocol: 'pcp' as const, error: 'refused' },
    { protocol: 'nat-pmp' as const, error: 'refused' },
    { protocol: 'upnp' as const, error: 'no IGD' },
  ];
  assert.equal(
    portMapLine({ ...base, failures }),
    'none on 192.168.1.1 (pcp: refused; nat-pmp: refused; upnp: no IGD)',
  );
  assert.equal(
    portMapLine({ ...base, gateway: null, reason: 'no IPv4 default gateway' }),
    'none (no IPv4 default gateway)',
  );
  assert.equal(portMapLine(null), 'off');
});
