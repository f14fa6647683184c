import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import { MessageType } from '../../pkg/header/header.js';
import { addrKey, sameAddr } from '../../pkg/udp/addr.js';
import { connect, TestMesh, VPN_PREFIX, type TestNode } from './helpers/mesh.js';
import { isType, udpPacket } from './helpers/packets.js';
import { makeExpiredHostCert, makeHostCert, makeTestCa, type TestCa, type TestHostCert } from './helpers/pki.js';
import { advanceFor, advanceUntil } from './helpers/wait.js';

// Who gets a tunnel: the peer's certificate must come from a CA we trust, be valid now, not be blocklisted, and
// carry the VPN IP we meant to reach. Each refusal is checked from both ends of the handshake: the bad peer
// initiating (we refuse its stage 1 and answer nothing) and us initiating (we refuse its stage 2). The handshake
// retries run on simulated time (one ManualClock per test), so waiting for a handshake to give up takes no sleep.

const A = '10.99.0.1';
const X = '10.99.0.2';
const C = '10.99.0.3';
const FAST = { handshakes: { try_interval: '20ms', retries: 3 } };

interface BadPeer {
  what: string;
  /** The certificate the bad peer runs with. */
  cert(mesh: TestMesh, other: TestCa): TestHostCert;
  /** Applied to the good node after start. */
  setup?(good: TestNode, bad: TestNode): void;
  /** Text of the verification error in the good node's log. */
  error: RegExp;
}

const badPeers: BadPeer[] = [
  {
    what: 'from another CA',
    cert: (_mesh, other) => makeHostCert(other, { ip: `${X}/${VPN_PREFIX}` }),
    error: /could not find ca/,
  },
  {
    what: 'expired',
    cert: (mesh) => makeExpiredHostCert(mesh.ca, { ip: `${X}/${VPN_PREFIX}` }),
    error: /certificate is expired/,
  },
  {
    what: 'blocklisted (CaPool.setBlocklist)',
    cert: (mesh) => makeHostCert(mesh.ca, { ip: `${X}/${VPN_PREFIX}` }),
    setup: (good, bad) => good.node.caPool().setBlocklist([bad.cert.fingerprint]),
    error: /certificate has been blocked/,
  },
];

async function goodAndBad(t: { after(fn: () => unknown): void }, bad: BadPeer) {
  const clock = new ManualClock(1_000_000);
  const mesh = new TestMesh(t, { clock });
  const other = makeTestCa('another CA');
  const good = await mesh.node({ vpnIp: A, name: 'good', peers: [X], config: FAST });
  // The bad peer trusts both CAs, so it would happily talk to us: only our checks keep it out.
  const x = await mesh.node({
    vpnIp: X,
    name: 'bad',
    peers: [A],
    cert: bad.cert(mesh, other),
    trusted: [mesh.ca, other],
    config: FAST,
  });
  bad.setup?.(good, x);
  return { clock, mesh, good, x };
}

for (const bad of badPeers) {
  test(`a peer whose certificate is ${bad.what} gets no answer to its stage 1 and no tunnel`, async (t) => {
    const { clock, good, x } = await goodAndBad(t, bad);
    x.tun.inject(udpPacket({ src: X, dst: A, payload: 'let me in' }));
    await advanceUntil(clock, () => x.node.handshakes.pending.size === 0, {
      what: "the bad peer's handshake to give up",
    });

    assert.ok(good.node.counters.get('drops', 'handshake-invalid') >= 1);
    assert.ok(
      good.logs.some((l) => l.includes('Invalid handshake stage 1') && bad.error.test(l)),
      good.logs.join('\n'),
    );
    assert.equal(
      good.memUdp!.sent.filter((s) => isType(s.packet, MessageType.Handshake)).length,
      0,
      'no stage 2 was sent',
    );
    assert.equal(good.node.hostmap.size, 0);
    assert.equal(x.node.hostmap.size, 0);
    assert.equal(good.tun.written.length, 0);
  });

  test(`a handshake we start to a peer whose certificate is ${bad.what} is refused at stage 2 and gives no tunnel`, async (t) => {
    const { clock, good, x } = await goodAndBad(t, bad);
    good.tun.inject(udpPacket({ src: A, dst: X, payload: 'for the bad peer' }));
    await advanceUntil(clock, () => good.node.handshakes.pending.size === 0, { what: 'our handshake to give up' });

    assert.ok(good.node.counters.get('drops', 'handshake-invalid') >= 1);
    assert.ok(
      good.logs.some((l) => l.includes('Invalid handshake stage 2') && bad.error.test(l)),
      good.logs.join('\n'),
    );
    assert.equal(good.node.counters.get('handshakes', 'ok'), 0);
    assert.equal(good.node.hostmap.size, 0);
    assert.equal(x.tun.written.length, 0, 'our queued packet never reached the bad peer');
  });
}

test('a host answering for the VPN IP we meant to reach with another certificate IP gets no tunnel and is closed and not retried', async (t) => {
  const clock = new ManualClock(1_000_000);
  const mesh = new TestMesh(t, { clock });
  // a's static_host_map sends 10.99.0.2 to c's address; c's certificate says 10.99.0.3.
  const c = await mesh.node({ vpnIp: C, name: 'c', config: FAST });
  const a = await mesh.node({ vpnIp: A, name: 'a', staticHostMap: { [X]: [addrKey(c.addr)] }, config: FAST });
  a.tun.inject(udpPacket({ src: A, dst: X, payload: 'for 10.99.0.2' }));

  await advanceUntil(clock, () => a.node.counters.get('drops', 'handshake-wrong-host') === 1, {
    what: 'the wrong-host drop',
  });
  assert.ok(a.logs.some((l) => l.includes('Incorrect host responded to handshake') && l.includes(`haveVpnIp=${C}`)));
  await advanceUntil(clock, () => c.node.hostmap.size === 0, { what: 'c to close the tunnel it answered' });
  assert.equal(c.node.counters.get('tunnels-closed', 'peer-closed'), 1, "a's close tunnel reached c");

  await advanceUntil(clock, () => a.node.handshakes.pending.size === 0, { what: 'the handshake to give up' });
  assert.equal(a.node.hostmap.size, 0);
  const stage1ToC = a.memUdp!.sent.filter(
    (s) => sameAddr(s.to, c.addr) && isType(s.packet, MessageType.Handshake, 0, 1),
  );
  assert.equal(stage1ToC.length, 1, 'the address a wrong host answered from is not tried again');
  assert.equal(c.node.counters.get('handshakes', 'ok'), 1);
  assert.equal(c.tun.written.length, 0);
});

test('a peer with a valid certificate from the same CA gets a tunnel (control for the refusals above)', async (t) => {
  const clock = new ManualClock(1_000_000);
  const mesh = new TestMesh(t, { clock });
  const good = await mesh.node({ vpnIp: A, peers: [X], config: FAST });
  const x = await mesh.node({ vpnIp: X, peers: [A], config: FAST });
  await connect(x, good);
  await advanceFor(clock, 10);
  assert.equal(good.node.counters.get('drops', 'handshake-invalid'), 0);
});
