import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Lab } from './lab/lab.js';
import { meshImpl } from './lab/mesh-impl.js';
import { OverlayNet } from './lab/nebula.js';
import { readUdpDatagrams } from './lab/pcap.js';
import { startTcpdump } from './lab/tcpdump.js';
import { sleep, waitFor } from './lab/wait.js';

// NAT mappings that time out, and packets replayed from somewhere else.

test('two mesh hosts behind NATs that forget idle flows after 30 s still talk at once after 2 minutes idle', async (t) => {
  const lab = await Lab.create(t);
  const lhHost = await lab.publicHost('lh');
  const r1 = await lab.natRouter('masq', { udpTimeoutSec: 30, udpStreamTimeoutSec: 30 });
  const r2 = await lab.natRouter('masq', { udpTimeoutSec: 30, udpStreamTimeoutSec: 30 });
  const a = await lab.hostBehind(r1, 'a');
  const b = await lab.hostBehind(r2, 'b');
  const net = await OverlayNet.create(lab);
  await net.start(lhHost, { name: 'lh', lighthouse: true, relay: true, impl: meshImpl, tunDisabled: true });
  const punchy = { punch: true, respond: true };
  const na = await net.start(a, { name: 'a', impl: meshImpl, punchy });
  const nb = await net.start(b, { name: 'b', impl: meshImpl, punchy });
  await waitFor(async () => ((await lab.ping(a, nb.vpnIp, { count: 1, timeoutSec: 1 })).ok ? true : null), {
    timeoutMs: 15_000,
    intervalMs: 0,
    what: 'initial tunnel',
  });
  const handshakesBefore =
    (na.log().match(/Handshake completed/g) ?? []).length + (nb.log().match(/Handshake completed/g) ?? []).length;
  await sleep(120_000);
  // The side that did not start the tunnel speaks first, so only a kept-open mapping lets it through.
  const after = await lab.ping(b, na.vpnIp, { count: 1, timeoutSec: 1 });
  assert.ok(after.ok, `first packet after 2 minutes idle got through\n${lab.logTails()}`);
  t.diagnostic(`rtt of the first packet after 2 minutes idle: ${after.rttMs[0]} ms`);
  const handshakesAfter =
    (na.log().match(/Handshake completed/g) ?? []).length + (nb.log().match(/Handshake completed/g) ?? []).length;
  assert.equal(handshakesAfter, handshakesBefore, 'no new handshake was needed');
});

test('a tunnel packet replayed from another host is not delivered again and does not steer the tunnel', async (t) => {
  const lab = await Lab.create(t);
  const [h1, h2, h3] = await lab.flat(3);
  const net = await OverlayNet.create(lab);
  const n1 = await net.start(h1!, {
    name: 'one',
    impl: meshImpl,
    vpnIp: '10.99.0.1',
    config: { static_host_map: { '10.99.0.2': [`${h2!.ip}:4242`] } },
  });
  const n2 = await net.start(h2!, {
    name: 'two',
    impl: meshImpl,
    vpnIp: '10.99.0.2',
    config: { static_host_map: { '10.99.0.1': [`${h1!.ip}:4242`] } },
  });
  assert.ok((await lab.ping(h1!, n2.vpnIp, { count: 1, timeoutSec: 5 })).ok);
  const pcap = lab.path('wire.pcap');
  const capture = await startTcpdump(lab, h2!, [
    '-i',
    'any',
    '--immediate-mode',
    '-U',
    '-n',
    '-w',
    pcap,
    'udp',
    'dst',
    'port',
    '4242',
  ]);
  const tun = await startTcpdump(lab, h2!, [
    '-i',
    'any',
    '--immediate-mode',
    '-l',
    '-n',
    'icmp[icmptype] == icmp-echo and dst host',
    n2.vpnIp,
  ]);
  assert.equal((await lab.ping(h1!, n2.vpnIp, { count: 3, timeoutSec: 5 })).rttMs.length, 3);
  // The 3 requests arrived (they were answered); tcpdump writes each to the file as it reads it (-U).
  const tunnelDatagrams = () => readUdpDatagrams(pcap).filter((d) => d.payload.length > 16);
  await waitFor(() => tunnelDatagrams().length >= 3, {
    timeoutMs: 5000,
    what: () => `3 tunnel datagrams in the capture (have ${tunnelDatagrams().length})`,
  });
  await capture.kill();
  const captured = tunnelDatagrams();
  // Host three replays everything from its own address, from the same source port the real sender used.
  const script = `
    const s = require('node:dgram').createSocket('udp4');
    const [target, payloads] = JSON.parse(process.argv[1]);
    s.bind(4242, () => { let i = 0; const next = () => i < payloads.length ? s.send(Buffer.from(payloads[i++], 'base64'), 4242, target, next) : s.close(); next(); });
  `;
  await lab.exec(h3!, process.execPath, [
    '-e',
    script,
    JSON.stringify([h2!.ip, captured.map((d) => d.payload.toString('base64'))]),
  ]);
  await sleep(500);
  await tun.kill();
  const echoes = tun
    .log()
    .split('\n')
    .filter((l) => /ICMP echo request/.test(l)).length;
  assert.equal(echoes, 3, `each ping delivered once:\n${tun.log()}`);
  assert.doesNotMatch(n2.log(), /roamed/, 'the replayer did not become the tunnel remote');
  // Two still answers one at one's real address.
  assert.equal((await lab.ping(h2!, n1.vpnIp, { count: 3, timeoutSec: 5 })).rttMs.length, 3, lab.logTails());
});
