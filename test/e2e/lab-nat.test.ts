import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';

import { formatCidr, netContains, networkOf, parseCidr, parseIpv4 } from '../../pkg/ip/ipv4.js';
import type { Ipv4Net } from '../../pkg/ip/ipv4.js';
import { LAB_RANGES } from './lab/addressing.js';
import { execIn } from './lab/exec.js';
import { Lab } from './lab/lab.js';
import { startUdpEcho, udpProbe } from './lab/udp-probe.js';

// The namespace lab itself: NAT routers behave as their kind says, and the lab stays inside its namespaces.

const ECHO_PORT = 7000;

/** Every IPv4 prefix on an interface or in a (non-default) route of the root namespace. */
async function rootPrefixes(): Promise<Ipv4Net[]> {
  const addrs = (await execIn(null, 'ip', ['-4', '-o', 'addr'])).stdout;
  const routes = (await execIn(null, 'ip', ['-4', 'route', 'show', 'table', 'all'])).stdout;
  const found = [...addrs.matchAll(/inet (\d+\.\d+\.\d+\.\d+\/\d+)/g)].map((m) => m[1] as string);
  for (const line of routes.split('\n')) {
    const dest = line.split(' ').find((word) => /^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(word));
    if (dest !== undefined) found.push(dest.includes('/') ? dest : `${dest}/32`);
  }
  return found.map((c) => networkOf(parseCidr(c)));
}

function portOf(endpoint: string | null): number {
  assert.ok(endpoint !== null, 'probe got no reply');
  return Number(endpoint.split(':')[1]);
}

function ipOf(endpoint: string | null): string {
  assert.ok(endpoint !== null, 'probe got no reply');
  return endpoint.split(':')[0] as string;
}

test('hosts behind masquerading routers reach public hosts, which see the router WAN address and the kept source port', async (t) => {
  const lab = await Lab.create(t);
  const srv1 = await lab.publicHost('srv1');
  const srv2 = await lab.publicHost('srv2');
  const r1 = await lab.natRouter('masq');
  const r2 = await lab.natRouter('masq');
  const a = await lab.hostBehind(r1, 'a');
  const b = await lab.hostBehind(r2, 'b');
  await startUdpEcho(lab, srv1, ECHO_PORT);
  await startUdpEcho(lab, srv2, ECHO_PORT);

  for (const [host, router] of [
    [a, r1],
    [b, r2],
  ] as const) {
    const result = await udpProbe(lab, host, [`${srv1.ip}:${ECHO_PORT}`, `${srv2.ip}:${ECHO_PORT}`], {
      localPort: 40000,
    });
    for (const reply of result.replies) {
      assert.equal(reply.seenFrom, `${router.wanIp}:40000`, `${host.name} -> ${reply.target}`);
    }
    assert.notEqual(host.ip, router.wanIp);
  }
});

test('a random (symmetric) router gives each destination its own source port', async (t) => {
  const lab = await Lab.create(t);
  const srv1 = await lab.publicHost('srv1');
  const srv2 = await lab.publicHost('srv2');
  const router = await lab.natRouter('random');
  const host = await lab.hostBehind(router, 'a');
  await startUdpEcho(lab, srv1, ECHO_PORT);
  await startUdpEcho(lab, srv1, ECHO_PORT + 1);
  await startUdpEcho(lab, srv2, ECHO_PORT);

  const targets = [`${srv1.ip}:${ECHO_PORT}`, `${srv1.ip}:${ECHO_PORT + 1}`, `${srv2.ip}:${ECHO_PORT}`];
  const result = await udpProbe(lab, host, targets, { localPort: 40000 });

  for (const reply of result.replies) assert.equal(ipOf(reply.seenFrom), router.wanIp);
  const ports = new Set(result.replies.map((r) => portOf(r.seenFrom)));
  // Three independent random picks from ~64k ports: all equal only by a one-in-billions chance.
  assert.ok(ports.size >= 2, `expected different mapped ports, saw ${[...ports].join(', ')}`);
});

test('a router of kind none forwards without translating', async (t) => {
  const lab = await Lab.create(t);
  const srv = await lab.publicHost('srv');
  const router = await lab.natRouter('none');
  const host = await lab.hostBehind(router, 'a');
  await startUdpEcho(lab, srv, ECHO_PORT);

  const result = await udpProbe(lab, host, [`${srv.ip}:${ECHO_PORT}`], { localPort: 40000 });

  assert.equal(result.replies[0]?.seenFrom, `${host.ip}:40000`);
});

test('a datagram sent with TTL 2 opens its own NAT mapping but dies in the internet before the far side', async (t) => {
  const lab = await Lab.create(t);
  const srv = await lab.publicHost('srv');
  const router = await lab.natRouter('masq');
  const host = await lab.hostBehind(router, 'a');
  await startUdpEcho(lab, srv, ECHO_PORT);
  const arrived = await lab.trafficCounter(srv, { hook: 'input', proto: 'udp', dport: ECHO_PORT });

  const result = await udpProbe(lab, host, [`${srv.ip}:${ECHO_PORT}`], { localPort: 40000, ttl: 2, timeoutMs: 600 });

  assert.equal(result.replies[0]?.seenFrom, null);
  assert.equal((await arrived.read()).packets, 0);
  const table = await lab.conntrack(router);
  assert.match(
    table,
    new RegExp(
      `udp .*src=${host.ip.replace(/\./g, '\\.')} dst=${srv.ip.replace(/\./g, '\\.')} sport=40000 dport=${ECHO_PORT} \\[UNREPLIED\\]`,
    ),
  );
});

test("a host moved behind another router is seen from that router's WAN address", async (t) => {
  const lab = await Lab.create(t);
  const srv = await lab.publicHost('srv');
  const r1 = await lab.natRouter('masq');
  const r2 = await lab.natRouter('masq');
  const host = await lab.hostBehind(r1, 'a');
  await startUdpEcho(lab, srv, ECHO_PORT);
  const before = await udpProbe(lab, host, [`${srv.ip}:${ECHO_PORT}`]);

  await lab.moveBehind(host, r2);
  const after = await udpProbe(lab, host, [`${srv.ip}:${ECHO_PORT}`]);

  assert.equal(ipOf(before.replies[0]?.seenFrom ?? null), r1.wanIp);
  assert.equal(ipOf(after.replies[0]?.seenFrom ?? null), r2.wanIp);
  assert.ok(host.ip.startsWith('192.168.2.'), host.ip);
});

test('router conntrack timeouts are set inside the router namespace only', async (t) => {
  const rootBefore = (await execIn(null, 'sysctl', ['-n', 'net.netfilter.nf_conntrack_udp_timeout'])).stdout.trim();
  const lab = await Lab.create(t);
  const router = await lab.natRouter('masq', { udpTimeoutSec: 7, udpStreamTimeoutSec: 11 });

  const read = async (key: string) => (await lab.exec(router, 'sysctl', ['-n', key])).stdout.trim();
  assert.equal(await read('net.netfilter.nf_conntrack_udp_timeout'), '7');
  assert.equal(await read('net.netfilter.nf_conntrack_udp_timeout_stream'), '11');
  await lab.setUdpTimeouts(router, { udpTimeoutSec: 9 });
  assert.equal(await read('net.netfilter.nf_conntrack_udp_timeout'), '9');
  const rootAfter = (await execIn(null, 'sysctl', ['-n', 'net.netfilter.nf_conntrack_udp_timeout'])).stdout.trim();
  assert.equal(rootAfter, rootBefore);
});

test('the lab lives only inside its own namespaces and destroy leaves nothing behind', async () => {
  const lab = await Lab.create();
  let destroyed = false;
  try {
    const srv = await lab.publicHost('srv');
    const router = await lab.natRouter('masq');
    const host = await lab.hostBehind(router, 'a');
    const [f1] = await lab.flat(2);
    const echo = await startUdpEcho(lab, srv, ECHO_PORT);
    assert.ok((await udpProbe(lab, host, [`${srv.ip}:${ECHO_PORT}`])).replies[0]?.seenFrom);

    // Every veth has its far end in another namespace of this lab, never in the root namespace…
    for (const h of lab.allHosts()) {
      assert.ok(h.ns.startsWith(`${lab.prefix}-`));
      for (const line of (await lab.exec(h, 'ip', ['-o', 'link'])).stdout.split('\n').filter((l) => l.includes('@'))) {
        assert.ok(line.includes(`link-netns ${lab.prefix}-`), `${h.name}: ${line}`);
      }
    }
    // …and no lab address range overlaps an address or route of the root namespace.
    const labRanges = LAB_RANGES.map((r) => parseCidr(r));
    for (const ip of [srv.ip, router.wanIp, router.lanIp, host.ip, f1?.ip ?? '']) {
      assert.ok(
        labRanges.some((r) => netContains(r, parseIpv4(ip))),
        `${ip} is outside the lab ranges`,
      );
    }
    for (const cidr of await rootPrefixes()) {
      const overlaps = labRanges.some((r) => netContains(r, cidr.ip) || netContains(cidr, r.ip));
      assert.ok(!overlaps, `root namespace has ${formatCidr(cidr)}, which overlaps the lab ranges`);
    }
    // Inside, the internet knows only the lab's links: there is no way out.
    const inet = await lab.internet();
    const out = await lab.exec(inet, 'ip', ['route', 'get', '9.9.9.9'], { check: false });
    assert.notEqual(out.exitCode, 0, out.stdout);
    assert.match((await lab.exec(host, 'ip', ['route'])).stdout, /^default via 192\.168\.1\.1 dev eth0/m);

    await lab.destroy();
    destroyed = true;
    const namespaces = (await execIn(null, 'ip', ['netns', 'list'])).stdout;
    assert.ok(!namespaces.includes(lab.prefix), namespaces);
    assert.equal(existsSync(lab.tmpdir), process.env.MESH_LAB_KEEP === '1');
    assert.equal(echo.running, false);
    assert.throws(() => process.kill(echo.pid, 0));
  } finally {
    if (!destroyed) await lab.destroy();
  }
});
