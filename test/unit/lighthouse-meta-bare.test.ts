// encodeMeta's path for messages without addresses or relays (lighthouse/meta.ts encodeBareMeta: every ack a
// lighthouse sends, and queries) writes exactly what the general field-by-field encoder writes.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeMeta,
  encodeMeta,
  encodeMetaFields,
  MetaType,
  type MetaMessage,
  type MetaVersion,
} from '../../pkg/lighthouse/meta.js';
import { seededRandom } from './helpers/seeded-random.js';

test('bare messages (acks, queries) encode to the general encoder bytes, in both layouts', () => {
  const random = seededRandom(19);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const numbers = [0, 1, 127, 128, 16_383, 16_384, 0x0a630001, 0xffffffff];
  let bare = 0;
  for (let i = 0; i < 5000; i++) {
    const v: MetaVersion = random() < 0.5 ? 1 : 2;
    const m: MetaMessage = {
      type: pick([
        0,
        MetaType.HostQuery,
        MetaType.HostUpdateNotificationAck,
        MetaType.HostQueryReply,
        9,
        200,
      ]) as MetaType,
      vpnIp: v === 2 && random() < 0.7 ? 0 : pick(numbers),
      addrs: [],
      relays: [],
    };
    const counter = random();
    if (counter < 0.3) m.seen = pick(numbers);
    else if (counter < 0.5) m.probePort = pick(numbers);
    const want = encodeMetaFields(m, v);
    // The bytes (the bare path writes into a pooled Buffer, the general one a Uint8Array of its own).
    assert.deepEqual(new Uint8Array(encodeMeta(m, v)), want, JSON.stringify({ m, v }));
    if (v === 1 || m.vpnIp === 0) bare++;
    // And what it wrote reads back (the layout included: a v2 message without a VpnAddr reads as v1, as Nebula's).
    assert.equal(decodeMeta(encodeMeta(m, v)).type, m.type);
  }
  assert.ok(bare > 3000, `${bare} of 5000 took the bare path`);
});

test('an ack as the lighthouse sends it: v1 names the host, v2 is blank', () => {
  const ack = (vpnIp: number, version?: 2): MetaMessage => ({
    type: MetaType.HostUpdateNotificationAck,
    vpnIp,
    addrs: [],
    relays: [],
    ...(version ? { version } : {}),
  });
  // type 10 (field 1), details (field 2) holding field 1 = 10.99.0.1
  assert.deepEqual([...encodeMeta(ack(0x0a630001))], [0x08, 10, 0x12, 5, 0x08, 0x81, 0x80, 0x8c, 0x53]);
  assert.deepEqual([...encodeMeta(ack(0, 2))], [0x08, 10, 0x12, 0]);
  assert.throws(() => encodeMeta({ ...ack(0), seen: -1 }), /cannot encode -1/);
});
