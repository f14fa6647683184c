import assert from 'node:assert/strict';
import { test } from 'node:test';

import { TestMesh } from './helpers/mesh.js';
import { udpPacket, udpPayloadText } from './helpers/packets.js';
import { waitFor } from './helpers/wait.js';

// An IPv6 underlay with real kernel sockets on loopback: each node opens its own socket from listen.host '::' and
// a random port, and the initiator finds the other through static_host_map "[::1]:port". TUNs stay in memory.

const A = '10.99.0.1';
const B = '10.99.0.2';

test('two nodes on an IPv6 underlay ([::1]) handshake and pass packets both ways', async (t) => {
  const mesh = new TestMesh(t);
  const listen = { listen: { host: '::', port: 0 } };
  const b = await mesh.node({ vpnIp: B, name: 'b', udp: 'kernel', config: listen });
  const port = b.node.udp.localPort;
  assert.ok(port > 0);
  const a = await mesh.node({
    vpnIp: A,
    name: 'a',
    udp: 'kernel',
    config: listen,
    staticHostMap: { [B]: [`[::1]:${port}`] },
  });

  a.tun.inject(udpPacket({ src: A, dst: B, payload: 'over ipv6' }));
  await waitFor(() => b.tun.written.length === 1, {
    what: () => `the packet at b\n${a.logs.join('\n')}\n${b.logs.join('\n')}`,
  });
  assert.equal(udpPayloadText(b.tun.written[0]), 'over ipv6');

  const ab = a.tunnelTo(b)!;
  const ba = b.tunnelTo(a)!;
  assert.deepEqual({ ...ab.remote }, { address: '::1', port });
  assert.equal(ba.remote?.address, '::1');
  assert.equal(ba.remote?.port, a.node.udp.localPort);

  b.tun.inject(udpPacket({ src: B, dst: A, payload: 'and back' }));
  await waitFor(() => a.tun.written.length === 1, { what: 'the reply at a' });
  assert.equal(udpPayloadText(a.tun.written[0]), 'and back');
});
