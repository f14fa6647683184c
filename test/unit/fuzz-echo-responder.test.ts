// Fuzzing the tun.disabled echo responder (pkg/datapath/echo-responder.ts): packets from a peer reach it after the
// firewall, so their contents are the peer's choice. Inputs: mutations of valid ICMP and ICMPv6 echo requests and
// random bytes. Properties: never a throw; a reply only to an intact request, never larger than it (we send no
// more than we were sent, docs/security-model.md), of the right family and type, its addresses the request's
// swapped, its checksum valid; never a reply from a multicast address.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { icmpEchoReply } from '../../pkg/datapath/echo-responder.js';
import { hex, mutate, randomBytes, runFuzz } from './helpers/fuzz.js';
import { checksum } from './helpers/offload-packets.js';
import { icmpEcho } from './helpers/packets.js';

function echo6Request(dataLength: number): Uint8Array {
  const len = 8 + dataLength;
  const p = new Uint8Array(40 + len);
  p.set([0x60, 0, 0, 0, len >> 8, len & 0xff, 58, 64]);
  p.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], 8);
  p.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 24);
  p.set([128, 0, 0, 0, 0, 7, 0, 1], 40);
  for (let i = 0; i < dataLength; i++) p[48 + i] = i & 0xff;
  const c = checksum(p, 40, p.length, icmp6Pseudo(p, len));
  p[42] = c >> 8;
  p[43] = c & 0xff;
  return p;
}

function icmp6Pseudo(p: Uint8Array, len: number): number {
  let s = len + 58;
  for (let i = 8; i < 40; i += 2) s += (p[i] << 8) | p[i + 1];
  return s;
}

const SAMPLES = [icmpEcho('10.99.0.2', '10.99.0.1', 8, 3), echo6Request(0), echo6Request(56), echo6Request(1200)].map(
  (b) => new Uint8Array(b),
);

test('fuzz: the echo responder answers only intact requests, never with more bytes, always with a valid reply', () => {
  let replies = 0;
  const stats = runFuzz('echo-responder', { iterations: 30_000, minIterations: 1000, ms: 1500, seed: 0xec40 }, (r) => {
    const roll = r.int(100);
    const input =
      roll < 10 ? r.pick(SAMPLES) : roll < 90 ? mutate(r, r.pick(SAMPLES), SAMPLES, 3, 1600) : randomBytes(r, 200);
    const reply = icmpEchoReply(input);
    if (reply === null) return;
    replies++;
    const ctx = hex(input, 64);
    assert.ok(reply.length <= input.length, `reply larger than the request: ${ctx}`);
    assert.equal(reply[0] >> 4, input[0] >> 4, ctx);
    if (reply[0] >> 4 === 6) {
      const len = (reply[4] << 8) | reply[5];
      assert.equal(reply.length, 40 + len, ctx);
      assert.equal(reply[6], 58, ctx);
      assert.equal(reply[40], 129, ctx);
      assert.deepEqual(reply.subarray(8, 24), input.subarray(24, 40), ctx);
      assert.deepEqual(reply.subarray(24, 40), input.subarray(8, 24), ctx);
      assert.notEqual(reply[8], 0xff, `a reply from a multicast address: ${ctx}`);
      assert.equal(checksum(reply, 40, reply.length, icmp6Pseudo(reply, len)), 0, `reply checksum: ${ctx}`);
      assert.equal(checksum(input, 40, 40 + len, icmp6Pseudo(input, len)), 0, `answered a corrupt request: ${ctx}`);
    } else {
      const ihl = (reply[0] & 0x0f) * 4;
      assert.equal(reply[9], 1, ctx);
      assert.equal(reply[ihl], 0, ctx);
      assert.deepEqual(reply.subarray(12, 16), input.subarray(16, 20), ctx);
      assert.equal(checksum(reply, 0, ihl), 0, `reply header checksum: ${ctx}`);
      assert.equal(checksum(reply, ihl, reply.length), 0, `reply ICMP checksum: ${ctx}`);
    }
  });
  assert.ok(stats.iterations > 0);
  assert.ok(replies > 0, 'some inputs were answered, so the properties were checked');
});
