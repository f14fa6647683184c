import assert from 'node:assert/strict';
import { test } from 'node:test';

import { probeFlows, startFlowServer } from './lab/flow-probe.js';
import { Lab } from './lab/lab.js';
import type { Host } from './lab/lab.js';
import { meshImpl } from './lab/mesh-impl.js';
import { OverlayNet } from './lab/nebula.js';
import { startStaticPeers } from './lab/static-peers.js';

// One peer opening flow after flow toward a host (one datagram each, to ports nobody listens on) must not use up
// the host's conntrack table: another peer can still open flows to it and the host can still open its own.

const MAX_CONNECTIONS = 400;
const PER_HOST = 50;
const FLOOD = 2000;

/** Sends one datagram to each of `count` ports from one socket, paced so that the underlay keeps up. */
const FLOODER = `
const dgram = require('node:dgram');
const { ip, firstPort, count } = JSON.parse(process.argv[1]);
const s = dgram.createSocket('udp4');
const errors = {};
const sendOne = (port) => new Promise((done) => s.send('x', port, ip, (e) => { if (e) errors[e.code] = (errors[e.code] ?? 0) + 1; done(); }));
(async () => {
  for (let i = 0; i < count; i++) {
    await sendOne(firstPort + i);
    if (i % 50 === 49) await new Promise((r) => setTimeout(r, 10));
  }
  console.log(JSON.stringify(errors));
  s.close();
})();
`;

test("a peer's flood of one-datagram flows leaves room for another peer's flows and the host's own", async (t) => {
  const lab = await Lab.create(t);
  const [hSrv, hMallory, hAlice] = (await lab.flat(3, ['srv', 'mallory', 'alice'])) as Host[];
  const ip = { srv: '10.99.0.1', mallory: '10.99.0.66', alice: '10.99.0.2' };
  const net = await OverlayNet.create(lab);
  const srvFirewall = {
    conntrack: { max_connections: MAX_CONNECTIONS, max_connections_per_host: PER_HOST },
    outbound: [{ port: 'any', proto: 'any', host: 'any' }],
    inbound: [
      { port: 'any', proto: 'udp', host: 'any' },
      { port: 'any', proto: 'icmp', host: 'any' },
    ],
  };
  await startStaticPeers(net, [
    { host: hSrv!, name: 'srv', vpnIp: ip.srv, impl: meshImpl, firewall: srvFirewall },
    { host: hMallory!, name: 'mallory', vpnIp: ip.mallory, impl: meshImpl },
    { host: hAlice!, name: 'alice', vpnIp: ip.alice, impl: meshImpl },
  ]);
  const [srvServer, aliceServer] = await Promise.all([
    startFlowServer(lab, hSrv!, { udp: [7000] }),
    startFlowServer(lab, hAlice!, { udp: [7000] }),
  ]);
  for (const from of [hMallory!, hAlice!])
    assert.ok((await lab.ping(from, ip.srv, { count: 1, timeoutSec: 3 })).ok, lab.logTails(10));
  const floodAtSrv = await lab.trafficCounter(hSrv!, { hook: 'input', saddr: ip.mallory, proto: 'udp' });

  const { stdout } = await lab.exec(
    hMallory!,
    process.execPath,
    ['-e', FLOODER, JSON.stringify({ ip: ip.srv, firstPort: 20000, count: FLOOD })],
    { timeoutMs: 20_000 },
  );
  const sendErrors = JSON.parse(stdout) as Record<string, number>;
  if (sendErrors.ENOBUFS)
    assert.fail(`the environment dropped ${sendErrors.ENOBUFS} flood datagrams (ENOBUFS), not a mesh fault`);
  const arrived = (await floodAtSrv.read()).packets;
  t.diagnostic(
    `${arrived} of mallory's ${FLOOD} one-datagram flows reached srv (table ${MAX_CONNECTIONS}, quota ${PER_HOST})`,
  );

  const [fromAlice] = await probeFlows(lab, hAlice!, [{ proto: 'udp', ip: ip.srv, port: 7000 }], { timeoutMs: 3000 });
  const [fromSrv] = await probeFlows(lab, hSrv!, [{ proto: 'udp', ip: ip.alice, port: 7000 }], { timeoutMs: 3000 });
  assert.deepEqual(
    {
      aliceToSrv: fromAlice!.outcome,
      srvOwnFlowToAlice: fromSrv!.outcome,
      // Mallory's new flows evict its own oldest instead of being refused once the table would be full.
      floodBeyondTableSize: arrived > MAX_CONNECTIONS,
    },
    { aliceToSrv: 'answered', srvOwnFlowToAlice: 'answered', floodBeyondTableSize: true },
    `${arrived} flood datagrams arrived\n${lab.logTails(10)}`,
  );
  assert.ok(srvServer.saw(fromAlice!.token) && aliceServer.saw(fromSrv!.token));
});
