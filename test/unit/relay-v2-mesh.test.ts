import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import { ControlType, decodeControl } from '../../pkg/relay/control.js';
import { sameAddr } from '../../pkg/udp/addr.js';
import { TestMesh, type TestNode } from './helpers/mesh.js';
import { udpPacket, udpPayloadText } from './helpers/packets.js';
import { makeHost, makeTestCaV2, pkiOf } from './helpers/pki-v2.js';
import { makeTestCa } from './helpers/pki.js';
import { advanceFor, advanceUntil } from './helpers/wait.js';

// Three in-process nodes with v2-only certificates (docs/wire-format.md, "Relays"): R is the lighthouse and a relay,
// A and B cannot reach each other. Every relay control message on the way is in the v2 layout (RelayToAddr /
// RelayFromAddr), and the relay carries the end-to-end tunnel.

const R = '10.99.0.1';
const A = '10.99.0.10';
const B = '10.99.0.20';

/** The relay control messages a node receives: "type vN". */
function recordControl(n: TestNode): string[] {
  const seen: string[] = [];
  const node = n.node as unknown as { onControlMessage(host: HostInfo, payload: Uint8Array): void };
  const original = node.onControlMessage.bind(node);
  node.onControlMessage = (host, payload) => {
    const m = decodeControl(payload);
    seen.push(`${ControlType[m.type]} v${m.version ?? 1}`);
    original(host, payload);
  };
  return seen;
}

test('v2-only nodes set a relay up in the v2 layout and talk through it', async (t) => {
  const c = { v1: makeTestCa('v1 ca'), v2: makeTestCaV2('v2 ca') };
  const clock = new ManualClock(1_000_000);
  const mesh = new TestMesh(t, { clock });
  const fast = { handshakes: { try_interval: '20ms' } };
  const end = { ...fast, lighthouse: { hosts: [R] }, relay: { relays: [R], use_relays: true } };
  const pki = (name: string, ip: string) => pkiOf(makeHost(c, name, ip, [2]), c);
  const r = await mesh.node({
    vpnIp: R,
    name: 'relay',
    tun: null,
    pki: pki('relay', R),
    config: { ...fast, lighthouse: { am_lighthouse: true }, relay: { am_relay: true } },
  });
  const atR = recordControl(r);
  const a = await mesh.node({ vpnIp: A, name: 'a', peers: [R], pki: pki('a', A), config: end });
  const atA = recordControl(a);
  const b = await mesh.node({ vpnIp: B, name: 'b', peers: [R], pki: pki('b', B), config: end });
  const atB = recordControl(b);
  mesh.net.drop = (_p, src, dst) =>
    (sameAddr(src, a.addr) && sameAddr(dst, b.addr)) || (sameAddr(src, b.addr) && sameAddr(dst, a.addr));
  const reported = (n: TestNode): boolean => n.node.counters.get('lighthouse', 'update-sent') >= 1;
  await advanceUntil(clock, () => r.tunnelTo(a) && r.tunnelTo(b) && reported(a) && reported(b), {
    what: 'a and b at the lighthouse',
  });
  await advanceFor(clock, 20);

  a.tun.inject(udpPacket({ src: A, dst: B, payload: 'via the relay, v2' }));
  await advanceUntil(clock, () => b.tun.written.length === 1, {
    timeoutMs: 5000,
    what: () => `the packet at b; r got ${atR.join(', ')}; a got ${atA.join(', ')}; b got ${atB.join(', ')}`,
  });
  assert.equal(udpPayloadText(b.tun.written[0]), 'via the relay, v2');
  assert.equal(a.tunnelTo(b)!.remote, null, 'a reaches b only through the relay');
  assert.equal(a.tunnelTo(b)!.certVersion, 2);
  assert.ok(atR.includes('CreateRelayRequest v2') && atR.includes('CreateRelayResponse v2'), `at r: ${atR.join(', ')}`);
  assert.ok(atB.includes('CreateRelayRequest v2'), `at b: ${atB.join(', ')}`);
  assert.ok(atA.includes('CreateRelayResponse v2'), `at a: ${atA.join(', ')}`);
  assert.deepEqual(
    [...atR, ...atA, ...atB].filter((s) => !s.endsWith('v2')),
    [],
    'nothing in v1',
  );
});
