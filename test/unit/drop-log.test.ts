import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import { DROP_LOG_LIMIT } from '../../pkg/datapath/drop-log.js';
import { Logger } from '../../pkg/log/logger.js';
import { ALLOW_ALL_FIREWALL, connect, TestMesh } from './helpers/mesh.js';
import { udpPacket } from './helpers/packets.js';
import { sleep, waitFor } from './helpers/wait.js';

// Refused packets are counted and, at debug level, logged with the reason like Nebula's "dropping outbound packet" /
// "dropping inbound packet", at most DROP_LOG_LIMIT.burst lines per window and direction.

const A = '10.99.0.1';
const B = '10.99.0.2';
/** a may send to b's ports 9000 and 8000; b takes only 9000 in. */
const A_OUT = {
  outbound: [
    { port: 9000, proto: 'udp', host: 'any' },
    { port: 8000, proto: 'udp', host: 'any' },
  ],
  inbound: [{ port: 'any', proto: 'any', host: 'any' }],
};
const B_IN = {
  outbound: [{ port: 'any', proto: 'any', host: 'any' }],
  inbound: [{ port: 9000, proto: 'udp', host: 'any' }],
};

async function pair(t: { after(fn: () => unknown): void }, level: 'debug' | 'info') {
  const clock = new ManualClock(1_000_000);
  const mesh = new TestMesh(t);
  const a = await mesh.node({ vpnIp: A, name: 'a', peers: [B], clock, logLevel: level, config: { firewall: A_OUT } });
  const b = await mesh.node({ vpnIp: B, name: 'b', peers: [A], clock, logLevel: level, config: { firewall: B_IN } });
  await connect(a, b);
  return { clock, a, b };
}

const dropLines = (logs: string[], direction: string) =>
  logs.filter((l) => l.includes(`msg="dropping ${direction} packet"`));

test('a packet with no route is logged at debug with reason=no-route and its addresses', async (t) => {
  const { a } = await pair(t, 'debug');
  a.tun.inject(udpPacket({ src: A, dst: '192.0.2.5', srcPort: 40001, dstPort: 53 }));
  const [line] = dropLines(a.logs, 'outbound');
  assert.ok(line, a.logs.join('\n'));
  assert.match(line, /reason=no-route/);
  assert.match(
    line,
    /localIp=10\.99\.0\.1 remoteIp=192\.0\.2\.5 localPort=40001 remotePort=53 protocol=17 fragment=false/,
  );
  assert.doesNotMatch(line, /vpnIp=/, 'no peer was chosen');
  assert.equal(a.node.counters.get('drops', 'inside-no-route'), 1);
});

test('outbound and inbound firewall refusals are logged with the peer and the firewall reason', async (t) => {
  const { a, b } = await pair(t, 'debug');
  a.tun.inject(udpPacket({ src: A, dst: B, dstPort: 9999 }));
  const [out] = dropLines(a.logs, 'outbound');
  assert.ok(out, a.logs.join('\n'));
  assert.match(out, /vpnIp=10\.99\.0\.2 reason=no-rule .*remotePort=9999/);
  a.tun.inject(udpPacket({ src: A, dst: B, srcPort: 40002, dstPort: 8000 }));
  await waitFor(() => dropLines(b.logs, 'inbound').length > 0, {
    what: () => `b's inbound drop line\n${b.logs.join('\n')}`,
  });
  const [inbound] = dropLines(b.logs, 'inbound');
  assert.match(
    inbound,
    /vpnIp=10\.99\.0\.1 reason=no-rule localIp=10\.99\.0\.2 remoteIp=10\.99\.0\.1 localPort=8000 remotePort=40002/,
  );
  assert.equal(b.node.counters.get('drops', 'firewall-in-no-rule'), 1);
});

test('drop lines are rate-limited per direction; the next window says how many were left out', async (t) => {
  const { clock, a } = await pair(t, 'debug');
  const flood = 100;
  for (let i = 0; i < flood; i++) a.tun.inject(udpPacket({ src: A, dst: '192.0.2.5' }));
  assert.equal(dropLines(a.logs, 'outbound').length, DROP_LOG_LIMIT.burst);
  assert.equal(a.node.counters.get('drops', 'inside-no-route'), flood, 'every drop is still counted');
  clock.advance(DROP_LOG_LIMIT.windowMs);
  a.tun.inject(udpPacket({ src: A, dst: '192.0.2.5' }));
  const lines = dropLines(a.logs, 'outbound');
  assert.equal(lines.length, DROP_LOG_LIMIT.burst + 1);
  assert.match(lines.at(-1)!, new RegExp(`suppressed=${flood - DROP_LOG_LIMIT.burst}`));
});

test('with debug off nothing is logged for drops', async (t) => {
  const { a, b } = await pair(t, 'info');
  a.tun.inject(udpPacket({ src: A, dst: '192.0.2.5' }));
  a.tun.inject(udpPacket({ src: A, dst: B, dstPort: 9999 }));
  a.tun.inject(udpPacket({ src: A, dst: B, dstPort: 8000 }));
  await sleep(20);
  assert.equal(b.node.counters.get('drops', 'firewall-in-no-rule'), 1);
  assert.equal(dropLines(a.logs, 'outbound').length + dropLines(b.logs, 'inbound').length, 0);
});

test('nodes that share one Logger keep their own drop-line budgets', async (t) => {
  const clock = new ManualClock(1_000_000);
  const mesh = new TestMesh(t, { clock });
  const lines: string[] = [];
  const log = new Logger('debug', 'text', (line) => lines.push(line), true);
  const firewall = ALLOW_ALL_FIREWALL;
  const a = await mesh.node({ vpnIp: A, name: 'a', peers: [B], log, config: { firewall } });
  const b = await mesh.node({ vpnIp: B, name: 'b', peers: [A], log, config: { firewall } });
  const flood = 3 * DROP_LOG_LIMIT.burst;
  for (let i = 0; i < flood; i++) a.tun.inject(udpPacket({ src: A, dst: '192.0.2.5' }));
  for (let i = 0; i < flood; i++) b.tun.inject(udpPacket({ src: B, dst: '192.0.2.6' }));
  const fromA = dropLines(lines, 'outbound').filter((l) => l.includes('remoteIp=192.0.2.5'));
  const fromB = dropLines(lines, 'outbound').filter((l) => l.includes('remoteIp=192.0.2.6'));
  assert.equal(fromA.length, DROP_LOG_LIMIT.burst, "a's budget");
  assert.equal(fromB.length, DROP_LOG_LIMIT.burst, "b's budget: a's flood did not spend it");
});
