import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseIpPrefix, type IpPrefix } from '../../pkg/ip/prefix.js';
import { parseVpnIp } from '../../pkg/ip/vpn-ip.js';
import { dottedQuad, IpParseError, parseIpv4 } from '../../pkg/ip/ipv4.js';
import { inNetworks, underlayInNetworks } from '../../pkg/lighthouse/overlay-networks.js';
import { seededRandom } from './helpers/seeded-random.js';

// underlayInNetworks judges every reported address of every host update; its shortcuts must say exactly what the
// general parse (parseVpnIp) says, for any string.

const networks = [parseIpPrefix('10.99.0.0/16'), parseIpPrefix('192.168.7.0/24'), parseIpPrefix('fd00::/8')];
/** IPv4 networks only: an IPv6 spelling is outside unless it is an IPv4-mapped one. */
const v4Networks = networks.slice(0, 2);

/**
 * IPv4 text read the way parseIpv4 read it before it used dottedQuad (a regular expression, then each octet at most
 * 255): an oracle that does not share dottedQuad's code, since parseVpnIp's IPv4 branch now goes through it.
 */
function referenceIpv4(text: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return -1;
  const octets = m.slice(1).map(Number);
  return octets.some((o) => o > 255) ? -1 : octets.reduce((v, o) => v * 256 + o, 0);
}

/** The general way, as underlayInNetworks judged every address before its shortcuts (IPv4 by the reference). */
function general(address: string, networks: readonly IpPrefix[]): boolean {
  const t = address.trim();
  if (/^\d+\.\d+\.\d+\.\d+$/.test(t)) {
    const v = referenceIpv4(t);
    return v >= 0 && inNetworks(v, networks);
  }
  try {
    return inNetworks(parseVpnIp(address), networks);
  } catch {
    return false;
  }
}

test('dottedQuad reads plain dotted quads as the reference parse does and refuses everything else', () => {
  const read = ['0.0.0.0', '255.255.255.255', '10.99.3.4', '010.099.003.004', '192.168.7.255', '1.2.3.4'];
  for (const t of read) assert.equal(dottedQuad(t), referenceIpv4(t), t);
  assert.equal(dottedQuad('10.99.3.4'), 0x0a630304);
  const refused = ['', '1.2.3', '1.2.3.4.', '.1.2.3', '1..2.3', '256.1.1.1', '1.1.1.1000', '0001.1.1.1', ' 1.2.3.4'];
  for (const t of [...refused, '1.2.3.4 ', '1.2.3.-4', '::ffff:10.99.0.1', 'fd00::1', '1.2.3.4%eth0']) {
    assert.equal(dottedQuad(t), -1, t);
  }
});

test('parseIpv4 is dottedQuad after a trim, throwing where dottedQuad refuses', () => {
  assert.equal(parseIpv4(' 10.99.3.4\n'), 0x0a630304);
  assert.equal(parseIpv4('255.255.255.255'), 0xffffffff);
  for (const t of ['', '1.2.3', '256.1.1.1', '0001.1.1.1', '1.2.3.4.', 'fd00::1']) {
    assert.throws(() => parseIpv4(t), IpParseError, t);
  }
});

test('underlayInNetworks agrees with the general parse on seeded random addresses and near-addresses', () => {
  const random = seededRandom(19);
  const pick = (s: string): string => s[Math.floor(random() * s.length)];
  let inside = 0;
  for (let i = 0; i < 20_000; i++) {
    let text: string;
    if (i % 2 === 0) {
      // Near a dotted quad: octets up to 299, some zero-padded, many inside the networks.
      const octet = (): string => {
        const n = String(Math.floor(random() * 300));
        return random() < 0.1 ? n.padStart(3 + Math.floor(random() * 2), '0') : n;
      };
      const shapes = [
        `10.99.${octet()}.${octet()}`,
        `192.168.7.${octet()}`,
        `${octet()}.${octet()}.${octet()}.${octet()}`,
        // IPv4-mapped spellings (IPv4 addresses, so inside IPv4 networks), and IPv6 ones.
        `::${random() < 0.5 ? 'ffff' : 'FfFf'}:10.99.${octet()}.${octet()}`,
        `0:0:0:0:0:ffff:a63:${Math.floor(random() * 65536).toString(16)}`,
        `::ffff:c0a8:7${Math.floor(random() * 256)
          .toString(16)
          .padStart(2, '0')}`,
        `fd00::${Math.floor(random() * 65536).toString(16)}`,
      ];
      text = shapes[Math.floor(random() * shapes.length)];
      if (random() < 0.2) text = text.slice(0, Math.floor(random() * text.length)) + pick('.:x 9');
    } else {
      const length = Math.floor(random() * 18);
      text = Array.from({ length }, () => pick('0123456789.:fdFf ')).join('');
    }
    for (const nets of [networks, v4Networks]) {
      const want = general(text, nets);
      if (want) inside++;
      assert.equal(underlayInNetworks({ address: text, port: 4242 }, nets), want, JSON.stringify(text));
    }
  }
  assert.ok(inside > 100, `only ${inside} addresses inside the networks: the test would not see a wrong verdict`);
});
