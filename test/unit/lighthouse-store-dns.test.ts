// serve_dns in a lighthouse tier (docs/lighthouse-tier.md): a lighthouse's DNS answers A questions for the hosts the
// other lighthouses serve, by the certificate name their records carry; certificate details (TXT) stay for the
// hosts with a tunnel here, whose certificate the lighthouse has seen itself.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { MeshConfig } from '../../pkg/config/index.js';
import type { LocalIdentity } from '../../pkg/handshake/identity.js';
import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import { formatIpv4, parseCidr, parseIpv4, type Ipv4 } from '../../pkg/ip/ipv4.js';
import { parseIpPrefix } from '../../pkg/ip/prefix.js';
import { nodeDirectory, respond, type DnsNode } from '../../pkg/lighthouse/dns-server.js';
import { DnsType, encodeQuery, parseResponse } from '../../pkg/lighthouse/dns-wire.js';
import type { RemoteHost } from '../../pkg/lighthouse/store/store.js';
import { Logger } from '../../pkg/log/logger.js';
import { Counters } from '../../pkg/metrics/counters.js';
import { unsignedCert } from './helpers/pki.js';

const LH = unsignedCert('lh1', '10.99.0.1/24');
const LOCAL = unsignedCert('local', '10.99.0.2/24');

function remote(vpnIp: string, name?: string): RemoteHost {
  return {
    vpnIp: parseIpv4(vpnIp),
    servedBy: 'lh-3',
    writtenAt: 0,
    learned: null,
    reported: [],
    relays: [],
    ...(name ? { name } : {}),
  };
}

function lighthouse(remotes: RemoteHost[]): DnsNode {
  const self = {
    cert: LH,
    vpnIp: LH.details.ips[0].ip,
    vpnNet: parseCidr('10.99.0.0/24'),
    vpnNetworks: [parseIpPrefix('10.99.0.0/24')],
  } as unknown as LocalIdentity;
  const byVpnIp = new Map<Ipv4, HostInfo>([
    [parseIpv4('10.99.0.2'), { vpnIp: parseIpv4('10.99.0.2'), certName: 'local', cert: LOCAL } as HostInfo],
  ]);
  return {
    hostmap: { byVpnIp, byPrimary: byVpnIp },
    log: new Logger('error', 'text', () => {}),
    counters: new Counters(),
    identity: () => self,
    currentConfig: () => ({}) as MeshConfig,
    lighthouseStore: {
      remoteHostsNamed: (name) => remotes.filter((r) => r.name?.toLowerCase() === name.toLowerCase()),
    },
  };
}

function ask(node: DnsNode, name: string, type: number, from = '10.99.0.77') {
  const { reply } = respond(encodeQuery(0x4242, name, type), from, nodeDirectory(node));
  return parseResponse(reply!).answers;
}

test('A questions are answered for hosts another lighthouse of the tier serves, by their certificate name', () => {
  const node = lighthouse([remote('10.99.0.33', 'far-away'), remote('10.99.0.34')]);
  assert.deepEqual(
    ask(node, 'far-away', DnsType.A).map((a) => ('address' in a ? formatIpv4(a.address as number) : a)),
    ['10.99.0.33'],
  );
  assert.deepEqual(
    ask(node, 'FAR-AWAY', DnsType.A).length,
    1,
    'names match without regard to case, as for local hosts',
  );
  assert.equal(ask(node, 'local', DnsType.A).length, 1);
  // No certificate of a remote host was seen here: no TXT for it.
  assert.equal(ask(node, '10.99.0.33', DnsType.TXT).length, 0);
  assert.equal(ask(node, '10.99.0.2', DnsType.TXT).length, 1);
});

test('a host with a tunnel here is named from its tunnel, not from the tier', () => {
  const node = lighthouse([remote('10.99.0.2', 'renamed-elsewhere')]);
  assert.equal(ask(node, 'renamed-elsewhere', DnsType.A).length, 0);
  assert.equal(ask(node, 'local', DnsType.A).length, 1);
});

test('a tier name never adds to a name the lighthouse or one of its tunnels carries (tier names are not CA-signed)', () => {
  const node = lighthouse([remote('10.99.0.40', 'local'), remote('10.99.0.41', 'LH1'), remote('10.99.0.42', 'free')]);
  assert.deepEqual(
    ask(node, 'local', DnsType.A).map((a) => ('address' in a ? formatIpv4(a.address as number) : a)),
    ['10.99.0.2'],
  );
  assert.deepEqual(
    ask(node, 'lh1', DnsType.A).map((a) => ('address' in a ? formatIpv4(a.address as number) : a)),
    ['10.99.0.1'],
  );
  assert.equal(ask(node, 'free', DnsType.A).length, 1, 'a name nobody here carries is answered from the tier');
});

test('a tier record whose address is outside our overlay networks is never served by DNS', () => {
  const node = lighthouse([remote('203.0.113.9', 'outside'), remote('10.99.0.50', 'inside')]);
  assert.equal(ask(node, 'outside', DnsType.A).length, 0);
  assert.equal(ask(node, 'inside', DnsType.A).length, 1);
});
