import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import { ANSWER_FRESH_MS } from '../../pkg/lighthouse/client.js';
import { udpAddr } from '../../pkg/udp/addr.js';
import { A_VPN_IP as A, B_VPN_IP as B, lighthousePair } from './helpers/lighthouse-pair.js';
import type { TestNode } from './helpers/mesh.js';
import { icmpEcho, isIcmpEcho } from './helpers/packets.js';
import { advanceFor, advanceUntil } from './helpers/wait.js';

// What a first contact through a lighthouse costs the lighthouse and the peer (issue 19): a asks once where b is,
// and the lighthouse tells b once to punch toward a. The first answerable packet on the new tunnel used to ask the
// lighthouse again (about b's relays, already in the answer), which made the lighthouse answer again and send b a
// second punch notification, all in the middle of the contact. A peer that started the tunnel was never looked up:
// its relays are asked about once (path-finder.ts answerableSent). The nodes run on simulated time, so a retry
// under load cannot add a message, and a late second question would show in the seconds advanced after the contact.

const LAN_B = { address: '192.168.7.2', prefixLength: 24 };

/** `bAdvertises`: addresses b reports besides the one the lighthouse sees it at. */
async function lab(t: { after(fn: () => unknown): void }, bAdvertises: string[] = []) {
  const clock = new ManualClock(1_000_000);
  const b = { underlay: udpAddr('192.168.7.2', 4242), localNetworks: [LAN_B], advertise: bAdvertises };
  return { clock, ...(await lighthousePair(t, clock, b)) };
}

/** `from` pings `to` (never contacted) and `to` answers; resolves once the reply is written to `from`'s TUN. */
async function pingAndReply(clock: ManualClock, from: TestNode, to: TestNode, seq: number): Promise<void> {
  from.tun.inject(icmpEcho(from.vpnIpText, to.vpnIpText, 8, seq));
  await advanceUntil(clock, () => to.tun.written.some((p) => isIcmpEcho(p, 8)), {
    what: `${to.vpnIpText} got the request`,
    stepMs: 1,
  });
  to.tun.inject(icmpEcho(to.vpnIpText, from.vpnIpText, 0, seq));
  await advanceUntil(clock, () => from.tun.written.some((p) => isIcmpEcho(p, 0)), {
    what: `${from.vpnIpText} got the reply`,
    stepMs: 1,
  });
}

test('a first contact through a lighthouse asks it once, and the peer gets one punch notification', async (t) => {
  const { clock, lh, a, b } = await lab(t);
  const queries0 = lh.node.counters.get('lighthouse', 'query');
  await pingAndReply(clock, a, b, 1);
  // A second answerable packet each way: the tunnel's later packets ask nothing either.
  a.tun.inject(icmpEcho(A, B, 8, 2));
  await advanceUntil(clock, () => b.tun.written.filter((p) => isIcmpEcho(p, 8)).length === 2, {
    what: 'the second request',
    stepMs: 1,
  });
  await advanceFor(clock, 3000);
  assert.equal(a.node.counters.get('lighthouse', 'query-sent'), 1, 'a asked the lighthouse about b once');
  assert.equal(lh.node.counters.get('lighthouse', 'query') - queries0, 1, 'the lighthouse answered one query');
  assert.equal(b.node.counters.get('lighthouse', 'punch-notification'), 1, 'b was told to punch once');
});

test('the peer that never looked the initiator up asks the lighthouse about its relays once', async (t) => {
  const { clock, a, b } = await lab(t);
  await pingAndReply(clock, a, b, 1);
  // b's answerable packets to a: b learned a only from its handshake, so it asks where a is (its relays) once.
  for (let seq = 1; seq <= 3; seq++) b.tun.inject(icmpEcho(B, A, 8, seq));
  await advanceUntil(clock, () => a.tun.written.filter((p) => isIcmpEcho(p, 8)).length === 3, {
    what: "b's requests at a",
    stepMs: 1,
  });
  await advanceFor(clock, 3000);
  assert.equal(b.node.counters.get('lighthouse', 'query-sent'), 1, 'b asked about a once, and not again later');
});

test("a lookup older than the answer's freshness does not stand for the peer's relays: the first contact asks once", async (t) => {
  // b reports a second address, so a's handshake has two to try and does not ask the lighthouse again itself.
  const { clock, a, b } = await lab(t, ['192.168.7.102:4242']);
  const client = a.node.lighthouseClient!;
  client.query(b.vpnIp);
  await advanceUntil(clock, () => client.addressesOf(b.vpnIp).length === 2, { what: 'the answer', stepMs: 1 });
  // No tunnel comes of it; the answer ages (its handshake failed, say, long before this contact).
  await advanceFor(clock, ANSWER_FRESH_MS);
  assert.equal(a.node.counters.get('lighthouse', 'query-sent'), 1);
  await pingAndReply(clock, a, b, 1);
  await advanceFor(clock, 3000);
  assert.equal(a.node.counters.get('lighthouse', 'query-sent'), 2, "a asked about b's relays once on the new tunnel");
});
