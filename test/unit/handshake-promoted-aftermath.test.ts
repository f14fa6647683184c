import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import { PROMOTED_AFTERMATH_MS } from '../../pkg/handshake/manager.js';
import { udpAddr } from '../../pkg/udp/addr.js';
import { A_VPN_IP as A, B_VPN_IP as B, lighthousePair } from './helpers/lighthouse-pair.js';
import { udpPacket } from './helpers/packets.js';
import { waitFor } from './helpers/wait.js';

// The initiator's first packet promotes the responder's candidate tunnel at once (it carries the answer), but the
// promotion's 'Handshake completed (responder)' line and version check follow PROMOTED_AFTERMATH_MS later on the
// node's clock, so that the packet's answer leaves before them (docs/state-machines.md, "Responder and candidate
// tunnels").

const B_ADDR = udpAddr('192.168.7.2', 4242);
const LAN = [{ address: '192.168.7.1', prefixLength: 24 }];

const completedAt = (logs: string[]): string[] =>
  logs.filter((l) => l.includes('Handshake completed (responder)') && l.includes(`vpnIp=${A}`));

async function promoted(t: { after(fn: () => unknown): void }) {
  const clock = new ManualClock(1_000_000);
  const { a, b } = await lighthousePair(t, clock, { underlay: B_ADDR, localNetworks: LAN });
  a.tun.inject(udpPacket({ src: A, dst: B, payload: 'first' }));
  await waitFor(() => b.tun.written.length > 0, {
    timeoutMs: 1000,
    what: () => `the first packet at b\n${a.logs.join('\n')}`,
  });
  return { clock, a, b };
}

test("a promoted candidate carries its packet's answer before its 'Handshake completed' line, logged 1 ms later", async (t) => {
  const { clock, a, b } = await promoted(t);
  assert.ok(b.tunnelTo(A) !== undefined, 'the candidate was promoted by the packet');
  assert.deepEqual(completedAt(b.logs), [], 'no line yet');
  b.tun.inject(udpPacket({ src: B, dst: A, payload: 'answer' }));
  await waitFor(() => a.tun.written.length > 0, { timeoutMs: 1000, what: 'the answer at a' });
  assert.equal(Buffer.from(a.tun.written[0].subarray(28)).toString(), 'answer');
  clock.advance(PROMOTED_AFTERMATH_MS - 1);
  assert.deepEqual(completedAt(b.logs), [], 'still no line');
  clock.advance(1);
  const lines = completedAt(b.logs);
  assert.equal(lines.length, 1, 'one line');
  assert.match(lines[0], /udpAddr=192\.168\.7\.1:4242/, "with the promotion's fields");
  assert.equal(b.tun.written.length, 1, 'the first packet delivered once');
});

test("a node stopped before a promotion's line is due logs nothing for it", async (t) => {
  const { clock, b } = await promoted(t);
  await b.stop();
  clock.advance(PROMOTED_AFTERMATH_MS);
  assert.deepEqual(completedAt(b.logs), []);
});
