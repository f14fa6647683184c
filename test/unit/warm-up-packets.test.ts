import assert from 'node:assert/strict';
import { test } from 'node:test';

import { warmUpPacket } from '../../pkg/daemon/warm-up-packets.js';
import { expectsAnswer } from '../../pkg/datapath/path-health.js';

// The warm-up's throwaway contact opens with what a real first contact opens with (issue 19): a ping and a TCP
// connect, which the sender's path health watches for an answer (its first-packet work is then warm too), and a UDP
// datagram; the other side answers each in kind. That they cross both throwaway firewalls is warm-up.test.ts's.

const A = '100.127.255.1';
const B = '100.127.255.2';

test('the warm-up opens with a ping and a TCP connect, packets the peer answers, and answers them in kind', () => {
  const openers = [0, 1, 2, 3].map((i) => warmUpPacket(A, B, i, false));
  const answers = [0, 1, 2, 3].map((i) => warmUpPacket(B, A, i, true));
  assert.deepEqual(
    openers.map((p) => p[9]),
    [1, 6, 17, 1],
    'ICMP, TCP, UDP, ICMP',
  );
  assert.deepEqual(
    openers.map((p) => expectsAnswer(p)),
    [true, true, false, true],
  );
  // Echo request / reply; SYN / SYN-ACK between the same ports.
  assert.deepEqual([openers[0][20], answers[0][20]], [8, 0]);
  assert.deepEqual([openers[1][33], answers[1][33]], [0x02, 0x12]);
  const ports = (p: Uint8Array) => [(p[20] << 8) | p[21], (p[22] << 8) | p[23]];
  assert.deepEqual(ports(answers[1]), ports(openers[1]).reverse());
  assert.deepEqual(ports(answers[2]), ports(openers[2]).reverse());
  for (const p of [...openers, ...answers]) {
    assert.equal((p[2] << 8) | p[3], p.length, 'the IPv4 total length is the packet length');
    assert.equal(p[0], 0x45);
  }
  assert.deepEqual([...openers[0].subarray(12, 16)], [100, 127, 255, 1]);
  assert.deepEqual([...openers[0].subarray(16, 20)], [100, 127, 255, 2]);
});
