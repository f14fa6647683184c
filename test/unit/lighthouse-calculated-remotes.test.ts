// lighthouse.calculated_remotes (Nebula 1.7+): remotes computed from a peer's overlay address, so two nodes on one
// LAN handshake with neither a static_host_map entry nor a lighthouse answer.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIpv4 } from '../../pkg/ip/ipv4.js';
import { CalculatedRemotes } from '../../pkg/lighthouse/calculated-remotes.js';
import { addrKey } from '../../pkg/udp/addr.js';
import { TestMesh, underlayOf } from './helpers/mesh.js';
import { udpPacket } from './helpers/packets.js';

test("a remote is the mask's network bits, the peer's host bits and the port (Nebula's example: 10.0.10.123 -> 192.168.1.123)", () => {
  const calc = new CalculatedRemotes([
    {
      vpnRange: '10.0.10.0/24',
      remotes: [
        { mask: '192.168.1.0/24', port: 4242 },
        { mask: '172.16.9.77/24', port: 0 },
      ],
    },
    { vpnRange: '10.0.0.0/16', remotes: [{ mask: '192.168.0.0/16', port: 4243 }] },
  ]);
  assert.deepEqual(calc.for(parseIpv4('10.0.10.123')).map(addrKey), ['192.168.1.123:4242', '172.16.9.123:0']);
  // The most specific range wins; its mask keeps two octets of the VPN address.
  assert.deepEqual(calc.for(parseIpv4('10.0.11.5')).map(addrKey), ['192.168.11.5:4243']);
  assert.deepEqual(calc.for(parseIpv4('10.1.0.1')), []);
});

test('a node reaches a peer it has no static entry for through its calculated remote', async (t) => {
  const mesh = new TestMesh(t);
  const A = '10.99.0.1';
  const B = '10.99.0.2';
  // Test underlays are 198.51.100.<last octet of the VPN address>:4242 (helpers/mesh.ts).
  assert.equal(addrKey(underlayOf(B)), '198.51.100.2:4242');
  const calculated = {
    lighthouse: { calculated_remotes: { '10.99.0.0/24': [{ mask: '198.51.100.0/24', port: 4242 }] } },
  };
  const a = await mesh.node({ vpnIp: A, name: 'a', config: calculated });
  const b = await mesh.node({ vpnIp: B, name: 'b' });
  for (let i = 0; i < 50 && b.tun.written.length === 0; i++) {
    a.tun.inject(udpPacket({ src: A, dst: B, payload: `hello ${i}` }));
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(b.tun.written.length > 0, 'a packet crossed');
  // Without the key the same setup has no address to try.
  const c = await mesh.node({ vpnIp: '10.99.0.3', name: 'c' });
  assert.deepEqual(c.node.candidates(b.vpnIp), []);
  assert.deepEqual(a.node.candidates(b.vpnIp).map(addrKey), ['198.51.100.2:4242']);
});

test('an IPv6 range takes an IPv6 mask the same way (Nebula 1.11 ApplyV6): network bits of the mask, host bits of the peer', () => {
  const calc = new CalculatedRemotes([
    {
      vpnRange: 'fd00::/64',
      remotes: [
        { mask: '2001:db8:1::/64', port: 4242 },
        { mask: '2001:db8:2::/112', port: 0 },
      ],
    },
    { vpnRange: '10.0.10.0/24', remotes: [{ mask: '192.168.1.0/24', port: 4242 }] },
  ]);
  assert.deepEqual(calc.for('fd00::1:7b').map(addrKey), ['[2001:db8:1::1:7b]:4242', '[2001:db8:2::7b]:0']);
  assert.deepEqual(calc.for('fd01::1'), []);
  assert.deepEqual(calc.for(parseIpv4('10.0.10.123')).map(addrKey), ['192.168.1.123:4242'], 'IPv4 as before');
  assert.throws(
    () => new CalculatedRemotes([{ vpnRange: 'fd00::/64', remotes: [{ mask: '192.168.1.0/24', port: 1 }] }]),
    RangeError,
  );
});
