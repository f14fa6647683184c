import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import { HEADER_LEN, MessageSubType, MessageType } from '../../pkg/header/header.js';
import { wrapRelayed } from '../../pkg/relay/frame.js';
import { sameAddr } from '../../pkg/udp/addr.js';
import { TestMesh } from './helpers/mesh.js';
import { isType, udpPacket, udpPayloadText } from './helpers/packets.js';
import { advanceFor, advanceUntil } from './helpers/wait.js';

// Three in-process nodes: R is the lighthouse and a relay (relay.am_relay), A and B report to it and name it as
// their relay. The MemoryNetwork drops every datagram between A and B, so the relay is the only path: A learns
// B's relay from the lighthouse, asks R for a relay, and handshakes and sends data through it. Simulated time (one
// ManualClock): nothing sleeps.

const R = '10.99.0.1';
const A = '10.99.0.10';
const B = '10.99.0.20';

async function relayed(t: { after(fn: () => unknown): void }) {
  const clock = new ManualClock(1_000_000);
  const mesh = new TestMesh(t, { clock });
  const fast = { handshakes: { try_interval: '20ms' } };
  const end = { ...fast, lighthouse: { hosts: [R] }, relay: { relays: [R], use_relays: true } };
  const r = await mesh.node({
    vpnIp: R,
    name: 'relay',
    tun: null,
    config: { ...fast, lighthouse: { am_lighthouse: true }, relay: { am_relay: true } },
  });
  const a = await mesh.node({ vpnIp: A, name: 'a', peers: [R], config: end });
  const b = await mesh.node({ vpnIp: B, name: 'b', peers: [R], config: end });
  let direct = 0;
  mesh.net.drop = (_p, src, dst) => {
    const cut = (sameAddr(src, a.addr) && sameAddr(dst, b.addr)) || (sameAddr(src, b.addr) && sameAddr(dst, a.addr));
    if (cut) direct++;
    return cut;
  };
  // Both ends report to the lighthouse before anyone asks about them.
  const reported = (n: typeof a): boolean => n.node.counters.get('lighthouse', 'update-sent') >= 1;
  await advanceUntil(clock, () => r.tunnelTo(a) && r.tunnelTo(b) && reported(a) && reported(b), {
    what: 'a and b at the lighthouse',
  });
  await advanceFor(clock, 20);
  return { clock, mesh, r, a, b, directAttempts: () => direct };
}

test('traffic flows A -> B and back through relay R when A and B cannot reach each other', async (t) => {
  const { clock, r, a, b, directAttempts } = await relayed(t);
  a.tun.inject(udpPacket({ src: A, dst: B, payload: 'via the relay' }));
  await advanceUntil(clock, () => b.tun.written.length === 1, {
    timeoutMs: 5000,
    what: () => `the packet at b\n--a\n${a.logs.join('\n')}\n--r\n${r.logs.join('\n')}\n--b\n${b.logs.join('\n')}`,
  });
  assert.equal(udpPayloadText(b.tun.written[0]), 'via the relay');

  b.tun.inject(udpPacket({ src: B, dst: A, payload: 'back via the relay' }));
  await advanceUntil(clock, () => a.tun.written.length === 1, { what: 'the reply at a' });
  assert.equal(udpPayloadText(a.tun.written[0]), 'back via the relay');

  const ab = a.tunnelTo(b)!;
  const ba = b.tunnelTo(a)!;
  assert.equal(ab.remote, null, 'a reaches b only through the relay');
  assert.equal(ba.remote, null);
  assert.equal(ab.remoteIndex, ba.localIndex, 'one end-to-end tunnel');
  assert.ok(a.logs.some((l) => l.includes('Relay established')));
  assert.ok(b.logs.some((l) => l.includes('Relay established as target')));
  assert.ok(r.node.counters.get('relay', 'established-as-relay') >= 1);
  assert.ok(r.node.counters.get('relay', 'forwarded') >= 4, 'stage 1, stage 2 and both data packets went through r');
  assert.equal(r.node.hostmap.size, 2, 'r holds only its hop tunnels, not one to the end-to-end pair');
  assert.ok(directAttempts() > 0, 'a tried the direct path first');
});

test('the relay rejects a relayed frame with a flipped bit and forwards nothing', async (t) => {
  const { clock, r, a, b } = await relayed(t);
  a.tun.inject(udpPacket({ src: A, dst: B, payload: 'warm up' }));
  await advanceUntil(clock, () => b.tun.written.length === 1, { timeoutMs: 5000, what: 'the relayed tunnel' });
  await advanceFor(clock, 50);

  const hop = a.tunnelTo(r)!;
  const entry = a.node.relays.table.terminalFor(b.vpnIp)!;
  assert.ok(entry, "a's relay entry for b");
  const forwarded = r.node.counters.get('relay', 'forwarded');
  const hopPacketsIn = r.tunnelTo(a)!.packetsIn;

  const frame = wrapRelayed(hop, entry.remoteIndex, udpPacket({ src: A, dst: B, payload: 'not an end-to-end packet' }));
  assert.ok(isType(frame, MessageType.Message, MessageSubType.Relay));
  frame[HEADER_LEN + 3] ^= 0x80; // a bit of the inner packet
  a.memUdp!.send(frame, r.addr);
  await advanceUntil(clock, () => r.node.counters.get('drops', 'relay-auth') === 1, { what: 'the relay-auth drop' });
  await advanceFor(clock, 20);
  assert.equal(r.node.counters.get('relay', 'forwarded'), forwarded, 'nothing forwarded');
  assert.equal(r.tunnelTo(a)!.packetsIn, hopPacketsIn, 'the hop tunnel saw no authenticated packet');
  assert.equal(b.tun.written.length, 1);
});
