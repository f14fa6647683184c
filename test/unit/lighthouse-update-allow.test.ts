import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import { parseIpPrefix } from '../../pkg/ip/prefix.js';
import { parseVpnIp, type VpnIp } from '../../pkg/ip/vpn-ip.js';
import { MetaType } from '../../pkg/lighthouse/meta.js';
import { LighthouseServer } from '../../pkg/lighthouse/server.js';
import { Counters } from '../../pkg/metrics/counters.js';
import { udpAddr, type UdpAddr } from '../../pkg/udp/addr.js';
import { HostMap } from '../../pkg/hostmap/hostmap.js';

// A lighthouse keeps a host's reported underlay address only when remote_allow_list/remote_allow_ranges allow it for
// every overlay address of the host, as the handshake judges it (docs/ipv6.md, "Handshake address rules" 5).

test("a dual-stack host's update keeps only the addresses allowed for all of its overlay addresses", () => {
  const v4 = parseVpnIp('10.99.0.9');
  const host = {
    vpnIp: v4,
    vpnAddrs: [v4, 'fd00:99::9'],
    remote: udpAddr('198.51.100.9', 4242),
    certVersion: 2,
  } as unknown as HostInfo;
  // The IPv6 address's range denies 203.0.113.0/24; the IPv4 address is allowed everything.
  const allowed = (ip: VpnIp, a: UdpAddr): boolean => !(typeof ip === 'string' && a.address.startsWith('203.0.113.'));
  const server = new LighthouseServer({
    tunnelEvents: new HostMap(),
    vpnNetworks: () => [parseIpPrefix('10.99.0.1/24'), parseIpPrefix('fd00:99::1/64')],
    remoteAllowed: allowed,
    hostFor: (ip) => (host.vpnAddrs.includes(ip) ? host : undefined),
    send: () => {},
    counters: new Counters(),
  });
  const reported = [udpAddr('203.0.113.5', 4242), udpAddr('192.0.2.5', 4242)];
  server.handle(host, { type: MetaType.HostUpdateNotification, vpnIp: v4, addrs: reported, relays: [] });
  assert.deepEqual(
    server.reportedOf(v4).map((a) => a.address),
    ['192.0.2.5'],
  );
});
