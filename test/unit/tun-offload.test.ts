// The TUN's TCP offloads (pkg/native/offload.c) for IPv4 and IPv6, through the addon's probe exports: TSO
// super-packets the kernel hands us are cut into MTU-sized segments, and segments of one flow in a write batch
// are joined into one super-packet. Every checksum is checked by the tests' own computation (helpers).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadNativeAddon } from '../../pkg/native/addon.js';
import {
  ACK,
  checksum,
  CWR,
  FIN,
  GSO_NONE,
  GSO_TCPV4,
  GSO_TCPV6,
  ipv4HeaderChecksumOk,
  l4ChecksumOk,
  NEEDS_CSUM,
  patterned,
  PSH,
  readU32,
  SYN,
  tcpPacket,
  TIMESTAMP_OPTION,
  udp6PartialPacket,
  vnetHeader,
  type TcpSpec,
  type VnetHeader,
} from './helpers/offload-packets.js';
import { completeChecksum, probeCut, probeJoin, skipWithoutAddon as skip } from './helpers/offload-probe.js';

const SLOT = 1344;

/** What the reader delivers for one read of `hdr` + `pkt`. */
function cut(hdr: Uint8Array, pkt: Uint8Array, slots = 64): Uint8Array[] {
  return probeCut(hdr, pkt, SLOT, slots).packets;
}

/** The writes a batch of `packets` becomes: each a vnet header and a packet. */
function join(packets: Uint8Array[]): { hdr: VnetHeader; packet: Uint8Array }[] {
  return probeJoin(packets).writes;
}

/** A flow's consecutive segments of `mss` bytes each (the last `lastLen`), sequence numbers from `seq`. */
function flow(family: 4 | 6, count: number, mss: number, extra: Partial<TcpSpec> = {}, lastLen = mss): Uint8Array[] {
  const seq = 1000;
  return Array.from({ length: count }, (_, i) => {
    const len = i === count - 1 ? lastLen : mss;
    return tcpPacket({ family, seq: seq + i * mss, payload: patterned(len, i), ...extra });
  });
}

const tcpOf = (p: Uint8Array): number => (p[0] >> 4 === 6 ? 40 : 20);
const seqOf = (p: Uint8Array): number => readU32(p, tcpOf(p) + 4);
const flagsOf = (p: Uint8Array): number => p[tcpOf(p) + 13];
const payloadOf = (p: Uint8Array): Uint8Array => p.subarray(tcpOf(p) + (p[tcpOf(p) + 12] >> 4) * 4);

// ---- TSO: cutting what the kernel reads out ----

test(
  'an IPv6 TSO super-packet is cut into MSS-sized segments with their own payload length, sequence and checksum',
  { skip },
  () => {
    const mss = 1208;
    const payload = patterned(5000, 3);
    const superPacket = tcpPacket({ family: 6, seq: 0xfffff000, flags: ACK | PSH | FIN | CWR, payload });
    superPacket[40 + 16] ^= 0x5a; // the kernel leaves only a partial sum there: it must be recomputed, not trusted
    const hdr = vnetHeader({
      flags: NEEDS_CSUM,
      gsoType: GSO_TCPV6,
      hdrLen: 72,
      gsoSize: mss,
      csumStart: 40,
      csumOffset: 16,
    });
    const segs = cut(hdr, superPacket);
    assert.equal(segs.length, 5);
    const joined: number[] = [];
    segs.forEach((s, i) => {
      const len = i < 4 ? mss : 5000 - 4 * mss;
      assert.equal(s.length, 40 + 32 + len, `segment ${i} length`);
      assert.equal((s[4] << 8) | s[5], s.length - 40, `segment ${i} payload length field`);
      assert.deepEqual(s.subarray(0, 4), superPacket.subarray(0, 4), 'version, traffic class, flow label kept');
      assert.deepEqual(s.subarray(6, 40), superPacket.subarray(6, 40), 'next header, hop limit, addresses kept');
      assert.equal(seqOf(s), (0xfffff000 + i * mss) >>> 0, `segment ${i} sequence (wrapping)`);
      const last = i === 4;
      assert.equal(flagsOf(s), ACK | (last ? PSH | FIN : 0) | (i === 0 ? CWR : 0), `segment ${i} flags`);
      assert.deepEqual(s.subarray(60, 72), TIMESTAMP_OPTION, 'options kept');
      assert.ok(l4ChecksumOk(s), `segment ${i} TCP checksum`);
      joined.push(...payloadOf(s));
    });
    assert.deepEqual(Uint8Array.from(joined), payload);
  },
);

test('an IPv4 TSO super-packet is still cut as before: own IP id, total length and both checksums', { skip }, () => {
  const superPacket = tcpPacket({ family: 4, seq: 77, flags: ACK | PSH, payload: patterned(3000) });
  const segs = cut(
    vnetHeader({ flags: NEEDS_CSUM, gsoType: GSO_TCPV4, gsoSize: 1248, csumStart: 20, csumOffset: 16 }),
    superPacket,
  );
  assert.equal(segs.length, 3);
  segs.forEach((s, i) => {
    assert.equal((s[2] << 8) | s[3], s.length);
    assert.equal((s[4] << 8) | s[5], 0x1234 + i);
    assert.ok(ipv4HeaderChecksumOk(s) && l4ChecksumOk(s), `segment ${i} checksums`);
    assert.equal(seqOf(s), 77 + i * 1248);
  });
});

test(
  'TSO packets that cannot be cut are dropped: wrong family for the gso type, an extension header, no payload, gso_size 0',
  { skip },
  () => {
    const v6 = tcpPacket({ family: 6, seq: 1, payload: patterned(3000) });
    const v4 = tcpPacket({ family: 4, seq: 1, payload: patterned(3000) });
    const withExt = tcpPacket({ family: 6, seq: 1, payload: patterned(3000), hopByHop: true });
    const headerOnly = tcpPacket({ family: 6, seq: 1, payload: new Uint8Array(0) });
    const h6 = vnetHeader({ gsoType: GSO_TCPV6, gsoSize: 1208 });
    assert.equal(cut(vnetHeader({ gsoType: GSO_TCPV4, gsoSize: 1208 }), v6).length, 0);
    assert.equal(cut(h6, v4).length, 0);
    const v4LooksTcp6 = v4.slice();
    v4LooksTcp6[6] = 6; // where IPv6 keeps its next header: an IPv4 packet must still not be read as IPv6,
    v4LooksTcp6[52] = 0x50; // even with a plausible TCP data offset where IPv6's TCP header would be
    assert.equal(cut(h6, v4LooksTcp6).length, 0);
    assert.equal(cut(h6, withExt).length, 0);
    assert.equal(cut(h6, headerOnly).length, 0);
    assert.equal(cut(h6, v6.subarray(0, 50)).length, 0, 'shorter than its TCP header');
    assert.equal(cut(vnetHeader({ gsoType: GSO_TCPV6, gsoSize: 0 }), v6).length, 0);
    assert.equal(cut(h6, v6).length, 3, 'the same packet with the right header is cut');
  },
);

test(
  'a non-GSO IPv6 packet with NEEDS_CSUM gets its checksum completed; one longer than a slot is dropped',
  { skip },
  () => {
    const udp = udp6PartialPacket(patterned(300));
    assert.ok(!l4ChecksumOk(udp));
    const [out] = cut(vnetHeader({ flags: NEEDS_CSUM, gsoType: GSO_NONE, csumStart: 40, csumOffset: 6 }), udp);
    assert.ok(l4ChecksumOk(out));
    assert.deepEqual(out.subarray(48), udp.subarray(48));
    assert.equal(cut(vnetHeader({}), tcpPacket({ family: 6, seq: 1, payload: patterned(SLOT) })).length, 0);
  },
);

test('an IPv6 UDP checksum that computes to zero is sent as 0xffff (zero is not allowed over IPv6)', { skip }, () => {
  // Choose the last two payload bytes so that the completed checksum is exactly zero.
  const udp = udp6PartialPacket(patterned(10));
  const end = udp.length - 2;
  let found = false;
  for (let w = 0; w < 0x10000 && !found; w++) {
    udp[end] = w >> 8;
    udp[end + 1] = w & 0xff;
    found = checksum(udp, 40, udp.length) === 0;
  }
  assert.ok(found);
  const [out] = cut(vnetHeader({ flags: NEEDS_CSUM, gsoType: GSO_NONE, csumStart: 40, csumOffset: 6 }), udp);
  assert.deepEqual([out[46], out[47]], [0xff, 0xff]);
  assert.ok(l4ChecksumOk(out));
});

// ---- GRO: joining what we write ----

test(
  'consecutive IPv6 segments of one flow become one TCPV6 super-packet whose partial checksum completes',
  { skip },
  () => {
    const segs = flow(6, 10, 1208, {}, 500);
    segs[9] = tcpPacket({ family: 6, seq: seqOf(segs[9]), flags: ACK | PSH, payload: payloadOf(segs[9]).slice() });
    const records = join(segs);
    assert.equal(records.length, 1);
    const { hdr, packet } = records[0];
    assert.deepEqual(hdr, {
      flags: NEEDS_CSUM,
      gsoType: GSO_TCPV6,
      hdrLen: 72,
      gsoSize: 1208,
      csumStart: 40,
      csumOffset: 16,
    });
    assert.equal(packet.length, 72 + 9 * 1208 + 500);
    assert.equal((packet[4] << 8) | packet[5], packet.length - 40, 'payload length field');
    assert.deepEqual(packet.subarray(0, 4), segs[0].subarray(0, 4));
    assert.equal(seqOf(packet), seqOf(segs[0]));
    assert.equal(flagsOf(packet), ACK | PSH, "the last segment's PSH");
    assert.deepEqual(payloadOf(packet), Uint8Array.from(segs.flatMap((s) => [...payloadOf(s)])));
    assert.ok(!l4ChecksumOk(packet), 'left partial');
    assert.ok(l4ChecksumOk(completeChecksum(hdr, packet)), 'partial sum + data = a valid checksum');
  },
);

test(
  'a GRO run ends at a PSH, a shorter segment, a sequence gap, another flow label or hop limit, and SYN/FIN pass alone',
  { skip },
  () => {
    const sizes = (records: { packet: Uint8Array }[]): number[] => records.map((r) => payloadOf(r.packet).length);
    const psh = flow(6, 6, 1000);
    psh[2] = tcpPacket({ family: 6, seq: seqOf(psh[2]), flags: ACK | PSH, payload: patterned(1000) });
    assert.deepEqual(sizes(join(psh)), [3000, 3000]);

    const shorter = flow(6, 5, 1000);
    shorter[1] = tcpPacket({ family: 6, seq: seqOf(shorter[1]), payload: patterned(400) });
    for (let i = 2; i < 5; i++)
      shorter[i] = tcpPacket({ family: 6, seq: 1000 + 1400 + (i - 2) * 1000, payload: patterned(1000) });
    assert.deepEqual(sizes(join(shorter)), [1400, 3000]);

    const gap = flow(6, 4, 1000);
    gap[2] = tcpPacket({ family: 6, seq: seqOf(gap[2]) + 1, payload: patterned(1000) });
    assert.deepEqual(sizes(join(gap)), [2000, 1000, 1000]);

    const label = flow(6, 4, 1000);
    label[2] = tcpPacket({ family: 6, seq: seqOf(label[2]), payload: patterned(1000), flowLabel: 7 });
    label[3] = tcpPacket({ family: 6, seq: seqOf(label[3]), payload: patterned(1000), hopLimit: 3 });
    assert.deepEqual(sizes(join(label)), [2000, 1000, 1000]);

    const flags = flow(6, 4, 1000);
    flags[0] = tcpPacket({ family: 6, seq: 999, flags: SYN | ACK, payload: new Uint8Array(0) });
    flags[3] = tcpPacket({ family: 6, seq: seqOf(flags[3]), flags: FIN | ACK, payload: patterned(1000) });
    const records = join(flags);
    assert.deepEqual(sizes(records), [0, 2000, 1000]);
    assert.equal(records[0].hdr.gsoType, GSO_NONE);
    assert.deepEqual(records[2].packet, flags[3], 'a packet alone is written unchanged');
  },
);

test('segments of another port or address are not joined into the flow (the check TCP and UDP share)', { skip }, () => {
  for (const extra of [{ sport: 40001 }, { dport: 5202 }, { srcLast: 9 }] as Partial<TcpSpec>[]) {
    const packets = flow(6, 3, 1000);
    packets[1] = tcpPacket({ family: 6, seq: seqOf(packets[1]), payload: patterned(1000, 1), ...extra });
    assert.deepEqual(
      join(packets).map((r) => r.hdr.gsoType),
      [GSO_NONE, GSO_NONE, GSO_NONE],
      JSON.stringify(extra),
    );
  }
});

test('an IPv4 segment with a flag bit but DF set (the reserved one too) passes alone, unchanged', { skip }, () => {
  const packets = flow(4, 3, 1000);
  const odd = packets[1];
  odd[6] |= 0x80; // DF + the reserved bit: joined, it would come back with the first segment's flags
  odd[10] = odd[11] = 0;
  const c = checksum(odd, 0, 20);
  odd[10] = c >> 8;
  odd[11] = c & 0xff;
  const records = join(packets);
  assert.deepEqual(
    records.map((r) => r.hdr.gsoType),
    [GSO_NONE, GSO_NONE, GSO_NONE],
  );
  assert.deepEqual(records[1].packet, odd);
});

test(
  'IPv6 segments with an extension header, a bad checksum or a wrong payload length are written alone, unchanged',
  { skip },
  () => {
    const segs = flow(6, 6, 1000);
    segs[2] = tcpPacket({ family: 6, seq: seqOf(segs[2]), payload: patterned(1000), hopByHop: true });
    segs[3] = tcpPacket({ family: 6, seq: seqOf(segs[3]), payload: patterned(1000) });
    segs[3][100] ^= 1; // payload corrupted: the checksum no longer matches
    const records = join(segs);
    assert.deepEqual(
      records.map((r) => r.hdr.gsoType),
      [GSO_TCPV6, GSO_NONE, GSO_NONE, GSO_TCPV6],
    );
    assert.deepEqual(records[1].packet, segs[2]);
    assert.deepEqual(records[2].packet, segs[3]);

    const lying = flow(6, 3, 1000);
    lying[1] = lying[1].slice();
    lying[1][5] -= 1; // payload length one short of the packet
    assert.deepEqual(
      join(lying).map((r) => r.hdr.gsoType),
      [GSO_NONE, GSO_NONE, GSO_NONE],
    );
  },
);

test(
  'a batch of both families joins each flow in its own family; IPv4 still gets TCPV4 and a valid header checksum',
  { skip },
  () => {
    const records = join([...flow(4, 3, 1200), ...flow(6, 3, 1200)]);
    assert.deepEqual(
      records.map((r) => r.hdr.gsoType),
      [GSO_TCPV4, GSO_TCPV6],
    );
    const v4 = records[0];
    assert.equal(v4.hdr.csumStart, 20);
    assert.equal((v4.packet[2] << 8) | v4.packet[3], v4.packet.length);
    assert.ok(ipv4HeaderChecksumOk(v4.packet));
    assert.ok(l4ChecksumOk(completeChecksum(v4.hdr, v4.packet)));
  },
);

test(
  'an IPv6 run stops before its payload length (which does not count the 40-byte header) would pass 65535',
  { skip },
  () => {
    // 63 segments of 1024 give a payload length of 64544; a 64th would make 65568, over by less than the header.
    const records = join(flow(6, 64, 1024));
    assert.deepEqual(
      records.map((r) => r.hdr.gsoType),
      [GSO_TCPV6, GSO_NONE],
    );
    assert.equal((records[0].packet[4] << 8) | records[0].packet[5], 63 * 1024 + 32);
    assert.equal(
      records.reduce((s, r) => s + payloadOf(r.packet).length, 0),
      64 * 1024,
    );
  },
);

test('the probes refuse arguments that do not fit instead of touching memory out of range', { skip }, () => {
  const a = loadNativeAddon();
  const pkt = tcpPacket({ family: 6, seq: 1, payload: patterned(100) });
  assert.throws(
    () => a.offload_tso_cut(new Uint8Array(9), pkt, new Uint8Array(SLOT), SLOT, new Uint32Array(1)),
    RangeError,
  );
  assert.throws(
    () => a.offload_tso_cut(vnetHeader({}), pkt, new Uint8Array(SLOT - 1), SLOT, new Uint32Array(1)),
    RangeError,
  );
  assert.throws(
    () =>
      a.offload_tso_cut(vnetHeader({}), new Uint8Array(SLOT + 65537), new Uint8Array(SLOT), SLOT, new Uint32Array(1)),
    RangeError,
  );
  assert.throws(
    () =>
      a.offload_gro_join(
        pkt,
        Uint32Array.of(1),
        Uint32Array.of(pkt.length),
        1,
        new Uint8Array(4096),
        new Uint32Array(1),
      ),
    RangeError,
  );
  assert.throws(
    () =>
      a.offload_gro_join(pkt, Uint32Array.of(0), Uint32Array.of(pkt.length), 1, new Uint8Array(20), new Uint32Array(1)),
    RangeError,
  );
});

test(
  'the batch bounds check shared with tun_writev_batch refuses a count past its arrays and an offset that wraps',
  { skip },
  () => {
    const a = loadNativeAddon();
    const pkt = tcpPacket({ family: 4, seq: 1, payload: patterned(100) });
    const join = (offsets: Uint32Array, lens: Uint32Array, count: number) =>
      a.offload_gro_join(pkt, offsets, lens, count, new Uint8Array(4096), new Uint32Array(4));
    assert.equal(join(Uint32Array.of(0), Uint32Array.of(pkt.length), 1), 1, 'a packet that fits is written');
    assert.throws(() => join(Uint32Array.of(0, 0), Uint32Array.of(pkt.length), 2), /count exceeds/);
    assert.throws(() => join(Uint32Array.of(0), Uint32Array.of(pkt.length, 10), 2), /count exceeds/);
    // 0xffffffff + 2 is 1 in 32 bits: inside the buffer unless the sum is taken wider.
    assert.throws(() => join(Uint32Array.of(0xffffffff), Uint32Array.of(2), 1), /outside the buffer/);
    assert.throws(() => join(Uint32Array.of(0, 1), Uint32Array.of(pkt.length, pkt.length), 2), /outside the buffer/);
  },
);
