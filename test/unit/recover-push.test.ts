import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import { MessageType } from '../../pkg/header/header.js';
import { sameAddr, udpAddr } from '../../pkg/udp/addr.js';
import { TestMesh } from './helpers/mesh.js';
import { isType, udpPacket } from './helpers/packets.js';
import { advanceUntil } from './helpers/wait.js';

// A peer that comes back at another address (a random listen port, a new underlay address): the lighthouse pushes
// the new address to the mesh hosts that asked about it, and their tunnels follow at once. In-process nodes on a
// MemoryNetwork (zero round trip) on one ManualClock (simulated time); L is the lighthouse.

const L = '10.99.0.1';
const A = '10.99.0.10';
const B = '10.99.0.20';
const FAST = { handshakes: { try_interval: '20ms', retries: 10 }, lighthouse: { hosts: [L] } };

test('a peer restarted on another port is reached at once through the lighthouse push', async (t) => {
  const clock = new ManualClock(1_000_000);
  const mesh = new TestMesh(t, { clock });
  const lh = await mesh.node({
    vpnIp: L,
    name: 'lh',
    tun: null,
    config: { handshakes: FAST.handshakes, lighthouse: { am_lighthouse: true } },
  });
  const a = await mesh.node({ vpnIp: A, name: 'a', peers: [L], config: FAST });
  const b = await mesh.node({ vpnIp: B, name: 'b', peers: [L], config: FAST });
  await advanceUntil(clock, () => a.tunnelTo(L) && b.node.counters.get('lighthouse', 'update-sent') >= 1, {
    what: 'a and b at the lighthouse',
  });
  a.tun.inject(udpPacket({ src: A, dst: B, payload: 'hello' }));
  await advanceUntil(clock, () => b.tun.written.length === 1, { what: 'the first tunnel' });

  // b crashes (its close never leaves) and comes back on port 5000 with the same certificate.
  mesh.net.drop = (p, src) => sameAddr(src, b.addr) && isType(p, MessageType.CloseTunnel);
  await b.stop();
  mesh.net.drop = () => false;
  const startedAt = clock.now();
  const b2 = await mesh.node({
    vpnIp: B,
    name: 'b2',
    cert: b.cert,
    peers: [L],
    underlay: udpAddr(b.addr.address, 5000),
    config: FAST,
  });
  // a sends 50 packets a second meanwhile.
  const stopSender = clock.every(20, () => a.tun.inject(udpPacket({ src: A, dst: B, payload: 'a keeps sending' })));
  await advanceUntil(clock, () => b2.tun.written.length > 0, {
    timeoutMs: 3000,
    what: () => `a's traffic at b2\n--a\n${a.logs.join('\n')}\n--lh\n${lh.logs.join('\n')}`,
  });
  stopSender();
  const recoveryMs = clock.now() - startedAt;
  t.diagnostic(`a's traffic at the restarted peer ${recoveryMs} ms after it started (simulated)`);
  assert.equal(lh.node.counters.get('lighthouse', 'push-sent'), 1, 'one push, to a');
  assert.equal(a.node.counters.get('lighthouse', 'push'), 1);
  assert.ok(sameAddr(a.tunnelTo(B)!.remote, b2.addr), 'a follows b to its new port');
  assert.ok(recoveryMs <= 500, `${recoveryMs} ms`);
});
