import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import { parseIpv4 } from '../../pkg/ip/ipv4.js';
import { decodeControl, encodeControl, ControlType, type ControlMessage } from '../../pkg/relay/control.js';
import { relayEnv as setup, relayRequest as request, relayResponse as response } from './helpers/relay-env.js';

// The relay's index toward the target across a requester's re-handshake, and the layout (v1 / v2) of relay messages
// (docs/wire-format.md). From Nebula 1.7 a relay target holding an established relay for a pair refuses a
// CreateRelayRequest for that pair under another index (relay_manager.go, "Existing relay mismatch"), so a relay that
// allocates a new index toward it when the requester asks again leaves the pair stuck.

const A = parseIpv4('10.99.0.10');
const R = parseIpv4('10.99.0.1');
const B = parseIpv4('10.99.0.20');

/** A Nebula 1.7+ target: answers the first index it is asked under, and after that only that index. */
function nebula17Target(responderIndex: number) {
  let established: number | undefined;
  return (m: ControlMessage): ControlMessage | undefined => {
    established ??= m.initiatorRelayIndex;
    if (m.initiatorRelayIndex !== established) return undefined;
    return {
      ...response(responderIndex, m.initiatorRelayIndex, m.relayFromIp, m.relayToIp),
      ...(m.version ? { version: m.version } : {}),
    };
  };
}

test('a requester that asks again under a new index (it re-handshook) gets a relay: the index toward the target is kept', () => {
  const r = setup(R, { amRelay: true, tunnels: [A, B] });
  const target = nebula17Target(222);
  /** The target answers R's last forwarded request (or not); returns what R then sent the requester. */
  const relayTo = (): ControlMessage[] => {
    const forwarded = r.sent.filter((s) => s.to === B && s.m.type === ControlType.CreateRelayRequest).at(-1);
    if (!forwarded) return [];
    r.sent.length = 0;
    const answer = target(forwarded.m);
    if (!answer) return [];
    r.manager.onControl(r.tunnel(B), answer);
    return r.sent.filter((s) => s.to === A).map((s) => s.m);
  };

  r.manager.onControl(r.tunnel(A), request(111, A, B));
  const first = r.sent[0].m.initiatorRelayIndex;
  const toA1 = relayTo();
  assert.equal(toA1.length, 1);
  assert.equal(toA1[0].initiatorRelayIndex, 111);

  // A re-handshook with R and lost its relay state: it asks again for B under a new index.
  r.sent.length = 0;
  r.manager.onControl(r.tunnel(A), request(112, A, B));
  const forwarded = r.sent.find((s) => s.to === B);
  assert.ok(forwarded, 'the request goes on to the target');
  assert.equal(forwarded.m.initiatorRelayIndex, first, 'the same index toward the target as before');
  const toA2 = relayTo();
  assert.equal(toA2.length, 1, 'the requester gets its response (a 1.7+ target refused a new index: none)');
  assert.equal(toA2[0].type, ControlType.CreateRelayResponse);
  assert.equal(toA2[0].initiatorRelayIndex, 112, "the requester's new index");
  const ra = toA2[0].responderRelayIndex;
  assert.deepEqual(
    { ...r.manager.table.byIndex.get(ra) },
    { remoteIndex: 112, state: 'established', terminal: false, hopIp: A, peerIp: B, localIndex: ra },
  );
  assert.deepEqual(
    { ...r.manager.table.byIndex.get(first) },
    { remoteIndex: 222, state: 'established', terminal: false, hopIp: B, peerIp: A, localIndex: first },
  );
  assert.equal(r.manager.table.size, 2, 'the old leg toward the requester is gone, nothing else is added');
});

test('a v2 request is forwarded and answered in v2; a v1 request in v1', () => {
  for (const version of [1, 2] as const) {
    const r = setup(R, { amRelay: true, tunnels: [A, B] });
    // As it comes off the wire: the layout decides the version.
    const asked = decodeControl(encodeControl(request(111, A, B), version));
    r.manager.onControl(r.tunnel(A), asked);
    const forwarded = r.sent[0].m;
    assert.equal(forwarded.version, version === 2 ? 2 : undefined, `forwarded, v${version}`);
    r.manager.onControl(
      r.tunnel(B),
      decodeControl(encodeControl(response(222, forwarded.initiatorRelayIndex, A, B), version)),
    );
    assert.equal(r.sent[1].to, A);
    assert.equal(r.sent[1].m.version, version === 2 ? 2 : undefined, `answered, v${version}`);

    // As the target, too.
    const b = setup(B, { tunnels: [R], relaysForUs: [R] });
    b.manager.onControl(b.tunnel(R), decodeControl(encodeControl(request(333, A, B), version)));
    assert.equal(b.sent[0].m.version, version === 2 ? 2 : undefined, `target answer, v${version}`);
  }
});

test('a request we start goes in the layout of the hop tunnel', () => {
  for (const certVersion of [1, 2] as const) {
    const a = setup(A, { tunnels: [R] });
    (a.tunnel(R) as { certVersion: number } & HostInfo).certVersion = certVersion;
    assert.equal(a.manager.prepare(B, [R]), 'requested');
    assert.equal(a.sent[0].m.type, ControlType.CreateRelayRequest);
    assert.equal(a.sent[0].m.version, certVersion === 2 ? 2 : undefined);
  }
});
