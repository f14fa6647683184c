// bench/first-contact.ts reads the first contact's start, end and the registration from tool and daemon output
// (review R2 LOW-9): these are the lines it must read, and the near misses it must not.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseCaptureTime, parseFirstReply, tunnelUpPattern } from '../../bench/first-contact.js';

const NEBULA_STAGE2 =
  'time="2026-12-06T15:00:24Z" level=info msg="Handshake message received" certName=lh durationNs=1685417 ' +
  'handshake="map[stage:2 style:ix_psk0]" initiatorIndex=3267013314 remoteIndex=3267013314 responderIndex=550219698 ' +
  'sentCachedPackets=1 udpAddr="198.18.0.1:4242" vpnIp=10.99.0.1';
const MESH_INITIATOR =
  'time="2026-12-06T08:51:19.287Z" level=info msg="Handshake completed (initiator)" vpnIp=10.99.0.1 certName=lh ' +
  'certVersion=1 udpAddr=198.51.100.2:4242 localIndex=1356891406 remoteIndex=705149942 attempts=1 durationMs=24';

test('the tunnel to the lighthouse is up: nebula 1.6.1 stage 2 and mesh initiator lines, that peer only', () => {
  const up = tunnelUpPattern('10.99.0.1');
  assert.match(NEBULA_STAGE2, up);
  assert.match(MESH_INITIATOR, up);
  assert.doesNotMatch(MESH_INITIATOR.replace('vpnIp=10.99.0.1', 'vpnIp=10.99.0.10'), up);
  assert.doesNotMatch(MESH_INITIATOR.replace('vpnIp=10.99.0.1', 'vpnIp=10.99.0.1.5'), up);
  assert.doesNotMatch(NEBULA_STAGE2.replace('vpnIp=10.99.0.1', 'vpnIp=10.99.0.3'), up);
  assert.doesNotMatch(MESH_INITIATOR.replace('vpnIp=10.99.0.1', 'vpnIp=10x99x0x1'), up);
  assert.doesNotMatch('level=info msg="Handshake message sent" vpnIp=10.99.0.1', up);
  // The two lines on one line of log only: a match never spans lines.
  assert.doesNotMatch('msg="Handshake completed (initiator)" vpnIp=10.99.0.3\nvpnIp=10.99.0.1', up);
});

test('the first echo request is timed from the capture, the reply from ping -D', () => {
  const capture =
    'tcpdump: verbose output suppressed\nlistening on bencha, link-type RAW (Raw IP), snapshot length 262144 bytes\n' +
    '1765033224.123456 IP 10.99.0.2 > 10.99.0.3: ICMP echo request, id 7, seq 1, length 64\n1 packet captured\n';
  assert.equal(parseCaptureTime(capture), 1765033224.123456);
  assert.equal(parseCaptureTime('listening on bencha, link-type RAW\n0 packets captured\n'), null);
  const ping =
    'PING 10.99.0.3 (10.99.0.3) 56(84) bytes of data.\n' +
    '[1765033224.131002] 64 bytes from 10.99.0.3: icmp_seq=3 ttl=64 time=3.41 ms\n\n--- 10.99.0.3 ping statistics ---\n';
  assert.deepEqual(parseFirstReply(ping), { at: 1765033224.131002, seq: 3, rttMs: 3.41 });
  // Without -D's timestamp there is no receive time to use.
  assert.equal(parseFirstReply('64 bytes from 10.99.0.3: icmp_seq=1 ttl=64 time=3.41 ms\n'), null);
  assert.equal(parseFirstReply('From 10.99.0.2 icmp_seq=1 Destination Host Unreachable\n'), null);
});
