import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NetcheckReport, PeerStatus, PingReply, StatusReport } from '../../pkg/control/reports.js';
import { renderNetcheck } from '../../pkg/control/render-netcheck.js';
import { renderPathChange, renderPingReply, renderPingSummary } from '../../pkg/control/render-ping.js';
import { renderStatus } from '../../pkg/control/render-status.js';
import { humanAge, humanBytes, textTable } from '../../pkg/control/text-table.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');

function peer(over: Partial<PeerStatus>): PeerStatus {
  return {
    name: 'two',
    vpnIp: '10.99.0.2',
    remote: '192.168.7.3:4242',
    path: 'direct',
    via: null,
    rttMs: 0.81,
    handshakeAt: '2026-06-01T11:59:48Z',
    lastRecvAgoMs: 200,
    bytesIn: 1536,
    bytesOut: 980,
    packetsIn: 3,
    packetsOut: 3,
    certExpiresAt: '2027-06-01T00:00:00Z',
    fingerprint: 'ab',
    initiator: true,
    localIndex: 1,
    remoteIndex: 2,
    ...over,
  };
}

const status: StatusReport = {
  self: {
    name: 'one',
    vpnIp: '10.99.0.1',
    vpnCidr: '10.99.0.1/24',
    listenPort: 4242,
    addresses: ['192.168.7.2:4242'],
    lighthouse: false,
    relay: false,
    certExpiresAt: '2026-06-11T12:00:00Z',
    fingerprint: 'cd',
  },
  peers: [
    peer({}),
    peer({ name: 'three', vpnIp: '10.99.0.3', remote: null, path: 'relayed', via: '10.99.0.9', rttMs: null }),
  ],
  pending: [{ vpnIp: '10.99.0.4', attempts: 3, ageMs: 1500 }],
  lighthouses: [
    { vpnIp: '10.99.0.9', name: 'lh', reachable: true, remote: '192.168.7.9:4242', lastRecvAgoMs: 2000 },
    { vpnIp: '10.99.0.10', name: null, reachable: false, remote: null, lastRecvAgoMs: null },
  ],
};

describe('status rendering', () => {
  const text = renderStatus(status, NOW);

  it('opens with this node: name, overlay network, listen port, addresses and certificate expiry', () => {
    const first = text.split('\n')[0];
    assert.match(first, /one \(10\.99\.0\.1\/24\)/);
    assert.match(first, /udp 4242: 192\.168\.7\.2:4242/);
    assert.match(first, /cert expires 2026-06-11 \(in 10d\)/);
  });

  it('shows each peer on one row with path, underlay, RTT, handshake age, traffic and cert expiry', () => {
    const row = text.split('\n').find((l) => l.includes('10.99.0.2')) ?? '';
    for (const cell of ['two', 'direct', '192.168.7.3:4242', '0.81ms', '12s ago', '1.5 KiB', '980 B', '2027-06-01']) {
      assert.ok(row.includes(cell), `${JSON.stringify(cell)} in ${JSON.stringify(row)}`);
    }
  });

  it('names the relay of a relayed peer and shows a missing RTT as a dash', () => {
    const row = text.split('\n').find((l) => l.includes('10.99.0.3')) ?? '';
    assert.match(row, /relayed via 10\.99\.0\.9\s+-\s+-\s/);
  });

  it('lists lighthouses with their reachability, and handshakes still in progress', () => {
    assert.match(text, /lh\s+10\.99\.0\.9\s+reachable\s+192\.168\.7\.9:4242\s+last heard 2s ago/);
    assert.match(text, /-\s+10\.99\.0\.10\s+UNREACHABLE\s+-\s+no tunnel/);
    assert.match(text, /handshaking\n.*\n\s+10\.99\.0\.4\s+3\s+2s/);
  });

  it('aligns the peer table in columns under a capitalised header', () => {
    const lines = text.split('\n');
    const header = lines.find((l) => l.includes('OVERLAY IP') && l.includes('PATH')) ?? '';
    const row = lines.find((l) => l.includes('10.99.0.2')) ?? '';
    assert.equal(row.indexOf('10.99.0.2'), header.indexOf('OVERLAY IP'));
    assert.equal(row.indexOf('direct'), header.indexOf('PATH'));
  });

  it('says so when there are no tunnels', () => {
    assert.match(renderStatus({ ...status, peers: [], pending: [] }, NOW), /peers\n {2}no tunnels\n/);
  });
});

describe('ping rendering', () => {
  const direct: PingReply = {
    vpnIp: '10.99.0.2',
    name: 'two',
    rttMs: 1.234,
    path: 'direct',
    remote: '192.168.7.3:4242',
    via: null,
  };
  const relayed: PingReply = { ...direct, rttMs: 3.5, path: 'relayed', remote: null, via: '10.99.0.9' };

  it('prints one line per reply with RTT and path', () => {
    assert.equal(
      renderPingReply(direct, 1),
      'reply from two (10.99.0.2): seq=1 rtt=1.23ms path=direct 192.168.7.3:4242\n',
    );
    assert.equal(
      renderPingReply(relayed, 2),
      'reply from two (10.99.0.2): seq=2 rtt=3.50ms path=relayed via 10.99.0.9\n',
    );
  });

  it('notes a path change, and nothing when the path stays', () => {
    assert.equal(renderPathChange(relayed, direct), 'path changed: relayed via 10.99.0.9 -> direct 192.168.7.3:4242\n');
    assert.equal(renderPathChange(direct, { ...direct, rttMs: 9 }), '');
    assert.equal(renderPathChange(null, direct), '');
  });

  it('summarises as ping(8) does: transmitted, received, loss, time, and min/avg/max/mdev RTT', () => {
    assert.equal(
      renderPingSummary('two', 4, [1, 2, 3], 3004.4),
      '--- two ping statistics ---\n4 packets transmitted, 3 received, 25% packet loss, time 3004ms\nrtt min/avg/max/mdev = 1.000/2.000/3.000/0.816 ms\n',
    );
    assert.equal(
      renderPingSummary('two', 3, [0.5], 2000),
      '--- two ping statistics ---\n3 packets transmitted, 1 received, 66.6667% packet loss, time 2000ms\nrtt min/avg/max/mdev = 0.500/0.500/0.500/0.000 ms\n',
    );
    assert.equal(
      renderPingSummary('two', 2, [], 1000),
      '--- two ping statistics ---\n2 packets transmitted, 0 received, 100% packet loss, time 1000ms\n',
    );
  });
});

describe('netcheck rendering', () => {
  it('shows what each lighthouse saw, the verdict fields and the plain-words summary', () => {
    const report: NetcheckReport = {
      localPort: 4242,
      localAddresses: ['192.168.1.2:4242'],
      lighthouses: [
        {
          vpnIp: '10.99.0.1',
          name: 'lh1',
          underlay: '198.51.100.1:4242',
          tunnel: true,
          rttMs: 1.5,
          seenAs: '203.0.113.5:4242',
        },
        { vpnIp: '10.99.0.2', name: null, underlay: null, tunnel: false, rttMs: null, seenAs: null },
      ],
      verdict: {
        udpWorks: true,
        behindNat: true,
        mapping: 'unknown',
        portPreserving: true,
        publicAddresses: ['203.0.113.5:4242'],
        summary: ['UDP works: at least one lighthouse answered.'],
      },
    };
    const text = renderNetcheck(report);
    assert.match(text, /lh1\s+10\.99\.0\.1\s+198\.51\.100\.1:4242\s+up\s+1\.50ms\s+203\.0\.113\.5:4242/);
    assert.match(text, /-\s+10\.99\.0\.2\s+-\s+DOWN/);
    assert.match(text, /behind nat: +yes\n/);
    assert.match(text, /mapping: +unknown\n/);
    assert.match(text, /public addresses: 203\.0\.113\.5:4242\n/);
    assert.match(text, /\nUDP works: at least one lighthouse answered\.\n$/);
  });
});

describe('text helpers', () => {
  it('pads every column but the last', () => {
    assert.equal(
      textTable(
        ['a', 'bb'],
        [
          ['xxx', 'y'],
          ['z', 'wwww'],
        ],
      ),
      'A    BB\nxxx  y\nz    wwww\n',
    );
  });

  it('writes sizes in binary units and ages in the largest sensible unit', () => {
    assert.equal(humanBytes(0), '0 B');
    assert.equal(humanBytes(1536), '1.5 KiB');
    assert.equal(humanBytes(5 * 1024 * 1024), '5.0 MiB');
    assert.equal(humanAge(850), '850ms');
    assert.equal(humanAge(12_000), '12s');
    assert.equal(humanAge(5 * 60_000), '5m');
    assert.equal(humanAge(3 * 3_600_000), '3h');
    assert.equal(humanAge(3 * 86_400_000), '3d');
  });
});
