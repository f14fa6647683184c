import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseIpPrefix, type IpPrefix } from '../../pkg/ip/prefix.js';
import { parseVpnIp } from '../../pkg/ip/vpn-ip.js';
import { dottedQuad, inNetworks, underlayInNetworks } from '../../pkg/lighthouse/overlay-networks.js';
import { seededRandom } from './helpers/seeded-random.js';

// underlayInNetworks judges every reported address of every host update; its shortcuts must say exactly what the
// general parse (parseVpnIp) says, for any string.

const networks = [parseIpPrefix('10.99.0.0/16'), parseIpPrefix('192.168.7.0/24'), parseIpPrefix('fd00::/8')];
/** IPv4 networks only: an IPv6 spelling is outside unless it is an IPv4-mapped one. */
const v4Networks = networks.slice(0, 2);

/** The general way, as underlayInNetworks judged every address before its shortcuts. */
function general(address: string, networks: readonly IpPrefix[]): boolean {
  try {
    return inNetworks(parseVpnIp(address), networks);
  } catch {
    return false;
  }
}

test('dottedQuad reads plain dotted quads as parseVpnIp does and refuses everything else', () => {
  const read = ['0.0.0.0', '255.255.255.255', '10.99.3.4', '010.099.003.004', '192.168.7.255', '1.2.3.4'];
  for (const t of read) assert.equal(dottedQuad(t), parseVpnIp(t), t);
  const refused = ['', '1.2.3', '1.2.3.4.', '.1.2.3', '1..2.3', '256.1.1.1', '1.1.1.1000', '0001.1.1.1', ' 1.2.3.4'];
  for (const t of [...refused, '1.2.3.4 ', '1.2.3.-4', '::ffff:10.99.0.1', 'fd00::1', '1.2.3.4%eth0']) {
    assert.equal(dottedQuad(t), -1, t);
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
