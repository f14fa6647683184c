import assert from 'node:assert/strict';
import { test } from 'node:test';

import { CaPool } from '../../pkg/cert/index.js';
import type { Pki } from '../../pkg/daemon/pki.js';
import { identityOf } from '../../pkg/handshake/identity.js';
import { parseVpnIp } from '../../pkg/ip/vpn-ip.js';
import { addrKey } from '../../pkg/udp/addr.js';
import { ipv6Packet, UDP } from './firewall-fixtures.js';
import { TestMesh, underlayOf } from './helpers/mesh.js';
import { makeHostCertV2, makeTestCaV2, type TestCaV2 } from './helpers/pki-v2.js';
import { waitFor } from './helpers/wait.js';

// Discovery over the IPv6 overlay between in-process nodes with real handshakes (docs/ipv6.md): a dual-stack
// lighthouse configured by its IPv6 address, a dual-stack node and an IPv6-only node. The first IPv6 packet makes
// the node ask the lighthouse about an IPv6 host (v2 layout, VpnAddr), the answer brings its underlay address and the
// packet arrives; nothing needed a static entry for the peer.

const FAST = {
  handshakes: { try_interval: '20ms', retries: 10 },
  timers: { connection_alive_interval: 1, pending_deletion_interval: 5 },
};
const LH6 = 'fd00:99::1';
const A6 = 'fd00:99::2';
const B6 = 'fd00:99::3';

function pkiFor(ca: TestCaV2, name: string, networks: string[]): Pki {
  const host = makeHostCertV2(ca, { name, networks });
  const caPool = new CaPool();
  caPool.addCaV2(ca.cert);
  return { caPool, identity: identityOf({ v2: host.v2 }, host.privateKey), warnings: [] };
}

test('a node finds an IPv6-only peer through a lighthouse configured by its IPv6 address, and the packet arrives', async (t) => {
  const ca = makeTestCaV2();
  const mesh = new TestMesh(t);
  const lh = await mesh.node({
    vpnIp: '10.99.0.1',
    name: 'lh',
    tun: null,
    config: { ...FAST, lighthouse: { am_lighthouse: true } },
    pki: pkiFor(ca, 'lh', ['10.99.0.1/24', `${LH6}/64`]),
  });
  const client = { ...FAST, lighthouse: { hosts: [LH6], interval: 60 } };
  const toLh = { [LH6]: [addrKey(underlayOf('10.99.0.1'))] };
  const a = await mesh.node({
    vpnIp: '10.99.0.2',
    name: 'a',
    config: client,
    staticHostMap: toLh,
    pki: pkiFor(ca, 'a', ['10.99.0.2/24', `${A6}/64`]),
  });
  const b = await mesh.node({
    vpnIp: '10.99.0.3',
    name: 'b',
    config: client,
    staticHostMap: toLh,
    pki: pkiFor(ca, 'b', [`${B6}/64`]),
  });
  const logs = (): string => [lh, a, b].map((n) => n.logs.join('\n')).join('\n---\n');
  // b reports itself to the lighthouse (over its only, IPv6, address) before a asks about it.
  await waitFor(() => (lh.node.counters.get('lighthouse', 'update') ?? 0) >= 2, { what: logs });

  const packet = ipv6Packet({ src: A6, dst: B6, proto: UDP, srcPort: 5000, dstPort: 6000, payload: 12 });
  a.tun.inject(packet);
  await waitFor(() => b.tun.written.some((p) => Buffer.from(p).equals(Buffer.from(packet))), { what: logs });

  assert.ok((a.node.counters.get('lighthouse', 'reply') ?? 0) >= 1, 'a learned b from the lighthouse');
  assert.equal(a.node.hostmap.get(B6)?.vpnIp, B6);
  assert.deepEqual(lh.node.hostmap.get(B6)?.vpnAddrs, [B6]);
  // The lighthouse knows a by both addresses: one tunnel.
  assert.equal(lh.node.hostmap.get(parseVpnIp('10.99.0.2')), lh.node.hostmap.get(A6));
  for (const n of [lh, a, b]) assert.equal(n.node.counters.get('lighthouse', 'v1-ipv6-skipped') ?? 0, 0);
});
