import assert from 'node:assert/strict';
import { test } from 'node:test';

import { AllowList, AllowListError } from '../../pkg/lighthouse/allow-list.js';

// remote_allow_list / local_allow_list CIDR semantics (docs/wire-format.md, "Allow lists"; nebula 1.6.1 allow_list.go):
// the most specific entry wins; when every entry of a family has the same value, that family's catch-all gets the
// opposite; IPv4 and IPv6 are judged separately. (A mix of true and false without a catch-all is a config error, caught
// by pkg/config before an AllowList is built.)

function verdicts(list: AllowList, addresses: string[]): Record<string, boolean> {
  return Object.fromEntries(addresses.map((a) => [a, list.allows(a)]));
}

test('an empty or missing list allows every address of both families', () => {
  for (const list of [new AllowList(undefined), new AllowList({}), new AllowList(new Map())]) {
    assert.equal(list.empty, true);
    assert.deepEqual(verdicts(list, ['10.1.2.3', '8.8.8.8', '2001:db8::1', '::1']), {
      '10.1.2.3': true,
      '8.8.8.8': true,
      '2001:db8::1': true,
      '::1': true,
    });
  }
});

test('the most specific matching entry wins, whatever order the entries were given in', () => {
  const rules: Array<[string, boolean]> = [
    ['0.0.0.0/0', true],
    ['10.0.0.0/8', false],
    ['10.42.0.0/16', true],
    ['10.42.7.0/24', false],
    ['10.42.7.9/32', true],
  ];
  const expected = {
    '8.8.8.8': true,
    '10.1.2.3': false,
    '10.42.1.1': true,
    '10.42.7.1': false,
    '10.42.7.9': true,
  };
  assert.deepEqual(verdicts(new AllowList(new Map(rules)), Object.keys(expected)), expected);
  assert.deepEqual(verdicts(new AllowList(new Map([...rules].reverse())), Object.keys(expected)), expected);
});

test('a list whose entries are all false allows everything else', () => {
  const list = new AllowList({ '10.0.0.0/8': false, '192.168.0.0/16': false });
  assert.deepEqual(verdicts(list, ['10.9.9.9', '192.168.1.1', '198.51.100.1', '172.16.0.1']), {
    '10.9.9.9': false,
    '192.168.1.1': false,
    '198.51.100.1': true,
    '172.16.0.1': true,
  });
});

test('a list whose entries are all true denies everything else', () => {
  const list = new AllowList({ '198.51.100.0/24': true, '203.0.113.0/24': true });
  assert.deepEqual(verdicts(list, ['198.51.100.7', '203.0.113.200', '10.0.0.1', '198.51.101.1']), {
    '198.51.100.7': true,
    '203.0.113.200': true,
    '10.0.0.1': false,
    '198.51.101.1': false,
  });
});

test('an explicit catch-all is kept as given, so no opposite default is added', () => {
  const list = new AllowList({ '0.0.0.0/0': false, '10.0.0.0/8': false });
  assert.deepEqual(verdicts(list, ['10.0.0.1', '8.8.8.8']), { '10.0.0.1': false, '8.8.8.8': false });
});

test('IPv4 entries say nothing about IPv6 addresses, which stay allowed', () => {
  const list = new AllowList({ '10.0.0.0/8': true });
  assert.equal(list.allows('10.1.1.1'), true);
  assert.equal(list.allows('8.8.8.8'), false);
  assert.equal(list.allows('2001:db8::1'), true);
  assert.equal(list.allows('::'), true);
});

test('IPv6 entries say nothing about IPv4 addresses, and get their own flipped default', () => {
  const list = new AllowList({ '2001:db8::/32': true });
  assert.equal(list.allows('2001:db8:1::5'), true);
  assert.equal(list.allows('2001:db9::5'), false);
  assert.equal(list.allows('fe80::1'), false);
  assert.equal(list.allows('10.0.0.1'), true);
});

test('::/0 false blocks every IPv6 address and no IPv4 one', () => {
  const list = new AllowList({ '::/0': false });
  assert.equal(list.allows('2001:db8::1'), false);
  assert.equal(list.allows('::1'), false);
  assert.equal(list.allows('198.51.100.1'), true);
});

test('families mixed in one list are each judged by their own entries', () => {
  const list = new AllowList({ '0.0.0.0/0': false, '198.51.100.0/24': true, '::/0': true, 'fd00::/8': false });
  assert.deepEqual(verdicts(list, ['198.51.100.1', '10.0.0.1', '2001:db8::1', 'fd12::1']), {
    '198.51.100.1': true,
    '10.0.0.1': false,
    '2001:db8::1': true,
    'fd12::1': false,
  });
});

test('IPv6 prefixes compare all 128 bits, across the 64-bit boundary', () => {
  const list = new AllowList({ '2001:db8:0:1:8000::/65': false, '2001:db8::/32': true, '::/0': false });
  assert.equal(list.allows('2001:db8:0:1:7fff::1'), true);
  assert.equal(list.allows('2001:db8:0:1:8000::1'), false);
  assert.equal(list.allows('2001:db8:0:1:ffff:ffff:ffff:ffff'), false);
  assert.equal(list.allows('2001:db8:0:2::1'), true);
  assert.equal(list.allows('2001:db9::'), false);
});

test('an entry with host bits set matches its whole network, and one without a prefix is a single host', () => {
  const list = new AllowList({ '10.1.2.3/8': false, '192.168.1.1': false });
  assert.equal(list.allows('10.200.0.1'), false);
  assert.equal(list.allows('192.168.1.1'), false);
  assert.equal(list.allows('192.168.1.2'), true);
});

test('an invalid CIDR is an AllowListError with code EALLOWLIST', () => {
  for (const cidr of ['10.0.0.0/33', '2001:db8::/129', 'bogus/8', '10.0.0.0/x', '300.1.1.1/8']) {
    assert.throws(
      () => new AllowList({ [cidr]: true }),
      (e: unknown) => e instanceof AllowListError && e.code === 'EALLOWLIST',
      cidr,
    );
  }
});

test('judging something that is not an address is an AllowListError, not a silent verdict', () => {
  const list = new AllowList({ '10.0.0.0/8': true });
  assert.throws(() => list.allows('not-an-ip'), AllowListError);
});

// Defence in depth: addresses are folded where they enter (pkg/udp/addr.ts), and the list folds again, so a mapped
// address that slipped through is still judged by the IPv4 rules its packets will meet.
test('an IPv4-mapped IPv6 address is judged by the IPv4 rules, whatever its spelling', () => {
  const list = new AllowList({ '192.168.0.0/16': false, '::/0': true });
  assert.deepEqual(
    verdicts(list, [
      '192.168.1.3',
      '::ffff:192.168.1.3',
      '::ffff:c0a8:103',
      '0:0:0:0:0:FFFF:C0A8:0103',
      '::ffff:8.8.8.8',
      '2001:db8::1',
    ]),
    {
      '192.168.1.3': false,
      '::ffff:192.168.1.3': false,
      '::ffff:c0a8:103': false,
      '0:0:0:0:0:FFFF:C0A8:0103': false,
      '::ffff:8.8.8.8': true,
      '2001:db8::1': true,
    },
  );
  // ...and an IPv6 rule does not reach it: ::/0 false would otherwise deny ::ffff:8.8.8.8.
  assert.equal(new AllowList({ '::/0': false }).allows('::ffff:8.8.8.8'), true);
});
