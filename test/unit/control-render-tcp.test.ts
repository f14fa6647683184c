// What mesh status, ping and netcheck say about the TCP fallback (docs/tcp-fallback.md).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyNat } from '../../pkg/control/nat-verdict.js';
import type { PeerStatus, PingReply, StatusReport } from '../../pkg/control/reports.js';
import { pathLabel } from '../../pkg/control/render-ping.js';
import { renderStatus } from '../../pkg/control/render-status.js';

const PEER: PeerStatus = {
  name: 'b',
  vpnIp: '10.99.0.2',
  remote: null,
  path: 'relayed',
  via: '10.99.0.1',
  overTcp: true,
  rttMs: 1,
  handshakeAt: '2026-06-01T11:59:48Z',
  lastRecvAgoMs: 200,
  bytesIn: 1,
  bytesOut: 1,
  packetsIn: 1,
  packetsOut: 1,
  certExpiresAt: '2027-06-01T00:00:00Z',
  fingerprint: 'ab',
  initiator: true,
  localIndex: 1,
  remoteIndex: 2,
};

const STATUS: StatusReport = {
  self: {
    name: 'a',
    vpnIp: '10.99.0.3',
    vpnCidr: '10.99.0.3/24',
    listenPort: 4242,
    addresses: ['192.168.1.2:4242'],
    lighthouse: false,
    relay: false,
    certExpiresAt: '2027-06-01T00:00:00Z',
    fingerprint: 'cd',
    transport: 'tcp',
  },
  peers: [PEER, { ...PEER, name: 'c', vpnIp: '10.99.0.4', overTcp: undefined }],
  pending: [],
  lighthouses: [],
};

test('status says when UDP is blocked and which paths run over tcp', () => {
  const text = renderStatus(STATUS, Date.parse('2026-06-01T12:00:00Z'));
  assert.match(text, /^UDP blocked: lighthouses and relays reached over tcp, peers through relays$/m);
  assert.match(text, /b +10\.99\.0\.2 +relayed via 10\.99\.0\.1 over tcp/);
  assert.match(text, /c +10\.99\.0\.4 +relayed via 10\.99\.0\.1 +-/, 'a path not over tcp says nothing of it');
  assert.doesNotMatch(renderStatus({ ...STATUS, self: { ...STATUS.self, transport: 'udp' } }), /UDP blocked/);
});

test('a ping reply over tcp says so', () => {
  const reply: Pick<PingReply, 'path' | 'remote' | 'via' | 'overTcp'> = {
    path: 'relayed',
    remote: null,
    via: '10.99.0.1',
    overTcp: true,
  };
  assert.equal(pathLabel(reply), 'relayed via 10.99.0.1 over tcp');
  assert.equal(
    pathLabel({ path: 'direct', remote: '203.0.113.7', via: null, overTcp: true }),
    'direct 203.0.113.7 over tcp',
  );
  assert.equal(pathLabel({ ...reply, overTcp: undefined }), 'relayed via 10.99.0.1');
});

test('netcheck: a lighthouse reached only over tcp is no UDP answer, and the verdict says UDP is blocked', () => {
  const v = classifyNat({
    localPort: 4242,
    localIps: ['192.168.1.2'],
    observations: [
      {
        vpnIp: '10.99.0.1',
        name: 'lh',
        underlay: '198.51.100.2:4242 (tcp)',
        tunnel: true,
        rttMs: 1,
        seenAs: null,
        overTcp: true,
      },
    ],
  });
  assert.equal(v.udpWorks, false);
  assert.match(v.summary.join('\n'), /UDP blocked: no lighthouse answers over UDP\. TCP to lh works/);
});
