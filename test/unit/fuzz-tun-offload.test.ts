// Fuzzing the TUN offload entry points (pkg/native/offload.c through the probe exports): what the kernel's
// vnet header and packet say on a read, and whatever the data path hands to a write batch, are not trusted.
// Inputs: mutations of valid IPv4/IPv6 TCP super-packets and segment runs, random vnet headers, random bytes.
// Properties: never a crash or an exception other than the probes' own RangeError; nothing written outside the
// buffers given (guard bytes around them stay intact); every cut segment a valid packet; every write either a
// packet of the batch unchanged or a join of the next ones whose payloads and checksum add up, in order.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mutate, randomBytes, runFuzz, type Rand } from './helpers/fuzz.js';
import {
  ACK,
  checksum,
  GSO_NONE,
  GSO_TCPV4,
  GSO_TCPV6,
  l4ChecksumOk,
  NEEDS_CSUM,
  patterned,
  PSH,
  tcpPacket,
  vnetHeader,
} from './helpers/offload-packets.js';
import { fuzzCut, probeJoin, skipWithoutAddon as skip } from './helpers/offload-probe.js';

const SUPER_PACKETS: Uint8Array[] = [
  tcpPacket({ family: 6, seq: 1, flags: ACK | PSH, payload: patterned(5000) }),
  tcpPacket({ family: 6, seq: 9, payload: patterned(1300), options: new Uint8Array(0) }),
  tcpPacket({ family: 6, seq: 9, payload: patterned(3000), hopByHop: true }),
  tcpPacket({ family: 4, seq: 5, payload: patterned(4000) }),
  tcpPacket({ family: 6, seq: 2, payload: patterned(20_000, 9) }),
];

const SEGMENTS: Uint8Array[] = [6, 4].flatMap((family) =>
  Array.from({ length: 4 }, (_, i) =>
    tcpPacket({ family: family as 4 | 6, seq: 100 + i * 900, payload: patterned(900, i) }),
  ),
);

function randomVnetHeader(r: Rand): Uint8Array {
  if (r.chance(0.1)) return r.bytes(10 + r.int(4));
  return vnetHeader({
    flags: r.chance(0.7) ? NEEDS_CSUM : r.byte(),
    gsoType: r.pick([GSO_NONE, GSO_TCPV4, GSO_TCPV6, GSO_TCPV6 | 0x80, 3, 5, r.byte()]),
    hdrLen: r.pick([0, 54, 72, r.int(65536)]),
    gsoSize: r.pick([0, 1, 2, 7, 536, 1208, 1300, 65535, r.int(65536)]),
    csumStart: r.pick([0, 20, 40, 60, 1500, 65535, r.int(65536)]),
    csumOffset: r.pick([0, 6, 16, 65535, r.int(65536)]),
  });
}

test('fuzz: cutting reads never writes outside its slots and yields only whole, valid segments', { skip }, () => {
  const stats = runFuzz('tun-tso-cut', { iterations: 4000, minIterations: 400, ms: 2000, seed: 0x7501 }, (r) => {
    const hdr = randomVnetHeader(r);
    const { packets, slotSize, ctx } = fuzzCut(r, hdr, SUPER_PACKETS, 15);
    const gso = hdr[1] & 0x7f;
    for (const [i, seg] of packets.entries()) {
      assert.ok(seg.length > 0 && seg.length <= slotSize, `segment ${i} length ${seg.length}: ${ctx}`);
      if (gso !== GSO_TCPV4 && gso !== GSO_TCPV6) continue;
      assert.equal(seg[0] >> 4, gso === GSO_TCPV6 ? 6 : 4, ctx);
      const lengthField = gso === GSO_TCPV6 ? ((seg[4] << 8) | seg[5]) + 40 : (seg[2] << 8) | seg[3];
      assert.equal(lengthField, seg.length, `segment ${i} length field: ${ctx}`);
      assert.ok(l4ChecksumOk(seg), `segment ${i} checksum: ${ctx}`);
    }
  });
  assert.ok(stats.iterations > 0);
});

test(
  'fuzz: joining writes never writes outside its buffer, and every write is one packet unchanged or a sound join',
  { skip },
  () => {
    const stats = runFuzz('tun-gro-join', { iterations: 3000, minIterations: 300, ms: 2000, seed: 0x9e0 }, (r) => {
      const count = 1 + r.int(12);
      const start = r.int(SEGMENTS.length);
      const valid = r.chance(0.5); // valid segments of random shape, or mutations (mostly broken ones)
      let seq = 100;
      const packets = Array.from({ length: count }, (_, i) => {
        if (valid) {
          const size = r.chance(0.7) ? 900 : r.int(1000);
          const p = tcpPacket({
            family: r.chance(0.9) ? 6 : 4,
            seq: r.chance(0.9) ? seq : seq + 1,
            flags: r.pick([ACK, ACK, ACK, ACK | PSH, ACK | 1, 2]),
            flowLabel: r.chance(0.9) ? undefined : 7,
            hopByHop: r.chance(0.05),
            payload: patterned(size, i),
          });
          seq += size;
          return p;
        }
        const roll = r.int(100);
        const inOrder = SEGMENTS[(start + i) % SEGMENTS.length];
        return roll < 60 ? inOrder : roll < 92 ? mutate(r, inOrder, SEGMENTS, 3, 2048) : randomBytes(r, 200);
      });
      const { writes, intact } = probeJoin(packets);
      assert.ok(intact, 'wrote outside the output buffer');
      let next = 0;
      for (const [k, { hdr, packet }] of writes.entries()) {
        if (hdr.gsoType === GSO_NONE) {
          assert.deepEqual(packet, packets[next++], `write ${k} is not packet ${next - 1} unchanged`);
          continue;
        }
        assert.ok(hdr.gsoType === GSO_TCPV4 || hdr.gsoType === GSO_TCPV6);
        const payload = packet.subarray(hdr.hdrLen);
        const parts = Math.ceil(payload.length / hdr.gsoSize);
        assert.ok(parts >= 2 && next + parts <= count, `write ${k} joins ${parts}`);
        const inputs = packets.slice(next, next + parts);
        inputs.forEach((p, j) => {
          const size = p.length - hdr.hdrLen;
          assert.ok(l4ChecksumOk(p), `write ${k}: hides segment ${j}, whose checksum is wrong`);
          assert.ok(
            j === parts - 1 ? size <= hdr.gsoSize : size === hdr.gsoSize,
            `write ${k}: segment ${j} of ${size} bytes`,
          );
          assert.ok(j === parts - 1 || (p[hdr.csumStart + 13] & PSH) === 0, `write ${k}: joined past a PSH`);
        });
        const joined = inputs.flatMap((p) => [...p.subarray(hdr.hdrLen)]);
        assert.deepEqual(payload, Uint8Array.from(joined), `write ${k}: payloads out of order or altered`);
        const full = packet.slice();
        const c = checksum(full, hdr.csumStart, full.length);
        full[hdr.csumStart + hdr.csumOffset] = c >> 8;
        full[hdr.csumStart + hdr.csumOffset + 1] = c & 0xff;
        assert.ok(l4ChecksumOk(full), `write ${k}: the partial checksum does not complete`);
        next += parts;
      }
      assert.equal(next, count, 'every packet written exactly once');
    });
    assert.ok(stats.iterations > 0);
  },
);
