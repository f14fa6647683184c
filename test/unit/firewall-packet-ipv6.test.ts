// Reading IPv6 packets for the firewall (pkg/firewall/packet-ipv6.ts): every extension header walked, fragments,
// truncations and malformed chains as drop reasons, never a throw.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newFirewallPacket, type FirewallPacket } from '../../pkg/firewall/packet.js';
import { parseIpv6Packet } from '../../pkg/firewall/packet-ipv6.js';
import { packetLocalAddr, packetRemoteAddr, parseFirewallPacket } from '../../pkg/firewall/packet-any.js';
import { ICMPV6, TCP, UDP, ipv6Packet, ipv4Packet, type ExtHeader } from './firewall-fixtures.js';

const A = 'fd00::1';
const B = 'fd00::2:0:0:7';

function parsed(buf: Uint8Array, incoming = false): FirewallPacket | string {
  const p = newFirewallPacket();
  const why = parseIpv6Packet(buf, incoming, p);
  return why ?? p;
}

function ok(buf: Uint8Array, incoming = false): FirewallPacket {
  const p = parsed(buf, incoming);
  if (typeof p === 'string') assert.fail(`dropped: ${p}`);
  return p;
}

test('an outbound IPv6 TCP packet is read with local = source, remote = destination, ports in order', () => {
  const p = ok(ipv6Packet({ src: A, dst: B, proto: TCP, srcPort: 40000, dstPort: 443 }));
  assert.deepEqual([p.ipv6, p.protocol, p.localPort, p.remotePort, p.fragment], [true, TCP, 40000, 443, false]);
  assert.equal(packetLocalAddr(p), A);
  assert.equal(packetRemoteAddr(p), B);
  assert.deepEqual([p.localIp, p.remoteIp], [0, 0]);
  const q = ok(ipv6Packet({ src: B, dst: A, proto: UDP, srcPort: 5353, dstPort: 53 }), true);
  assert.deepEqual([packetRemoteAddr(q), packetLocalAddr(q), q.remotePort, q.localPort], [B, A, 5353, 53]);
});

test('every extension header kind is walked to the upper layer, in any legal order', () => {
  const chains: ExtHeader[][] = [
    [{ type: 0 }],
    [{ type: 43, lengthField: 2 }],
    [{ type: 60, lengthField: 1 }],
    [{ type: 51, lengthField: 4 }],
    [{ type: 44, moreFragments: true }],
    [{ type: 0 }, { type: 60 }, { type: 43 }, { type: 44 }, { type: 51 }, { type: 60 }],
  ];
  for (const ext of chains) {
    const p = ok(ipv6Packet({ src: B, dst: A, proto: UDP, srcPort: 7, dstPort: 9, ext }), true);
    const kinds = ext.map((e) => e.type).join(',');
    assert.deepEqual([p.protocol, p.remotePort, p.localPort, p.fragment], [UDP, 7, 9, false], `chain ${kinds}`);
  }
});

test('a non-first fragment has the fragmented protocol and no ports; a first fragment is read whole', () => {
  const later = ok(ipv6Packet({ src: A, dst: B, proto: TCP, ext: [{ type: 44, fragOffset: 185 }] }));
  assert.deepEqual([later.protocol, later.fragment, later.localPort, later.remotePort], [TCP, true, 0, 0]);
  const first = ok(
    ipv6Packet({ src: A, dst: B, proto: TCP, srcPort: 1, dstPort: 2, ext: [{ type: 44, moreFragments: true }] }),
  );
  assert.deepEqual([first.protocol, first.fragment, first.localPort, first.remotePort], [TCP, false, 1, 2]);
  // A first fragment too short to hold the ports it promises is not judged on guessed ports.
  const cut = ipv6Packet({
    src: A,
    dst: B,
    proto: TCP,
    srcPort: 1,
    dstPort: 2,
    ext: [{ type: 44, moreFragments: true }],
  });
  assert.equal(parsed(cut.subarray(0, 40 + 8 + 3)), 'short-packet');
});

test('ESP, No Next Header and unknown protocols end the walk without ports', () => {
  for (const proto of [50, 59, 132, 135, 253]) {
    const p = ok(ipv6Packet({ src: A, dst: B, proto, srcPort: 5, dstPort: 6, ext: [{ type: 60 }] }));
    assert.deepEqual([p.protocol, p.localPort, p.remotePort, p.fragment], [proto, 0, 0, false], `protocol ${proto}`);
  }
});

test('ICMPv6 echo request and reply put their identifier in remotePort, so both directions are one flow', () => {
  const request = ok(ipv6Packet({ src: A, dst: B, proto: ICMPV6, icmpType: 128, identifier: 0x1234 }), false);
  const reply = ok(ipv6Packet({ src: B, dst: A, proto: ICMPV6, icmpType: 129, identifier: 0x1234 }), true);
  for (const p of [request, reply]) assert.deepEqual([p.protocol, p.localPort, p.remotePort], [ICMPV6, 0, 0x1234]);
  const unreachable = ok(ipv6Packet({ src: B, dst: A, proto: ICMPV6, icmpType: 1, identifier: 0x1234 }), true);
  assert.deepEqual([unreachable.localPort, unreachable.remotePort], [0, 0], 'other types carry no identifier');
  const echo = ipv6Packet({ src: A, dst: B, proto: ICMPV6, icmpType: 128 });
  assert.equal(parsed(echo.subarray(0, 45)), 'short-packet', 'an echo without its identifier');
  assert.equal(parsed(echo.subarray(0, 43)), 'short-packet', 'less than type, code and checksum');
  const nd = ipv6Packet({ src: A, dst: B, proto: ICMPV6, icmpType: 135 });
  assert.equal(typeof parsed(nd.subarray(0, 44)), 'object', 'four bytes are enough for a non-echo message');
});

test('the hop limit is not judged: 0, 1 and 255 read alike', () => {
  for (const hopLimit of [0, 1, 255]) {
    const p = ok(ipv6Packet({ src: A, dst: B, proto: UDP, srcPort: 1, dstPort: 2, hopLimit }));
    assert.deepEqual([p.protocol, p.localPort, p.remotePort], [UDP, 1, 2], `hop limit ${hopLimit}`);
  }
});

test('truncated packets and chains are drop reasons at every cut, never a throw', () => {
  const full = ipv6Packet({
    src: A,
    dst: B,
    proto: TCP,
    srcPort: 1,
    dstPort: 2,
    ext: [{ type: 0, lengthField: 1 }, { type: 44 }, { type: 51 }],
  });
  const upper = 40 + 16 + 8 + 12;
  for (let len = 0; len < full.length; len++) {
    const why = parsed(full.subarray(0, len));
    if (len < 40) assert.equal(why, 'short-packet', `cut at ${len}`);
    else if (len < upper) assert.equal(why, 'bad-extension-header', `cut at ${len}`);
    else if (len < upper + 4) assert.equal(why, 'short-packet', `cut at ${len}`);
    else assert.equal(typeof why, 'object', `cut at ${len}`);
  }
});

test('malformed chains fail closed: hop-by-hop not first, two fragment headers, too many headers or bytes', () => {
  assert.equal(
    parsed(ipv6Packet({ src: A, dst: B, proto: UDP, ext: [{ type: 60 }, { type: 0 }] })),
    'bad-extension-header',
  );
  assert.equal(
    parsed(ipv6Packet({ src: A, dst: B, proto: UDP, ext: [{ type: 44 }, { type: 44 }] })),
    'bad-extension-header',
  );
  const eight: ExtHeader[] = Array.from({ length: 8 }, () => ({ type: 60 }));
  assert.equal(
    typeof parsed(ipv6Packet({ src: A, dst: B, proto: UDP, ext: eight })),
    'object',
    'eight headers are allowed',
  );
  assert.equal(
    parsed(ipv6Packet({ src: A, dst: B, proto: UDP, ext: [...eight, { type: 60 }] })),
    'bad-extension-header',
  );
  const big: ExtHeader[] = [{ type: 60, lengthField: 127 }];
  assert.equal(
    typeof parsed(ipv6Packet({ src: A, dst: B, proto: UDP, ext: big })),
    'object',
    '1024 bytes of headers are allowed',
  );
  assert.equal(parsed(ipv6Packet({ src: A, dst: B, proto: UDP, ext: [...big, { type: 43 }] })), 'bad-extension-header');
  // A header whose length runs past the end of the packet, with the packet long enough to hold its first bytes.
  const long = ipv6Packet({ src: A, dst: B, proto: UDP, srcPort: 1, dstPort: 2, ext: [{ type: 43 }] });
  long[41] = 2;
  assert.equal(parsed(long), 'bad-extension-header');
});

test('the version nibble decides the family: parseFirewallPacket reads either, parseIpv6Packet only version 6', () => {
  const v4 = ipv4Packet({ src: '10.1.0.1', dst: '10.1.0.2', proto: UDP, srcPort: 1, dstPort: 2 });
  const p = newFirewallPacket();
  assert.equal(parseFirewallPacket(ipv6Packet({ src: A, dst: B, proto: UDP, srcPort: 1, dstPort: 2 }), false, p), null);
  assert.equal(p.ipv6, true);
  assert.equal(parseFirewallPacket(v4, false, p), null);
  assert.deepEqual([p.ipv6, packetRemoteAddr(p)], [false, 0x0a010002]);
  const v5 = v4.slice();
  v5[0] = 0x50;
  assert.equal(parseIpv6Packet(new Uint8Array(40).fill(0x50), false, p), 'not-ipv4');
  assert.equal(parseFirewallPacket(v5, false, p), 'not-ipv4');
});
