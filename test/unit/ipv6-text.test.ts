import assert from 'node:assert/strict';
import { isIPv6 } from 'node:net';
import { describe, it } from 'node:test';
import { bigIntToIpv6, formatIpv6Groups, ipv6ToBigInt, parseIpv6Groups } from '../../pkg/ip/ipv6.js';
import { formatIpAddr, parseIpAddr } from '../../pkg/ip/prefix.js';
import { formatIpv6, parseAddrWords } from '../../pkg/udp/addr-record.js';
import { runFuzz, type Rand } from './helpers/fuzz.js';

/** node's own reading: isIPv6 says whether, the WHATWG URL parser how (its canonical text). */
function nodeCanonical(text: string): string | null {
  if (!isIPv6(text) || text.includes('%')) return null;
  return new URL(`http://[${text}]/`).hostname.slice(1, -1);
}

/** The URL parser writes a v4-mapped address as ::ffff:102:304; Go's netip (and so we) as ::ffff:1.2.3.4. */
function asGoWrites(urlText: string): string {
  const m = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(urlText);
  if (m === null) return urlText;
  const hi = parseInt(m[1], 16);
  const lo = parseInt(m[2], 16);
  return `::ffff:${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

function checkAgainstNode(text: string): void {
  const expected = nodeCanonical(text);
  const groups = parseIpv6Groups(text);
  if (expected === null) {
    assert.equal(groups, null, `${JSON.stringify(text)} is not IPv6 to node but parsed`);
    return;
  }
  assert.notEqual(groups, null, `${JSON.stringify(text)} is IPv6 to node but refused`);
  assert.equal(formatIpv6Groups(groups!), asGoWrites(expected), JSON.stringify(text));
}

const EDGES = [
  '::',
  '::1',
  '1::',
  '::0',
  '0::0',
  '1:2:3:4:5:6:7:8',
  '1:2:3:4:5:6:7::',
  '::2:3:4:5:6:7:8',
  '1::3:4:5:6:7:8',
  '1:2:3:4:5:6::',
  '1:0:0:1:0:0:0:1',
  '1:0:0:0:1:0:0:1',
  '1:0:0:1:0:0:1:0',
  '0:0:1:0:0:1:0:0',
  '1:0:1:0:1:0:1:0',
  '2001:db8::0:1',
  '2001:DB8:0:0:0:0:0:1',
  '0001:0002:0003:0004:0005:0006:0007:0008',
  'FFFF:ffff:FFFF::',
  '::ffff:1.2.3.4',
  '::FFFF:255.255.255.255',
  '0:0:0:0:0:ffff:1.2.3.4',
  '::ffff:0102:0304',
  '::1.2.3.4',
  '1:2:3:4:5:6:1.2.3.4',
  '1:2:3:4:5::1.2.3.4',
  '::ffff:0:1.2.3.4',
  '64:ff9b::192.0.2.33',
  'fe80::1%eth0',
  '::1%1',
  '',
  ':',
  ':::',
  '1:::2',
  '1::2::3',
  ':1::',
  '1:',
  ':1',
  '1::2:',
  '12345::',
  '1:2:3:4:5:6:7:8:9',
  '1:2:3:4:5:6:7:8::',
  '::1:2:3:4:5:6:7:8',
  '1:2:3:4:5:6:7',
  'g::',
  '::ffff:1.2.3',
  '::ffff:1.2.3.4.5',
  '::ffff:01.2.3.4',
  '::ffff:256.1.1.1',
  '::1.2.3.4:5',
  '1.2.3.4::',
  '1.2.3.4',
  '1:2:3:4:5:6:7:1.2.3.4',
  '::ffff:1.2.3.04',
  ' ::1',
  '::1 ',
  '[::1]',
  'ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255',
  '0000:0000:0000:0000:0000:0000:0000:0000',
];

function randomGroupsText(r: Rand): string {
  // Addresses with zero runs in random places, then written in a random legal or nearly legal spelling.
  const groups = Array.from({ length: 8 }, () => (r.chance(0.5) ? 0 : r.chance(0.3) ? 0xffff : r.int(0x10000)));
  if (r.chance(0.1)) groups.splice(0, 6, 0, 0, 0, 0, 0, 0xffff);
  let parts = groups.map((g) => {
    const hex = g.toString(16);
    const padded = r.chance(0.2) ? hex.padStart(4, '0') : hex;
    return r.chance(0.2) ? padded.toUpperCase() : padded;
  });
  if (r.chance(0.2))
    parts = [...parts.slice(0, 6), `${groups[6] >> 8}.${groups[6] & 255}.${groups[7] >> 8}.${groups[7] & 255}`];
  let text = parts.join(':');
  if (r.chance(0.6)) {
    // Compress a random run of groups (which need not be zero: then it is a different, still valid, address).
    const from = r.int(parts.length);
    const to = from + 1 + r.int(parts.length - from);
    text = `${parts.slice(0, from).join(':')}::${parts.slice(to).join(':')}`;
  }
  if (r.chance(0.15)) {
    const at = r.int(text.length + 1);
    const junk = ':.%0fFg'[r.int(7)];
    text = r.chance(0.5) ? text.slice(0, at) + junk + text.slice(at) : text.slice(0, at) + text.slice(at + 1);
  }
  return text;
}

describe('IPv6 text codec', () => {
  it('agrees with node on edge inputs: what it accepts and the canonical text it writes', () => {
    for (const text of EDGES) checkAgainstNode(text);
  });

  it('writes what Go netip writes (RFC 5952: longest run, first on a tie, no lone ::, mapped as dotted)', () => {
    const cases: [string, string][] = [
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['1:0:0:0:1:0:0:0', '1::1:0:0:0'],
      ['0:0:0:0:0:ffff:c000:0201', '::ffff:192.0.2.1'],
      ['0:0:0:0:0:0:c000:0201', '::c000:201'],
      ['FE80::ABCD', 'fe80::abcd'],
    ];
    for (const [text, want] of cases) assert.equal(bigIntToIpv6(ipv6ToBigInt(text)), want, text);
  });

  it('agrees with node on random spellings of random addresses and on random junk', () => {
    const alphabet = '0123456789abcdefABCDEF:::..%g';
    runFuzz('ipv6-text', { iterations: 20_000, ms: 1500, seed: 6 }, (r) => {
      if (r.chance(0.8)) return checkAgainstNode(randomGroupsText(r));
      let text = '';
      const n = r.int(48);
      for (let i = 0; i < n; i++) text += alphabet[r.int(alphabet.length)];
      checkAgainstNode(text);
    });
  });

  it('refuses zones and over-long text everywhere the old code did', () => {
    assert.equal(parseAddrWords('fe80::1%eth0'), null);
    assert.throws(() => parseIpAddr('fe80::1%eth0'), { code: 'EIPPARSE' });
    assert.throws(() => ipv6ToBigInt('fe80::1%eth0'), { code: 'EIPV6' });
    assert.equal(parseIpv6Groups(`${'0'.repeat(100_000)}::1`), null);
  });

  it('the three users share it: words, IpAddr bytes and bigints give the same text', () => {
    runFuzz('ipv6-users', { iterations: 2_000, ms: 500, seed: 7 }, (r) => {
      const words = [r.int(2 ** 32), r.int(2) ? 0 : r.int(2 ** 32), r.int(2) ? 0 : r.int(2 ** 32), r.int(2 ** 32)];
      const text = formatIpv6([6, words[0], words[1], words[2], words[3]]);
      const value = words.reduce((v, w) => (v << 32n) | BigInt(w), 0n);
      assert.equal(bigIntToIpv6(value), text);
      assert.equal(formatIpAddr(parseIpAddr(text)), text);
      assert.equal(ipv6ToBigInt(text), value);
      assert.deepEqual(parseAddrWords(text), [6, ...words]);
    });
  });
});
