import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { ExecError, execIn } from './lab/exec.js';
import { ROLE_GROUPS, SERVER_PORTS, expectedOutcome, observeVerdicts, serverFirewall } from './lab/firewall-cases.js';
import type { ClientRole, Observed } from './lab/firewall-cases.js';
import { probeFlows, startFlowServer, startFlowStream } from './lab/flow-probe.js';
import type { FlowOutcome, FlowServer } from './lab/flow-probe.js';
import { Lab } from './lab/lab.js';
import type { Host } from './lab/lab.js';
import { MESH_MAIN, meshImpl } from './lab/mesh-impl.js';
import { OverlayNet, overlayConfig, signHostCert, writeOverlayConfig } from './lab/nebula.js';
import { startStaticPeers } from './lab/static-peers.js';
import { sleep, waitFor } from './lab/wait.js';

// The firewall end to end: real mesh processes in namespaces, certificates with groups, real TCP/UDP/ICMP through
// real TUN devices. The rule set and its verdict table live in lab/firewall-cases.ts, shared with the nebula interop
// test so that both hold mesh to the same answers.

const ROLES: readonly ClientRole[] = ['alice', 'bob', 'carol'];
const ANY_OUT = [{ port: 'any', proto: 'any', host: 'any' }];

/** One line per probe whose outcome differs from the table, plus "arrived"/"not arrived" disagreements. */
function verdictMismatches(
  label: string,
  role: ClientRole,
  observed: Observed[],
  server: FlowServer,
  denied: FlowOutcome,
): string[] {
  const out: string[] = [];
  for (const o of observed) {
    const want = expectedOutcome(o.case, role, denied);
    if (o.outcome !== want)
      out.push(`${label}: ${o.case.what}: expected ${want}, got ${o.outcome} after ${o.ms.toFixed(0)} ms`);
    if (o.token !== undefined && server.saw(o.token) !== (want === 'answered')) {
      out.push(
        `${label}: ${o.case.what}: the probe ${server.saw(o.token) ? 'arrived' : 'never arrived'} at the server`,
      );
    }
  }
  return out;
}

test('a mesh host filters by group, groups AND, port, range and host; keeps its own flows; rejects when told to', async (t) => {
  const lab = await Lab.create(t);
  const [hSrv, hRej, hAlice, hBob, hCarol, hOut] = (await lab.flat(6, [
    'srv',
    'rej',
    'alice',
    'bob',
    'carol',
    'out',
  ])) as Host[];
  const clients: Record<ClientRole, Host> = { alice: hAlice!, bob: hBob!, carol: hCarol! };
  const ip = {
    srv: '10.99.0.1',
    rej: '10.99.0.2',
    alice: '10.99.0.11',
    bob: '10.99.0.12',
    carol: '10.99.0.13',
    out: '10.99.0.14',
  };
  // "out" may send only ICMP and tcp/9000, and refuses its own other attempts.
  const outFirewall = {
    outbound_action: 'reject',
    outbound: [
      { port: 'any', proto: 'icmp', host: 'any' },
      { port: 9000, proto: 'tcp', host: 'any' },
    ],
    inbound: ANY_OUT,
  };
  const net = await OverlayNet.create(lab);
  await startStaticPeers(net, [
    { host: hSrv!, name: 'srv', vpnIp: ip.srv, impl: meshImpl, firewall: serverFirewall(['alice']) },
    {
      host: hRej!,
      name: 'rej',
      vpnIp: ip.rej,
      impl: meshImpl,
      firewall: serverFirewall(['alice'], { inbound_action: 'reject' }),
    },
    ...ROLES.map((role) => ({
      host: clients[role],
      name: role,
      vpnIp: ip[role],
      impl: meshImpl,
      groups: ROLE_GROUPS[role],
    })),
    { host: hOut!, name: 'out', vpnIp: ip.out, impl: meshImpl, groups: ['web', 'prod'], firewall: outFirewall },
  ]);
  const [srvServer, rejServer, bobServer] = await Promise.all([
    startFlowServer(lab, hSrv!, SERVER_PORTS),
    startFlowServer(lab, hRej!, SERVER_PORTS),
    startFlowServer(lab, hBob!, { tcp: [7000], udp: [7000] }),
  ]);
  // Echo requests from bob that reach srv's kernel (they must not, until srv itself pings bob).
  const bobIcmpAtSrv = await lab.trafficCounter(hSrv!, { hook: 'input', saddr: ip.bob, proto: 'icmp' });
  // Bring every tunnel up first, so a denied probe's timeout is the firewall's and not a handshake's.
  await Promise.all(
    ROLES.flatMap((role) => [
      lab.ping(clients[role], ip.srv, { timeoutSec: 1 }),
      lab.ping(clients[role], ip.rej, { timeoutSec: 1 }),
    ]),
  );

  await t.test(
    'allowed probes are answered; denied ones are dropped silently: the client times out and nothing arrives',
    async () => {
      const observed = await Promise.all(ROLES.map((role) => observeVerdicts(lab, clients[role], ip.srv)));
      const mismatches = ROLES.flatMap((role, i) =>
        verdictMismatches(`${role} -> srv`, role, observed[i]!, srvServer, 'timeout'),
      );
      for (const o of observed.flat()) {
        if (o.outcome === 'timeout' && o.ms < 900)
          mismatches.push(`${o.case.what}: gave up after ${o.ms.toFixed(0)} ms, before the deadline`);
      }
      assert.deepEqual(mismatches, [], lab.logTails(10));
      assert.equal((await bobIcmpAtSrv.read()).packets, 0, 'no echo request from bob reached srv');
    },
  );

  await t.test("replies to a host's own flows come back although its inbound rules deny the peer", async () => {
    // With nothing listening on 7000 srv's kernel would answer a SYN with a RST: a timeout means the firewall dropped it.
    const inbound = await probeFlows(lab, hBob!, [
      { proto: 'tcp', ip: ip.srv, port: 7000 },
      { proto: 'udp', ip: ip.srv, port: 7000 },
    ]);
    assert.deepEqual(
      inbound.map((r) => r.outcome),
      ['timeout', 'timeout'],
      'bob cannot open flows to srv',
    );
    const outbound = await probeFlows(
      lab,
      hSrv!,
      [
        { proto: 'tcp', ip: ip.bob, port: 7000 },
        { proto: 'udp', ip: ip.bob, port: 7000 },
      ],
      { timeoutMs: 3000 },
    );
    assert.deepEqual(
      outbound.map((r) => r.outcome),
      ['answered', 'answered'],
      `srv's own flows to bob\n${lab.logTails(10)}`,
    );
    assert.ok(outbound.every((r) => bobServer.saw(r.token)));
    const ping = await lab.ping(hSrv!, ip.bob, { count: 3, timeoutSec: 3 });
    assert.equal(ping.rttMs.length, 3, 'echo replies from bob come back to srv');
  });

  await t.test(
    "after a host pings a peer, the peer's pings come in too: ICMP is one flow per host pair, as in nebula 1.6.1",
    async () => {
      const ping = await lab.ping(hBob!, ip.srv, { count: 2, timeoutSec: 3 });
      assert.equal(ping.rttMs.length, 2, JSON.stringify(ping));
      assert.ok((await bobIcmpAtSrv.read()).packets >= 2);
    },
  );

  await t.test('with inbound_action reject a denied sender gets a TCP RST or an ICMP unreachable at once', async () => {
    const observed = await Promise.all(ROLES.map((role) => observeVerdicts(lab, clients[role], ip.rej, 3000)));
    const mismatches = ROLES.flatMap((role, i) =>
      verdictMismatches(`${role} -> rej`, role, observed[i]!, rejServer, 'refused'),
    );
    for (const o of observed.flat()) {
      if (o.outcome === 'refused' && o.ms > 800)
        mismatches.push(`${o.case.what}: refused only after ${o.ms.toFixed(0)} ms`);
    }
    assert.deepEqual(mismatches, [], lab.logTails(10));
  });

  await t.test(
    "with outbound_action reject a host's own denied attempts are refused at once and never leave it",
    async () => {
      const targets = [
        { proto: 'tcp' as const, ip: ip.srv, port: 9000 },
        { proto: 'tcp' as const, ip: ip.srv, port: 8080 },
        { proto: 'udp' as const, ip: ip.srv, port: 9000 },
      ];
      const results = await probeFlows(lab, hOut!, targets, { timeoutMs: 3000 });
      assert.deepEqual(
        results.map((r) => r.outcome),
        ['answered', 'refused', 'refused'],
        JSON.stringify(results),
      );
      assert.ok(
        results.slice(1).every((r) => r.ms < 800 && !srvServer.saw(r.token)),
        JSON.stringify(results),
      );
    },
  );
});

test('a SIGHUP that tightens the rules cuts established flows and keeps the tunnel; a broken reload changes nothing', async (t) => {
  const lab = await Lab.create(t);
  const [hSrv, hCli] = (await lab.flat(2, ['srv', 'cli'])) as Host[];
  const srvIp = '10.99.0.1';
  const net = await OverlayNet.create(lab);
  const icmpIn = { port: 'any', proto: 'icmp', host: 'any' };
  // srv only answers: its outbound allows ICMP alone, so its TCP/UDP replies live on conntrack entries from inbound
  // rules and cannot open a fresh outbound flow once those entries go.
  const firewall = {
    outbound: [{ port: 'any', proto: 'icmp', host: 'any' }],
    inbound: [icmpIn, { port: 7000, proto: 'udp', host: 'any' }, { port: 7100, proto: 'tcp', host: 'any' }],
  };
  const [srv, cli] = await startStaticPeers(net, [
    { host: hSrv!, name: 'srv', vpnIp: srvIp, impl: meshImpl, firewall },
    { host: hCli!, name: 'cli', vpnIp: '10.99.0.2', impl: meshImpl, firewall: { outbound: ANY_OUT, inbound: ANY_OUT } },
  ]);
  const server = await startFlowServer(lab, hSrv!, { udp: [7000], tcp: [7100] });
  assert.ok((await lab.ping(hCli!, srvIp, { count: 1, timeoutSec: 3 })).ok, lab.logTails(10));
  const udp = await startFlowStream(lab, hCli!, { proto: 'udp', ip: srvIp, port: 7000 }, { intervalMs: 50 });
  const tcp = await startFlowStream(lab, hCli!, { proto: 'tcp', ip: srvIp, port: 7100 }, { intervalMs: 50 });
  await waitFor(() => udp.replies() >= 5 && tcp.replies() >= 5, {
    timeoutMs: 5000,
    what: `both streams answered\n${lab.logTails(10)}`,
  });
  const handshakes = (): number =>
    (srv!.log().match(/Handshake completed/g)?.length ?? 0) + (cli!.log().match(/Handshake completed/g)?.length ?? 0);
  const handshakesBefore = handshakes();
  const snapshot = () => ({
    udpIn: server.countTagged(udp.tag),
    tcpIn: server.countTagged(tcp.tag),
    udpBack: udp.replies(),
    tcpBack: tcp.replies(),
  });

  await t.test('the tightened rules stop a running UDP stream and TCP connection while ping still works', async () => {
    const since = srv!.process.logOffset();
    srv!.updateConfig({ firewall: { inbound: [icmpIn] } });
    srv!.reload();
    await srv!.waitForLog(/Config reloaded/, 5000, since);
    await sleep(300);
    const cut = snapshot();
    await sleep(1500);
    assert.deepEqual(snapshot(), cut, 'nothing more got through after the reload');
    assert.ok(cut.udpIn >= 5 && cut.tcpIn >= 5, JSON.stringify(cut));
    const ping = await lab.ping(hCli!, srvIp, { count: 3, timeoutSec: 3 });
    assert.equal(ping.rttMs.length, 3, 'the tunnel is still up');
    assert.equal(handshakes(), handshakesBefore, 'no new handshake: the same tunnel carries on');
    const fresh = await probeFlows(lab, hCli!, [{ proto: 'udp', ip: srvIp, port: 7000 }]);
    assert.equal(fresh[0]!.outcome, 'timeout');
  });

  await t.test(
    'a reload with an invalid rule keeps the running rules and logs one error line naming the field',
    async () => {
      const before = snapshot();
      const since = srv!.process.logOffset();
      // Would let the streams back in and shut ping out, if any of it were applied.
      srv!.updateConfig({
        firewall: {
          inbound: [
            { port: 7000, proto: 'udp', host: 'any' },
            { port: 7100, proto: 'tcp', host: 'any' },
            { port: '90-80', proto: 'tcp', host: 'any' },
          ],
        },
      });
      srv!.reload();
      await srv!.waitForLog(/Reload failed/, 5000, since);
      await sleep(200);
      const errors = srv!
        .log()
        .slice(since)
        .split('\n')
        .filter((line) => /level=error/.test(line));
      assert.equal(errors.length, 1, errors.join('\n'));
      assert.match(errors[0]!, /firewall\.inbound\[2\]\.port/);
      assert.ok(errors[0]!.includes(srv!.configPath), `names the file: ${errors[0]}`);
      await sleep(800);
      assert.deepEqual(snapshot(), before, 'the streams stay cut');
      assert.ok(
        (await lab.ping(hCli!, srvIp, { count: 2, timeoutSec: 3 })).rttMs.length === 2,
        'ping is still allowed',
      );
      const fresh = await probeFlows(lab, hCli!, [
        { proto: 'udp', ip: srvIp, port: 7000 },
        { proto: 'tcp', ip: srvIp, port: 7100 },
      ]);
      assert.deepEqual(
        fresh.map((r) => r.outcome),
        ['timeout', 'timeout'],
      );
      assert.ok(srv!.process.running);
    },
  );
});

test('a bad firewall rule is refused at startup with one line naming the file, line and field', async (t) => {
  const lab = await Lab.create(t);
  const net = await OverlayNet.create(lab);
  const cert = await signHostCert(net.dir, net.ca, { name: 'bad', vpnCidr: '10.99.0.1/24' });
  const configPath = lab.path('bad.yml');
  const inbound = [
    { port: 'any', proto: 'icmp', host: 'any' },
    { port: '90-80', proto: 'tcp', group: 'web' },
  ];
  const config = overlayConfig({
    pki: { ca: net.ca.crt, cert: cert.crt, key: cert.key },
    tunDev: 'fwbad',
    firewall: { outbound: ANY_OUT, inbound },
  });
  writeOverlayConfig(configPath, config);
  const line =
    readFileSync(configPath, 'utf8')
      .split('\n')
      .findIndex((l) => /port: 90-80/.test(l)) + 1;
  assert.ok(line > 0);
  const expected = new RegExp(
    `^mesh: ${configPath.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:${line}: firewall\\.inbound\\[1\\]\\.port: `,
  );

  const checked = await execIn(null, process.execPath, [MESH_MAIN, '-config', configPath, '-test'], { check: false });
  assert.notEqual(checked.exitCode, 0);
  const lines = checked.stderr.trim().split('\n');
  assert.equal(lines.length, 1, checked.stderr);
  assert.match(lines[0]!, expected);

  // The daemon itself (in a namespace, in case it got as far as making a tun) refuses the same way before starting.
  const host = await lab.addHost('bad');
  const run = await lab
    .exec(host, process.execPath, [MESH_MAIN, '-config', configPath], { check: false, timeoutMs: 5000 })
    .catch((e: ExecError) => e.result);
  assert.notEqual(run.exitCode, 0);
  assert.equal(run.exitCode === null, false, 'exited on its own');
  const runLines = run.stderr.trim().split('\n');
  assert.equal(runLines.length, 1, run.stderr);
  assert.match(runLines[0]!, expected);
});
