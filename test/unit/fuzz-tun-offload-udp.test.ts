// Fuzzing the TUN's UDP offloads (pkg/native/offload_udp.c through the probe exports), as fuzz-tun-offload does
// for TCP: the kernel's vnet header and UDP super-packet on a read, and whatever the data path hands to a write
// batch, are not trusted. Properties: never a crash or an exception; nothing written outside the buffers given;
// every cut datagram a valid packet; every write either a packet of the batch unchanged or a join that the
// kernel's segmentation turns back into exactly the packets it joined.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hex, mutate, randomBytes, runFuzz, type Rand } from './helpers/fuzz.js';
import {
  GSO_NONE,
  GSO_TCPV4,
  GSO_TCPV6,
  GSO_UDP_L4,
  kernelSegments,
  l4ChecksumOk,
  NEEDS_CSUM,
  patterned,
  tcpPacket,
  udpPacket,
  vnetHeader,
} from './helpers/offload-packets.js';
import { fuzzCut, probeJoin, skipWithoutAddon as skip } from './helpers/offload-probe.js';

const SUPER_PACKETS: Uint8Array[] = [
  udpPacket({ family: 6, payload: patterned(5000) }),
  udpPacket({ family: 4, payload: patterned(4000), id: 9 }),
  udpPacket({ family: 6, payload: patterned(3000), hopByHop: true }),
  udpPacket({ family: 4, payload: patterned(20_000, 3), noChecksum: true }),
  tcpPacket({ family: 4, seq: 5, payload: patterned(4000) }),
];

test('fuzz: cutting UDP reads never writes outside its slots and yields only whole, valid datagrams', { skip }, () => {
  const stats = runFuzz('tun-uso-cut', { iterations: 4000, minIterations: 400, ms: 2000, seed: 0x0d17 }, (r) => {
    const hdr = vnetHeader({
      flags: r.chance(0.8) ? NEEDS_CSUM : r.byte(),
      gsoType: r.chance(0.8) ? GSO_UDP_L4 : r.pick([GSO_NONE, GSO_TCPV4, GSO_TCPV6, r.byte()]),
      hdrLen: r.pick([28, 48, r.int(65536)]),
      gsoSize: r.pick([0, 1, 7, 1000, 1272, 1452, 65535, r.int(65536)]),
      csumStart: r.pick([20, 40, r.int(65536)]),
      csumOffset: r.pick([6, 16, r.int(65536)]),
    });
    const { packets, slotSize, ctx } = fuzzCut(r, hdr, SUPER_PACKETS, 20);
    packets.forEach((seg, i) => {
      assert.ok(seg.length > 0 && seg.length <= slotSize, `datagram ${i} length ${seg.length}: ${ctx}`);
      if ((hdr[1] & 0x7f) !== GSO_UDP_L4) return;
      const v6 = seg[0] >> 4 === 6;
      const iphl = v6 ? 40 : (seg[0] & 0x0f) * 4;
      assert.equal(v6 ? seg[6] : seg[9], 17, ctx);
      assert.equal(v6 ? ((seg[4] << 8) | seg[5]) + 40 : (seg[2] << 8) | seg[3], seg.length, `length field: ${ctx}`);
      assert.equal((seg[iphl + 4] << 8) | seg[iphl + 5], seg.length - iphl, `UDP length: ${ctx}`);
      if (!v6 || iphl === 40) assert.ok(l4ChecksumOk(seg), `datagram ${i} checksum: ${ctx}`);
    });
  });
  assert.ok(stats.iterations > 0);
});

/** A batch: runs of one UDP flow (ids in order or not, sizes equal or not), TCP, mutations, random bytes. */
function randomBatch(r: Rand): Uint8Array[] {
  const count = 1 + r.int(24);
  const family = r.chance(0.5) ? 4 : 6;
  const size = r.pick([1, 36, 600, 1272, 1400, r.int(1500)]);
  const packets: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const roll = r.int(100);
    const datagram = udpPacket({
      family: r.chance(0.95) ? family : family === 4 ? 6 : 4,
      id: r.chance(0.9) ? 100 + i : r.int(65536),
      sport: r.chance(0.95) ? 40000 : 40001,
      payload: patterned(r.chance(0.8) ? size : r.int(1500), i),
      noChecksum: r.chance(0.03),
      fragment: r.chance(0.03) ? 0x2000 : undefined,
      hopByHop: r.chance(0.03),
    });
    if (roll < 75) packets.push(datagram);
    else if (roll < 85) packets.push(mutate(r, datagram, [datagram], 3, 2048));
    else if (roll < 95) packets.push(tcpPacket({ family, seq: 1 + i * 600, payload: patterned(600, i) }));
    else packets.push(randomBytes(r, 200));
  }
  return packets;
}

test(
  'fuzz: joining UDP writes never writes outside its buffer, and every write is one packet unchanged or a join that segments back into its packets',
  { skip },
  () => {
    const stats = runFuzz('tun-uso-join', { iterations: 3000, minIterations: 300, ms: 2000, seed: 0x5e9 }, (r) => {
      const packets = randomBatch(r);
      const count = packets.length;
      const { writes, intact } = probeJoin(packets, { uso: true });
      assert.ok(intact, 'wrote outside the output buffer');
      let next = 0;
      writes.forEach(({ hdr, packet }, k) => {
        if (hdr.gsoType === GSO_NONE) {
          assert.deepEqual(packet, packets[next++], `write ${k} is not packet ${next - 1} unchanged`);
          return;
        }
        // The kernel's side, from its rules (the helpers' oracle, not our reader's cut).
        const back = kernelSegments(hdr, packet);
        assert.ok(back.length >= 2 && next + back.length <= count, `write ${k} joins ${back.length}`);
        if (hdr.gsoType === GSO_UDP_L4) {
          assert.deepEqual(back, packets.slice(next, next + back.length), `write ${k} does not segment back`);
        } else {
          // TCP joins do not ask for IPv4 ids counting up, so only the payloads are the same.
          assert.ok(hdr.gsoType === GSO_TCPV4 || hdr.gsoType === GSO_TCPV6, `write ${k} gso type ${hdr.gsoType}`);
          const payloads = (ps: Uint8Array[]) => ps.map((p) => hex(p.subarray(hdr.hdrLen), 4096));
          assert.deepEqual(payloads(back), payloads(packets.slice(next, next + back.length)), `write ${k}`);
        }
        next += back.length;
      });
      assert.equal(next, count, 'every packet written exactly once');
    });
    assert.ok(stats.iterations > 0);
  },
);
