// The TUN's UDP offloads (pkg/native/offload_udp.c) through the addon's probe exports: datagrams of one UDP flow in
// a write batch are joined into one UDP_L4 super-packet only where segmentation gives back the very same datagrams,
// and a UDP_L4 super-packet the kernel hands us is cut into its datagrams. Checksums are the tests' own (helpers).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  GSO_NONE,
  GSO_UDP_L4,
  ipv4HeaderChecksumOk,
  kernelSegments,
  l4ChecksumOk,
  NEEDS_CSUM,
  patterned,
  tcpPacket,
  udpPacket,
  vnetHeader,
  type UdpSpec,
} from './helpers/offload-packets.js';
import {
  completeChecksum,
  probeCut,
  probeJoin,
  skipWithoutAddon as skip,
  type JoinOptions,
  type ProbeWrite as Write,
} from './helpers/offload-probe.js';

const SLOT = 1344;

/** The writes a batch of `packets` becomes on a device with the UDP offloads (or without, `uso` false). */
function join(packets: Uint8Array[], uso = true, refuse?: JoinOptions['refuse']): Write[] {
  return probeJoin(packets, { uso, refuse }).writes;
}

/** What one read of `hdr` + `pkt` delivers (the reader's cut). */
function cut(hdr: Uint8Array, pkt: Uint8Array, slots = 80): Uint8Array[] {
  return probeCut(hdr, pkt, SLOT, slots).packets;
}

/** A flow's datagrams: `count` of `size` payload bytes (the last `lastSize`), IPv4 ids counting up from 100. */
function flow(family: 4 | 6, count: number, size: number, lastSize = size, extra: Partial<UdpSpec> = {}): Uint8Array[] {
  return Array.from({ length: count }, (_, i) =>
    udpPacket({ family, id: 100 + i, payload: patterned(i === count - 1 ? lastSize : size, i), ...extra }),
  );
}

/** A joined write back into datagrams, as the kernel segments it for a socket without UDP_GRO (an oracle of the
 * test helpers', not our reader's cut). */
function segmentBack(w: Write): Uint8Array[] {
  return kernelSegments(w.hdr, w.packet);
}

/** How many datagrams each write carries (1 for a plain one). */
function shape(writes: Write[]): number[] {
  return writes.map((w) =>
    w.hdr.gsoType === GSO_NONE ? 1 : Math.ceil((w.packet.length - w.hdr.hdrLen) / w.hdr.gsoSize),
  );
}

for (const family of [4, 6] as const) {
  test(
    `IPv${family}: a flow's equal datagrams and a shorter last one are one UDP_L4 write that segments back into the same datagrams`,
    {
      skip,
    },
    () => {
      const packets = flow(family, 5, 1000, 300);
      const writes = join(packets);
      assert.equal(writes.length, 1);
      const [w] = writes;
      const iphl = family === 6 ? 40 : 20;
      assert.deepEqual(
        { ...w.hdr },
        { flags: NEEDS_CSUM, gsoType: GSO_UDP_L4, hdrLen: iphl + 8, gsoSize: 1000, csumStart: iphl, csumOffset: 6 },
      );
      assert.equal(w.packet.length, iphl + 8 + 4 * 1000 + 300);
      assert.equal((w.packet[iphl + 4] << 8) | w.packet[iphl + 5], 8 + 4300, 'the UDP length is the whole payload');
      assert.ok(l4ChecksumOk(completeChecksum(w.hdr, w.packet)), 'the partial checksum completes to a valid one');
      if (family === 4) assert.ok(ipv4HeaderChecksumOk(w.packet));
      assert.deepEqual(segmentBack(w), packets, 'segmentation gives back every datagram byte for byte');
    },
  );
}

test('without the UDP offloads (an older kernel) every datagram is written alone', { skip }, () => {
  const packets = flow(4, 4, 500);
  assert.deepEqual(shape(join(packets, false)), [1, 1, 1, 1]);
  assert.deepEqual(shape(join(packets)), [4]);
});

const NOT_JOINED: [string, (i: number) => Partial<UdpSpec>][] = [
  ['another source port', (i) => ({ sport: 40000 + i })],
  ['another destination port', (i) => ({ dport: 5201 + i })],
  ['another source address', (i) => ({ srcLast: 1 + i })],
  ['another TTL / hop limit', (i) => ({ hopLimit: 64 - i })],
  ['another TOS / flow label', (i) => ({ flowLabel: 0x10 + i })],
  ['IPv4 fragments (MF)', () => ({ fragment: 0x2000 })],
  // The reserved flag bit in the middle one (DF + reserved): joined, it would come back with the first one's flags.
  ['IPv4 the reserved flag bit', (i) => ({ fragment: i === 1 ? 0xc000 : 0x4000 })],
];

for (const family of [4, 6] as const) {
  for (const [name, spec] of NOT_JOINED) {
    if (family === 6 && name.startsWith('IPv4')) continue;
    test(`IPv${family}: datagrams with ${name} are not joined`, { skip }, () => {
      const packets = [0, 1, 2].map((i) => udpPacket({ family, id: 100 + i, payload: patterned(600, i), ...spec(i) }));
      const writes = join(packets);
      assert.deepEqual(shape(writes), [1, 1, 1]);
      writes.forEach((w, i) => assert.deepEqual(w.packet, packets[i], `write ${i} is its datagram unchanged`));
    });
  }
}

/** IPv4 datagram i without a checksum (zero) whose bytes would pass a checksum check all the same. */
function uncheckedDatagram(i: number): Uint8Array {
  const payload = patterned(600, i);
  payload.set([0, 0], 598);
  const withSum = udpPacket({ family: 4, id: 100 + i, payload });
  // The sum's complement in the last word makes the whole sum 0xffff, which also verifies with the field zero.
  payload.set(withSum.subarray(26, 28), 598);
  return udpPacket({ family: 4, id: 100 + i, payload, noChecksum: true });
}

test('IPv4 datagrams without a checksum are not joined (segmentation would fill one in)', { skip }, () => {
  const packets = [0, 1, 2].map(uncheckedDatagram);
  assert.ok(packets.every((p) => p[26] === 0 && p[27] === 0 && l4ChecksumOk(p)));
  assert.deepEqual(shape(join(packets)), [1, 1, 1]);
});

test('IPv6 datagrams behind a hop-by-hop header are not joined', { skip }, () => {
  const packets = flow(6, 3, 600, 600, { hopByHop: true });
  assert.deepEqual(shape(join(packets)), [1, 1, 1]);
});

test('IPv4 ids must count up by one, as segmentation numbers them', { skip }, () => {
  const packets = [100, 101, 103, 104].map((id, i) => udpPacket({ family: 4, id, payload: patterned(600, i) }));
  assert.deepEqual(shape(join(packets)), [2, 2]);
});

test('a datagram whose checksum is wrong is not hidden inside a join', { skip }, () => {
  const packets = flow(4, 3, 600);
  packets[1][packets[1].length - 1] ^= 1;
  assert.deepEqual(shape(join(packets)), [1, 1, 1]);
});

test('a longer datagram after a shorter one starts a new write; so does a different size', { skip }, () => {
  const sizes = [600, 600, 200, 600, 600, 600, 700];
  const packets = sizes.map((size, i) => udpPacket({ family: 4, id: 100 + i, payload: patterned(size, i) }));
  assert.deepEqual(shape(join(packets)), [3, 3, 1]);
});

test('a TCP segment or another family between datagrams of a flow ends the join', { skip }, () => {
  const udp = flow(4, 4, 500);
  const tcp = tcpPacket({ family: 4, seq: 1, payload: patterned(500) });
  const v6 = udpPacket({ family: 6, payload: patterned(500) });
  assert.deepEqual(shape(join([udp[0], udp[1], tcp, udp[2], udp[3]])), [2, 1, 2]);
  assert.deepEqual(shape(join([udp[0], udp[1], v6, udp[2], udp[3]])), [2, 1, 2]);
});

test('at most 64 datagrams per write, and no write past the 16-bit IP length', { skip }, () => {
  assert.deepEqual(shape(join(flow(6, 100, 100))), [64, 36]);
  // 1400-byte datagrams: the 47th would take the IPv4 total length past 65535.
  assert.deepEqual(shape(join(flow(4, 50, 1400))), [46, 4]);
});

test(
  'a joined write the kernel refuses loses no datagram: they go one by one, and UDP joins stop (TCP ones do not)',
  {
    skip,
  },
  () => {
    const first = flow(4, 5, 500);
    const tcp = [0, 1, 2].map((i) => tcpPacket({ family: 4, seq: 1000 + i * 500, payload: patterned(500, i) }));
    const later = flow(4, 4, 600, 600, { sport: 40001 });
    const packets = [...first, ...tcp, ...later];
    const refusals = new Uint32Array(1);
    const writes = join(packets, true, { gsoType: GSO_UDP_L4, refusals });
    assert.deepEqual(shape(writes), [1, 1, 1, 1, 1, 3, 1, 1, 1, 1]);
    assert.equal(refusals[0], 1, 'one refused write: the later flow was not offered joined');
    const alone = writes.filter((w) => w.hdr.gsoType === GSO_NONE).map((w) => w.packet);
    assert.deepEqual(alone, [...first, ...later], 'every datagram written, unchanged and in order');
  },
);

test('empty datagrams are written alone (a segment size of zero means nothing to the kernel)', { skip }, () => {
  assert.deepEqual(shape(join(flow(4, 3, 0))), [1, 1, 1]);
});

for (const family of [4, 6] as const) {
  test(`IPv${family}: a UDP_L4 super-packet read from the TUN is cut into whole datagrams`, { skip }, () => {
    const iphl = family === 6 ? 40 : 20;
    const whole = udpPacket({ family, id: 7, payload: patterned(2500) });
    // What a UDP_SEGMENT sender hands the TUN: the partial checksum over the pseudo-header only.
    const hdr = vnetHeader({
      flags: NEEDS_CSUM,
      gsoType: GSO_UDP_L4,
      hdrLen: iphl + 8,
      gsoSize: 1000,
      csumStart: iphl,
      csumOffset: 6,
    });
    const datagrams = cut(hdr, whole);
    assert.equal(datagrams.length, 3);
    datagrams.forEach((d, i) => {
      const size = i < 2 ? 1000 : 500;
      assert.equal(d.length, iphl + 8 + size);
      assert.deepEqual(d.subarray(iphl + 8), patterned(2500).subarray(i * 1000, i * 1000 + size));
      assert.equal((d[iphl + 4] << 8) | d[iphl + 5], 8 + size, `datagram ${i} UDP length`);
      assert.ok(l4ChecksumOk(d), `datagram ${i} checksum`);
      if (family === 4) {
        assert.equal((d[4] << 8) | d[5], 7 + i, `datagram ${i} IP id`);
        assert.equal((d[2] << 8) | d[3], d.length);
        assert.ok(ipv4HeaderChecksumOk(d));
      } else {
        assert.equal((d[4] << 8) | d[5], d.length - 40);
      }
    });
  });
}
