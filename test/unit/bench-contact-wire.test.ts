import assert from 'node:assert/strict';
import { test } from 'node:test';

import { classifyPayload, parseCapture, stageTimes, timeline } from '../../bench/contact-wire.js';
import { seededRandom } from './helpers/seeded-random.js';

// bench/contact-wire.ts reads tcpdump -tt -x output into a first contact's packets and stages.

const names = new Map([
  ['198.18.0.1', 'lh'],
  ['198.18.0.2', 'a'],
  ['198.18.0.3', 'b'],
]);

/** An IPv4+UDP packet as tcpdump -x prints it (hex lines of 16 bytes), with `payload` after the UDP header. */
function hexLines(payload: number[]): string {
  const ip = [0x45, ...new Array<number>(19).fill(0), ...new Array<number>(8).fill(0), ...payload];
  const lines: string[] = [];
  for (let at = 0; at < ip.length; at += 16) {
    const row = Buffer.from(ip.slice(at, at + 16)).toString('hex');
    const words = row.match(/.{1,4}/g) ?? [];
    lines.push(`\t0x${at.toString(16).padStart(4, '0')}:  ${words.join(' ')}`);
  }
  return lines.join('\n');
}

function header(type: number, counter: number): number[] {
  const h = new Array<number>(16).fill(0);
  h[0] = 0x10 | type;
  h[15] = counter;
  return h;
}

test('a capture is read into packets named by direction and Nebula header, and stages by the gaps between them', () => {
  const eth = [
    // A lighthouse message before the contact (an update's ack): the answer is the one after the query.
    `1000.000100 IP 198.18.0.1.4242 > 198.18.0.2.4242: UDP, length 60`,
    hexLines([...header(3, 6), 1, 2, 3]),
    `1000.000300 IP 198.18.0.2.4242 > 198.18.0.1.4242: UDP, length 60`,
    hexLines([...header(3, 9), 1, 2, 3]),
    `1000.000800 IP 198.18.0.1.4242 > 198.18.0.2.4242: UDP, length 60`,
    hexLines([...header(3, 7), 1, 2, 3]),
    `1000.000900 IP 198.18.0.3.4242 > 198.18.0.2.4242: UDP, length 1`,
    hexLines([0]),
    `1000.001000 IP 198.18.0.2.4242 > 198.18.0.3.4242: UDP, length 300`,
    hexLines([...header(0, 1), ...new Array<number>(40).fill(1)]),
    `1000.002500 IP 198.18.0.3.4242 > 198.18.0.2.4242: UDP, length 300`,
    hexLines([...header(0, 2), ...new Array<number>(40).fill(2)]),
    `1000.003000 IP 198.18.0.2.4242 > 198.18.0.3.4242: UDP, length 100`,
    hexLines([...header(1, 2), 5, 5]),
  ].join('\n');
  const tun = `1000.000000 IP 10.99.0.2 > 10.99.0.3: ICMP echo request, id 1, seq 1, length 64\n\t0x0000:  4500 0054`;
  const packets = [...parseCapture(eth, 'a.eth', names), ...parseCapture(tun, 'a.tun', names)].sort(
    (x, y) => x.at - y.at,
  );
  assert.deepEqual(
    packets.map((p) => p.what),
    [
      'echo',
      'lh>a lighthouse',
      'a>lh lighthouse',
      'lh>a lighthouse',
      'b>a punch',
      'a>b stage1',
      'b>a stage2',
      'a>b data',
    ],
  );
  const stages = stageTimes(packets);
  const near = (name: string, ms: number) => assert.ok(Math.abs(stages.get(name)! - ms) < 1e-6, `${name}`);
  near('a: TUN read -> query out', 0.3);
  near('lh: query -> answer at a', 0.5);
  near('a: answer in -> stage 1 out', 0.2);
  near('a: stage 2 in -> data out', 0.5);
  assert.ok(Number.isNaN(stages.get('b: stage 1 in -> stage 2 out')!), 'a packet not seen: no figure');
  assert.match(
    timeline(packets),
    /^0\.000 a\.tun echo \| 0\.100 a\.eth lh>a lighthouse \| 0\.300 a\.eth a>lh lighthouse/,
  );
});

test('classifyPayload and parseCapture take any bytes and text without throwing (seeded)', () => {
  const random = seededRandom(19);
  for (let i = 0; i < 2000; i++) {
    const len = Math.floor(random() * 40);
    const bytes = Uint8Array.from({ length: len }, () => Math.floor(random() * 256));
    assert.equal(typeof classifyPayload(bytes), 'string');
    const text = Buffer.from(bytes).toString('latin1');
    parseCapture(
      `${1000 + i}.5 IP 1.2.3.4.5 > 6.7.8.9.10: UDP, x\n\t0x0000:  ${Buffer.from(bytes).toString('hex')}\n${text}`,
      'x',
      names,
    );
  }
});
