import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { PeerStatus, StatusReport } from '../../pkg/control/reports.js';
import { Lab } from './lab/lab.js';
import type { Host } from './lab/lab.js';
import { MESH_MAIN, meshImpl } from './lab/mesh-impl.js';
import { OverlayNet } from './lab/nebula.js';
import type { OverlayNode } from './lab/nebula.js';
import { waitFor } from './lab/wait.js';
import { reaches } from './lab/reach.js';

// The operator's view of a running mesh: `mesh status`, `mesh ping`, `mesh print-cert`, `mesh close-tunnel` and
// the Prometheus endpoint, each run the way a person would, in the node's namespace against its control socket.

async function mesh(lab: Lab, node: OverlayNode, ...args: string[]) {
  const [command, ...rest] = args;
  return lab.exec(node.host, process.execPath, [MESH_MAIN, command, '-config', node.configPath, ...rest], {
    check: false,
    timeoutMs: 20_000,
  });
}

async function status(lab: Lab, node: OverlayNode): Promise<StatusReport> {
  const r = await mesh(lab, node, 'status', '-json');
  assert.equal(r.exitCode, 0, r.stderr);
  return JSON.parse(r.stdout) as StatusReport;
}

async function scrape(lab: Lab, host: Host, port: number): Promise<Map<string, number>> {
  const r = await lab.exec(host, 'curl', ['-sf', `http://127.0.0.1:${port}/metrics`]);
  const values = new Map<string, number>();
  for (const line of r.stdout.split('\n')) {
    const m = /^(\S+) (\S+)$/.exec(line);
    if (m && !line.startsWith('#')) values.set(m[1], Number(m[2]));
  }
  return values;
}

async function meshTrio(t: { after(fn: () => unknown): void }) {
  const lab = await Lab.create(t);
  const [hl, h1, h2] = await lab.flat(3);
  const net = await OverlayNet.create(lab);
  const stats = { stats: { type: 'prometheus', listen: '127.0.0.1:9161', path: '/metrics', interval: '1s' } };
  const lh = await net.start(hl!, { name: 'lh', lighthouse: true, impl: meshImpl, tunDisabled: true });
  const one = await net.start(h1!, { name: 'one', impl: meshImpl, config: stats });
  const two = await net.start(h2!, { name: 'two', impl: meshImpl });
  for (const n of [one, two]) await n.waitForLog(/Control socket listening/, 5000);
  return { lab, h1: h1!, h2: h2!, lh, one, two };
}

test('status shows each peer with its direct path, underlay address, RTT and traffic, and the lighthouse as reachable', async (t) => {
  const { lab, h1, h2, lh, one, two } = await meshTrio(t);
  await reaches(lab, h1, two);
  const report = await status(lab, one);
  assert.equal(report.self.name, 'one');
  assert.equal(report.self.vpnIp, one.vpnIp);
  assert.ok(report.self.addresses.includes(`${h1.ip}:4242`), JSON.stringify(report.self));
  const peer = report.peers.find((p) => p.name === 'two') as PeerStatus;
  assert.ok(peer, JSON.stringify(report.peers));
  assert.equal(peer.vpnIp, two.vpnIp);
  assert.equal(peer.path, 'direct');
  assert.equal(peer.remote, `${h2.ip}:4242`);
  assert.equal(typeof peer.rttMs, 'number', 'status measured an RTT');
  assert.ok(peer.bytesIn > 0 && peer.bytesOut > 0);
  assert.ok(Date.parse(peer.certExpiresAt) > Date.now());
  assert.deepEqual(
    report.lighthouses.map((l) => [l.vpnIp, l.name, l.reachable]),
    [[lh.vpnIp, 'lh', true]],
  );

  const text = await mesh(lab, one, 'status');
  assert.equal(text.exitCode, 0, text.stderr);
  assert.match(
    text.stdout,
    new RegExp(
      `two\\s+${two.vpnIp.replace(/\./g, '\\.')}\\s+direct\\s+${h2.ip.replace(/\./g, '\\.')}:4242\\s+[\\d.]+ms`,
    ),
  );
  for (const line of text.stdout.trimEnd().split('\n')) t.diagnostic(line);
});

test("ping takes ping(8)'s -c/-i/-W either side of HOST, prints an RTT and the direct path for every reply, and exits as ping(8) does", async (t) => {
  const { lab, h2, one, two } = await meshTrio(t);
  // No tunnel yet: ping makes one through the lighthouse. Flags before HOST, ping(8)'s units (seconds).
  const cold = await mesh(lab, one, 'ping', '-c', '3', '-i', '0.2', '-W', '5', two.vpnIp);
  assert.equal(cold.exitCode, 0, `${cold.stdout}${cold.stderr}\n${lab.logTails()}`);
  const first = /seq=1 rtt=([\d.]+)ms path=(\S+)/.exec(cold.stdout);
  t.diagnostic(`cold tunnel: first reply ${first?.[1]} ms (tunnel set-up excluded), path ${first?.[2]}`);
  // Flags after HOST, by certificate name.
  const byName = await mesh(lab, one, 'ping', 'two', '-c', '3', '-i', '0.1');
  assert.equal(byName.exitCode, 0, byName.stderr);
  const replies = byName.stdout.split('\n').filter((l) => l.startsWith('reply from'));
  assert.equal(replies.length, 3, byName.stdout);
  for (const line of replies) {
    assert.match(
      line,
      new RegExp(
        `^reply from two \\(${two.vpnIp.replace(/\./g, '\\.')}\\): seq=\\d rtt=[\\d.]+ms path=direct ${h2.ip.replace(/\./g, '\\.')}:4242$`,
      ),
    );
  }
  assert.match(
    byName.stdout,
    new RegExp(
      `--- two \\(${two.vpnIp.replace(/\./g, '\\.')}\\) ping statistics ---\n3 packets transmitted, 3 received, 0% packet loss, time \\d+ms\nrtt min/avg/max/mdev = [\\d.]+/[\\d.]+/[\\d.]+/[\\d.]+ ms\n$`,
    ),
  );
  for (const line of byName.stdout.trimEnd().split('\n')) t.diagnostic(line);
  // An overlay address nobody holds: no reply, exit 1; a name nobody holds: an error, exit 2.
  const nobody = two.vpnIp.replace(/\d+$/, '250');
  const silent = await mesh(lab, one, 'ping', '-c', '1', '-W', '0.5', nobody);
  assert.equal(silent.exitCode, 1, `${silent.stdout}${silent.stderr}`);
  assert.match(silent.stdout, /1 packets transmitted, 0 received, 100% packet loss/);
  const unknown = await mesh(lab, one, 'ping', '-c', '1', 'nobody');
  assert.equal(unknown.exitCode, 2, `${unknown.stdout}${unknown.stderr}`);
  // Ctrl-C ends a long run with the summary and ping(8)'s status.
  const long = await lab.spawn(one.host, process.execPath, [
    MESH_MAIN,
    'ping',
    '-config',
    one.configPath,
    'two',
    '-c',
    '1000',
    '-i',
    '0.05',
  ]);
  await long.waitForLog(/seq=3 /, 10_000);
  long.signal('SIGINT');
  // The lab does not keep the event loop alive for its children: poll rather than await the exit alone.
  let exit: Awaited<typeof long.exited> | null = null;
  void long.exited.then((e) => (exit = e));
  const ended = await waitFor(() => exit, { timeoutMs: 5000, what: 'mesh ping ends at SIGINT' });
  assert.equal(ended.exitCode, 0, long.log());
  assert.match(long.log(), /\n\d+ packets transmitted, \d+ received, [\d.]+% packet loss, time \d+ms\nrtt min/);
});

test("print-cert shows our own and a peer's certificate, and close-tunnel tears the tunnel down until traffic needs it", async (t) => {
  const { lab, h1, one, two } = await meshTrio(t);
  await reaches(lab, h1, two);
  const own = await mesh(lab, one, 'print-cert', '-json');
  assert.equal(own.exitCode, 0, own.stderr);
  assert.equal((JSON.parse(own.stdout) as { details: { name: string } }).details.name, 'one');
  const peer = await mesh(lab, one, 'print-cert', 'two');
  assert.match(peer.stdout, /Name: two/);

  const closed = await mesh(lab, one, 'close-tunnel', 'two');
  assert.equal(closed.exitCode, 0, closed.stderr);
  assert.equal(closed.stdout, `closed the tunnel to two (${two.vpnIp})\n`);
  assert.equal(
    (await status(lab, one)).peers.some((p) => p.name === 'two'),
    false,
  );
  // The peer was told, so it forgot the tunnel too.
  await waitFor(async () => ((await status(lab, two)).peers.some((p) => p.name === 'one') ? null : true), {
    timeoutMs: 5000,
    what: 'two forgets the tunnel',
  });
  const again = await mesh(lab, one, 'close-tunnel', 'two');
  assert.equal(again.exitCode, 1);
  assert.match(again.stderr, /no tunnel to a host named "two"/);
  await reaches(lab, h1, two);
});

test('the metrics endpoint serves counters that move when traffic flows', async (t) => {
  const { lab, h1, two } = await meshTrio(t);
  await reaches(lab, h1, two);
  const before = await scrape(lab, h1, 9161);
  assert.ok((before.get('mesh_handshakes_total{result="ok"}') ?? 0) >= 2, 'handshakes with the lighthouse and two');
  assert.equal(before.get('mesh_tunnels{path="direct"}'), 2);
  assert.equal(before.get('mesh_tunnels{path="relayed"}'), 0);
  assert.ok(before.has('mesh_packets_total{direction="in"}'));
  const pings = await lab.ping(h1, two.vpnIp, { count: 10, timeoutSec: 5, intervalSec: 0.05 });
  assert.equal(pings.rttMs.length, 10);
  const after = await scrape(lab, h1, 9161);
  for (const key of ['mesh_packets_total{direction="in"}', 'mesh_packets_total{direction="out"}']) {
    assert.ok((after.get(key) ?? 0) >= (before.get(key) ?? 0) + 10, `${key}: ${before.get(key)} -> ${after.get(key)}`);
  }
  const bytesKey = 'mesh_bytes_total{direction="out"}';
  assert.ok(
    (after.get(bytesKey) ?? 0) >= (before.get(bytesKey) ?? 0) + 10 * 84,
    `${bytesKey}: ${before.get(bytesKey)} -> ${after.get(bytesKey)}`,
  );
  assert.ok(
    (after.get('mesh_lighthouse_messages_total{event="query-sent"}') ?? 0) >= 1,
    'one asked the lighthouse where two is',
  );
});

test('status and ping show a relayed path and the relay it goes through', async (t) => {
  const lab = await Lab.create(t);
  const [hr, h1, h2] = await lab.flat(3);
  const net = await OverlayNet.create(lab);
  // The ends may only use the relay's underlay address, so the relay is the only path.
  const onlyRelay = { lighthouse: { remote_allow_list: { [`${hr!.ip}/32`]: true } } };
  const relay = await net.start(hr!, {
    name: 'relay',
    lighthouse: true,
    relay: true,
    impl: meshImpl,
    tunDisabled: true,
  });
  const one = await net.start(h1!, { name: 'one', impl: meshImpl, config: onlyRelay });
  const two = await net.start(h2!, { name: 'two', impl: meshImpl, config: onlyRelay });
  for (const n of [one, two]) await n.waitForLog(/Control socket listening/, 5000);
  await reaches(lab, h1!, two);
  const peer = (await status(lab, one)).peers.find((p) => p.name === 'two') as PeerStatus;
  assert.equal(peer.path, 'relayed', JSON.stringify(peer));
  assert.equal(peer.via, relay.vpnIp);
  const ping = await mesh(lab, one, 'ping', 'two', '-count', '2');
  assert.equal(ping.exitCode, 0, ping.stderr);
  assert.match(ping.stdout, new RegExp(`path=relayed via ${relay.vpnIp.replace(/\./g, '\\.')}`));
});
