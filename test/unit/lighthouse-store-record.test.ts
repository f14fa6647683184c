// The records lighthouses of a tier exchange over NATS (pkg/lighthouse/store/record.ts): round trips, the schema's
// refusals, and bounded fuzzing of both decoders (byte and text mutations of valid records): they fail only with
// RecordError, and whatever they accept is within the bounds (addresses IP literals, lists bounded).

import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { test } from 'node:test';
import { parseIpv4 } from '../../pkg/ip/ipv4.js';
import { formatVpnIp, parseVpnIp } from '../../pkg/ip/vpn-ip.js';
import {
  decodePunch,
  decodeRecord,
  defaultLighthouseId,
  encodePunch,
  encodeRecord,
  keyOf,
  LIGHTHOUSE_ID,
  MAX_OVERLAY_ADDRS,
  MAX_RECORD_BYTES,
  RecordError,
  vpnIpOfKey,
} from '../../pkg/lighthouse/store/record.js';
import type { RemoteHost, ServedHost } from '../../pkg/lighthouse/store/store.js';
import { addrKey, udpAddr } from '../../pkg/udp/addr.js';
import { expectOnly, mutate, mutateText, runFuzz } from './helpers/fuzz.js';

const HOST: ServedHost = {
  vpnIp: parseIpv4('10.1.0.5'),
  learned: udpAddr('198.51.100.7', 4242),
  reported: [udpAddr('192.168.1.5', 4242), udpAddr('2001:db8::5', 4242)],
  relays: [parseIpv4('10.1.0.9'), parseVpnIp('fd00::9')],
  name: 'host-5.example',
};
const isRecordError = (e: unknown): boolean => e instanceof RecordError;
const text = (b: Uint8Array): string => Buffer.from(b).toString();
const bytes = (s: string): Uint8Array => Buffer.from(s);

test('a record round-trips, keyed by the overlay address text', () => {
  const key = keyOf(HOST.vpnIp);
  assert.equal(key, '10.1.0.5');
  const back = decodeRecord(key, encodeRecord(HOST, 'lh-1', 1_700_000_000_000));
  assert.equal(back.servedBy, 'lh-1');
  assert.equal(back.writtenAt, 1_700_000_000_000);
  assert.equal(back.vpnIp, HOST.vpnIp);
  assert.equal(back.learned && addrKey(back.learned), '198.51.100.7:4242');
  assert.deepEqual(back.reported.map(addrKey), HOST.reported.map(addrKey));
  assert.deepEqual(back.relays.map(formatVpnIp), ['10.1.0.9', 'fd00::9']);
  assert.equal(back.name, 'host-5.example');
});

test('a certificate name DNS could not ask for is left out by the writer, and refused from anyone else', () => {
  for (const name of ['two words', 'x'.repeat(254), 'tab\there']) {
    const back = decodeRecord('10.1.0.5', encodeRecord({ ...HOST, name }, 'lh-1', 1));
    assert.equal(back.name, undefined, JSON.stringify(name));
    const forged = { ...(JSON.parse(text(encodeRecord(HOST, 'lh-1', 1))) as object), name };
    assert.throws(() => decodeRecord('10.1.0.5', bytes(JSON.stringify(forged))), RecordError);
  }
});

test('an IPv6 overlay address is a valid KV key and comes back; the default id is a subject token', () => {
  const v6 = parseVpnIp('fd00::5');
  assert.match(keyOf(v6), /^[-/_=.a-zA-Z0-9]+$/);
  assert.equal(vpnIpOfKey(keyOf(v6)), v6);
  assert.equal(decodeRecord(keyOf(v6), encodeRecord({ ...HOST, vpnIp: v6 }, 'lh-1', 1)).vpnIp, v6);
  assert.match(defaultLighthouseId(parseIpv4('10.1.0.1')), LIGHTHOUSE_ID);
  assert.match(defaultLighthouseId(v6), LIGHTHOUSE_ID);
});

test('the schema refuses what a lighthouse never writes', () => {
  const good = JSON.parse(text(encodeRecord(HOST, 'lh-1', 1))) as Record<string, unknown>;
  const refused: Array<[string, Record<string, unknown>]> = [
    ['another version', { ...good, v: 2 }],
    ['another host than the key', { ...good, ip: '10.1.0.6' }],
    ['a host name', { ...good, learned: 'example.com:4242' }],
    ['a port out of range', { ...good, reported: ['1.2.3.4:65536'] }],
    ['an unbracketed IPv6 address', { ...good, reported: ['2001:db8::1:4242'] }],
    ['21 addresses', { ...good, reported: Array(21).fill('1.2.3.4:1') }],
    ['33 relays', { ...good, relays: Array(33).fill('10.1.0.9') }],
    ['an id with subject wildcards', { ...good, lh: 'lh.>' }],
    ['a negative time', { ...good, t: -1 }],
    ['a relay that is no address', { ...good, relays: ['relay-1'] }],
  ];
  for (const [why, value] of refused)
    assert.throws(() => decodeRecord('10.1.0.5', bytes(JSON.stringify(value))), RecordError, why);
  // A valid record padded past the bound: refused before it is parsed.
  const padded = text(encodeRecord(HOST, 'lh-1', 1)).padEnd(MAX_RECORD_BYTES + 1, ' ');
  assert.doesNotThrow(() => decodeRecord('10.1.0.5', bytes(padded.slice(0, MAX_RECORD_BYTES))));
  assert.throws(() => decodeRecord('10.1.0.5', bytes(padded)), RecordError, 'oversized');
  assert.throws(() => decodeRecord('10.1.0.5', bytes('[]')), RecordError);
  assert.throws(() => decodeRecord('not-an-ip', encodeRecord(HOST, 'lh-1', 1)), RecordError);
  // An alias of the key: it would sit in the cache where neither a lookup nor the canonical delete finds it.
  const aliased = bytes(JSON.stringify({ ...good, ip: '::ffff:10.1.0.5' }));
  for (const alias of ['__ffff_10.1.0.5', '__ffff_a01_5'])
    assert.throws(() => decodeRecord(alias, aliased), RecordError, alias);
});

test("a dual-stack host's record carries all of its overlay addresses; a single-address record stays as it was", () => {
  const dual = { ...HOST, vpnAddrs: [HOST.vpnIp, parseVpnIp('fd00::5')] };
  const back = decodeRecord('10.1.0.5', encodeRecord(dual, 'lh-1', 1));
  assert.deepEqual(back.vpnAddrs?.map(formatVpnIp), ['10.1.0.5', 'fd00::5']);
  const single = encodeRecord({ ...HOST, vpnAddrs: [HOST.vpnIp] }, 'lh-1', 1);
  assert.equal((JSON.parse(text(single)) as { ips?: unknown }).ips, undefined);
  assert.equal(decodeRecord('10.1.0.5', single).vpnAddrs, undefined);
  const good = JSON.parse(text(encodeRecord(dual, 'lh-1', 1))) as Record<string, unknown>;
  const refused: Array<[string, Record<string, unknown>]> = [
    ["ips without the record's own address", { ...good, ips: ['10.1.0.6', 'fd00::5'] }],
    ['9 ips', { ...good, ips: ['10.1.0.5', ...Array(8).fill('fd00::5')] }],
    ['ips that are no addresses', { ...good, ips: ['10.1.0.5', 'host-5'] }],
    ['ips not a list', { ...good, ips: '10.1.0.5' }],
  ];
  for (const [why, value] of refused)
    assert.throws(() => decodeRecord('10.1.0.5', bytes(JSON.stringify(value))), RecordError, why);
});

test('a host with more overlay addresses than the bound is still read back: its records and its punch requests', () => {
  // Nine networks (nothing bounds a certificate's): every record of the host decodes, its own address kept.
  const nine = [HOST.vpnIp, ...Array.from({ length: 8 }, (_, i) => parseVpnIp(`fd00::${i + 1}`))];
  assert.ok(nine.length > MAX_OVERLAY_ADDRS);
  for (const vpnIp of nine) {
    const back = decodeRecord(keyOf(vpnIp), encodeRecord({ ...HOST, vpnIp, vpnAddrs: nine }, 'lh-1', 1));
    assert.equal(back.vpnAddrs?.length, MAX_OVERLAY_ADDRS, formatVpnIp(vpnIp));
    assert.ok(back.vpnAddrs?.includes(vpnIp), `${formatVpnIp(vpnIp)} among its ips`);
    assert.deepEqual(back.vpnAddrs?.slice(0, MAX_OVERLAY_ADDRS - 1), nine.slice(0, MAX_OVERLAY_ADDRS - 1), 'in order');
  }
  const punch = decodePunch(
    encodePunch({ target: parseIpv4('10.1.0.7'), asker: HOST.vpnIp, askers: nine, askerAddrs: [] }),
  );
  assert.equal(punch.asker, HOST.vpnIp);
  assert.deepEqual(punch.askers, nine.slice(0, MAX_OVERLAY_ADDRS));
});

test('a punch request round-trips', () => {
  const back = decodePunch(
    encodePunch({
      target: HOST.vpnIp,
      asker: parseIpv4('10.1.0.7'),
      askerAddrs: [udpAddr('203.0.113.9', 4242), udpAddr('2001:db8::9', 1)],
    }),
  );
  assert.equal(formatVpnIp(back.target), '10.1.0.5');
  assert.equal(formatVpnIp(back.asker), '10.1.0.7');
  assert.deepEqual(back.askerAddrs.map(addrKey), ['203.0.113.9:4242', '[2001:db8::9]:1']);
});

function checkAccepted(h: RemoteHost | { askerAddrs: readonly { address: string; port: number }[] }): void {
  const addrs = 'askerAddrs' in h ? h.askerAddrs : [...(h.learned ? [h.learned] : []), ...h.reported];
  for (const a of addrs) {
    assert.ok(isIP(a.address) !== 0, `accepted a non-IP address ${a.address}`);
    assert.ok(Number.isInteger(a.port) && a.port >= 0 && a.port <= 65535);
  }
  if (!('askerAddrs' in h)) {
    assert.ok(h.reported.length <= 20 && h.relays.length <= 32 && (h.vpnAddrs?.length ?? 0) <= 8);
    if (h.vpnAddrs) assert.ok(h.vpnAddrs.includes(h.vpnIp), 'ips leave out the own address');
    assert.match(h.servedBy, LIGHTHOUSE_ID);
  }
}

test('fuzz: the record and punch decoders fail only with RecordError and accept only bounded, literal addresses', () => {
  const records = [
    encodeRecord(HOST, 'lh-1', 1_700_000_000_000),
    encodeRecord({ ...HOST, learned: null, reported: [], relays: [] }, 'x', 0),
    encodeRecord({ ...HOST, vpnAddrs: [HOST.vpnIp, parseVpnIp('fd00::5')] }, 'lh-2', 2),
  ];
  const punches = [encodePunch({ target: HOST.vpnIp, asker: parseIpv4('10.1.0.7'), askerAddrs: HOST.reported })];
  const stats = runFuzz(
    'lighthouse-store-record',
    { iterations: 20_000, minIterations: 1001, ms: 1500, seed: 2101 },
    (r) => {
      const asRecord = r.chance(0.7);
      const samples = asRecord ? records : punches;
      const sample = r.pick(samples);
      const input = r.chance(0.5)
        ? mutate(r, sample, samples, 4, MAX_RECORD_BYTES + 64)
        : bytes(mutateText(r, text(sample), 4, MAX_RECORD_BYTES + 64));
      const out = asRecord
        ? expectOnly(() => decodeRecord('10.1.0.5', input), isRecordError, input)
        : expectOnly(() => decodePunch(input), isRecordError, input);
      if (out.ok) checkAccepted(out.value);
    },
  );
  assert.ok(stats.iterations > 1000, `only ${stats.iterations} iterations`);
});
