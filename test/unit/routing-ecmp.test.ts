// Weighted ECMP over unsafe-route gateways (Nebula 1.10+): Nebula's buckets, its port hash, spread and stability
// per flow, and the fallback to a gateway whose tunnel is up.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIpv4 } from '../../pkg/ip/ipv4.js';
import { formatVpnIp, type VpnIp } from '../../pkg/ip/vpn-ip.js';
import { balance, bucketGateways, flowPortsHash, pickGateway } from '../../pkg/routing/ecmp.js';
import { UnsafeRouteTable } from '../../pkg/routing/unsafe-routes.js';
import { ICMP, TCP, UDP, ipv4Packet } from './firewall-fixtures.js';
import { seededRandom } from './helpers/seeded-random.js';

const [GW1, GW2, GW3] = ['10.0.0.1', '10.0.0.2', '10.0.0.3'].map(parseIpv4);

/** Nebula's hashPacket written again with BigInt arithmetic mod 2^32, as an independent reference. */
function referenceHash(localPort: number, remotePort: number): number {
  const M = 0xffffffffn;
  let x = (BigInt(localPort) << 16n) | BigInt(remotePort);
  x ^= x >> 16n;
  x = (x * 0x21f0aaadn) & M;
  x ^= x >> 15n;
  x = (x * 0xd35a2d97n) & M;
  x ^= x >> 15n;
  return Number(x & 0x7fffffffn);
}

test("bucket bounds are Nebula's: 10/5 splits at INT_MAX*2/3, three equal weights at thirds, the last at INT_MAX", () => {
  assert.deepEqual(
    bucketGateways([
      { vpnIp: GW1, weight: 10 },
      { vpnIp: GW2, weight: 5 },
    ]).map((g) => g.upperBound),
    [1431655764, 2147483647],
  );
  assert.deepEqual(
    bucketGateways([GW1, GW2, GW3].map((vpnIp) => ({ vpnIp, weight: 1 }))).map((g) => g.upperBound),
    [715827882, 1431655764, 2147483647],
  );
  // The largest weights the config allows do not overflow.
  const huge = bucketGateways([
    { vpnIp: GW1, weight: 2 ** 31 - 1 },
    { vpnIp: GW2, weight: 2 ** 31 - 1 },
  ]);
  assert.deepEqual(
    huge.map((g) => g.upperBound),
    [1073741823, 2147483647],
  );
});

test('the port hash matches an independent BigInt reference on 2000 seeded port pairs', () => {
  const rnd = seededRandom(17);
  for (let i = 0; i < 2000; i++) {
    const local = Math.floor(rnd() * 65536);
    const remote = Math.floor(rnd() * 65536);
    assert.equal(flowPortsHash(local, remote), referenceHash(local, remote), `${local} ${remote}`);
  }
  assert.equal(flowPortsHash(65535, 65535), referenceHash(65535, 65535));
});

test("65535 flows spread over equal gateways within 100 flows of a third each (the bound of Nebula's own test)", () => {
  const gateways = bucketGateways([GW1, GW2, GW3].map((vpnIp) => ({ vpnIp, weight: 1 })));
  const counts = new Map<VpnIp, number>();
  for (let i = 0; i < 65535; i++) {
    const gw = balance(flowPortsHash(i, 65535 - i), gateways).vpnIp;
    counts.set(gw, (counts.get(gw) ?? 0) + 1);
  }
  for (const gw of [GW1, GW2, GW3])
    assert.ok(Math.abs((counts.get(gw) ?? 0) - 65535 / 3) <= 100, `${formatVpnIp(gw)}: ${counts.get(gw)}`);
});

test('weights 10 and 5 carry two thirds and one third of the flows, within 100', () => {
  const gateways = bucketGateways([
    { vpnIp: GW1, weight: 10 },
    { vpnIp: GW2, weight: 5 },
  ]);
  let first = 0;
  for (let i = 0; i < 65535; i++) if (balance(flowPortsHash(i, 65535 - i), gateways).vpnIp === GW1) first++;
  assert.ok(Math.abs(first - (65535 * 2) / 3) <= 100, String(first));
});

const table = new UnsafeRouteTable([
  {
    route: '192.168.87.0/24',
    via: [
      { gateway: '10.0.0.1', weight: 1 },
      { gateway: '10.0.0.2', weight: 1 },
      { gateway: '10.0.0.3', weight: 1 },
    ],
  },
  { route: '192.168.0.0/16', via: [{ gateway: '10.0.0.9', weight: 1 }] },
]);
const allUp = (): boolean => true;

test('every packet of a flow takes the same gateway, whatever its payload, and different flows use every gateway', () => {
  const dst = parseIpv4('192.168.87.5');
  const used = new Set<number>();
  for (let port = 1000; port < 1100; port++) {
    const first = table.gatewayFor(
      dst,
      ipv4Packet({ src: '10.0.0.7', dst: '192.168.87.5', proto: TCP, srcPort: port, dstPort: 443 }),
      allUp,
    );
    for (const payload of [0, 100, 1000]) {
      const again = table.gatewayFor(
        dst,
        ipv4Packet({ src: '10.0.0.7', dst: '192.168.87.5', proto: TCP, srcPort: port, dstPort: 443, payload }),
        allUp,
      );
      assert.equal(again, first);
    }
    assert.equal(
      first,
      balance(flowPortsHash(port, 443), table.gatewaysFor(dst)!).vpnIp,
      'source port is the local port',
    );
    used.add(first as number);
  }
  assert.deepEqual([...used].sort(), [GW1, GW2, GW3].sort());
  // UDP flows too; ICMP has no ports and always takes hash(0, 0)'s gateway.
  const udp = table.gatewayFor(
    dst,
    ipv4Packet({ src: '10.0.0.7', dst: '192.168.87.5', proto: UDP, srcPort: 5353, dstPort: 53 }),
    allUp,
  );
  assert.equal(udp, balance(flowPortsHash(5353, 53), table.gatewaysFor(dst)!).vpnIp);
  const icmp = table.gatewayFor(
    dst,
    ipv4Packet({ src: '10.0.0.7', dst: '192.168.87.5', proto: ICMP, icmpType: 8 }),
    allUp,
  );
  assert.equal(icmp, balance(flowPortsHash(0, 0), table.gatewaysFor(dst)!).vpnIp);
});

test('a chosen gateway without a tunnel gives way to the first other gateway with one; with none up it keeps the flow', () => {
  const gateways = table.gatewaysFor(parseIpv4('192.168.87.5'))!;
  // A flow whose own gateway is GW2.
  let hash = 0;
  for (let p = 0; balance(hash, gateways).vpnIp !== GW2; p++) hash = flowPortsHash(p, 80);
  assert.equal(pickGateway(gateways, hash, allUp), GW2);
  assert.equal(
    pickGateway(gateways, hash, (ip) => ip !== GW2),
    GW1,
    'first other in config order',
  );
  assert.equal(
    pickGateway(gateways, hash, (ip) => ip === GW3),
    GW3,
  );
  assert.equal(
    pickGateway(gateways, hash, () => false),
    GW2,
    'none up: the chosen one gets the handshake',
  );
});

test('the most specific route wins; a single gateway is used whether or not its tunnel is up; no route is null', () => {
  assert.equal(
    table.gatewayFor(parseIpv4('192.168.5.5'), undefined, () => false),
    parseIpv4('10.0.0.9'),
  );
  assert.notEqual(table.gatewayFor(parseIpv4('192.168.87.5'), undefined, allUp), parseIpv4('10.0.0.9'));
  assert.equal(table.gatewayFor(parseIpv4('172.16.0.1'), undefined, allUp), null);
});
