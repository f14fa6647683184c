import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  ROLE_GROUPS,
  SERVER_PORTS,
  expectedOutcome,
  observeVerdicts,
  serverFirewall,
} from '../e2e/lab/firewall-cases.js';
import type { ClientRole } from '../e2e/lab/firewall-cases.js';
import { probeFlows, startFlowServer, startFlowStream } from '../e2e/lab/flow-probe.js';
import type { FlowServer } from '../e2e/lab/flow-probe.js';
import { Lab } from '../e2e/lab/lab.js';
import type { Host } from '../e2e/lab/lab.js';
import { meshImpl } from '../e2e/lab/mesh-impl.js';
import { OverlayNet, nebulaImpl } from '../e2e/lab/nebula.js';
import type { OverlayImpl, OverlayNode } from '../e2e/lab/nebula.js';
import { startStaticPeers } from '../e2e/lab/static-peers.js';
import { sleep, waitFor } from '../e2e/lab/wait.js';

// The firewall against the reference: a mesh host and a nebula 1.6.1 host run the same rule set
// (lab/firewall-cases.ts), and mesh and nebula clients in every role probe both. Each verdict must be the one in the
// table, and so the same whichever implementation filters and whichever sends.

const ROLES: readonly ClientRole[] = ['alice', 'bob', 'carol'];
const IMPLS = { mesh: meshImpl, nebula: nebulaImpl } as const;
type ImplName = keyof typeof IMPLS;
const IMPL_NAMES: readonly ImplName[] = ['mesh', 'nebula'];

interface Client {
  role: ClientRole;
  impl: ImplName;
  /** Certificate name: the role for mesh clients, "n" + role for nebula ones. */
  name: string;
  host: Host;
  vpnIp: string;
}

interface Server {
  impl: ImplName;
  host: Host;
  vpnIp: string;
  flows: FlowServer;
}

test('mesh and nebula 1.6.1 give the same firewall verdicts with either one filtering and either one sending', async (t) => {
  const lab = await Lab.create(t);
  const clientSpecs = IMPL_NAMES.flatMap((impl) =>
    ROLES.map((role) => ({ role, impl, name: impl === 'mesh' ? role : `n${role}` })),
  );
  const hosts = await lab.flat(2 + clientSpecs.length, ['srvmesh', 'srvnebula', ...clientSpecs.map((c) => c.name)]);
  const clients: Client[] = clientSpecs.map((c, i) => ({ ...c, host: hosts[2 + i]!, vpnIp: `10.99.0.${11 + i}` }));
  const serverIps: Record<ImplName, string> = { mesh: '10.99.0.1', nebula: '10.99.0.2' };
  const aliceNames = clients.filter((c) => c.role === 'alice').map((c) => c.name);
  const net = await OverlayNet.create(lab);
  await startStaticPeers(net, [
    ...IMPL_NAMES.map((impl, i) => ({
      host: hosts[i]!,
      name: `srv${impl}`,
      vpnIp: serverIps[impl],
      impl: IMPLS[impl],
      firewall: serverFirewall(aliceNames),
    })),
    ...clients.map((c) => ({
      host: c.host,
      name: c.name,
      vpnIp: c.vpnIp,
      impl: IMPLS[c.impl],
      groups: ROLE_GROUPS[c.role],
    })),
  ]);
  const servers: Server[] = await Promise.all(
    IMPL_NAMES.map(async (impl, i) => ({
      impl,
      host: hosts[i]!,
      vpnIp: serverIps[impl],
      flows: await startFlowServer(lab, hosts[i]!, SERVER_PORTS),
    })),
  );
  const bobs = clients.filter((c) => c.role === 'bob');
  const bobFlows = await Promise.all(bobs.map((c) => startFlowServer(lab, c.host, { tcp: [7000], udp: [7000] })));
  await Promise.all(clients.flatMap((c) => servers.map((s) => lab.ping(c.host, s.vpnIp, { timeoutSec: 1 }))));

  await t.test(
    'every client gets the verdicts of the table from both servers, and nothing denied arrives',
    async () => {
      const pairs = clients.flatMap((c) => servers.map((s) => ({ c, s })));
      const observed = await Promise.all(pairs.map(({ c, s }) => observeVerdicts(lab, c.host, s.vpnIp)));
      const mismatches: string[] = [];
      pairs.forEach(({ c, s }, i) => {
        for (const o of observed[i]!) {
          const label = `${c.impl} ${c.name} -> ${s.impl} server: ${o.case.what}`;
          const want = expectedOutcome(o.case, c.role);
          if (o.outcome !== want)
            mismatches.push(`${label}: expected ${want}, got ${o.outcome} after ${o.ms.toFixed(0)} ms`);
          if (o.token !== undefined && s.flows.saw(o.token) !== (want === 'answered'))
            mismatches.push(`${label}: arrival at the server disagrees`);
        }
      });
      assert.deepEqual(mismatches, [], lab.logTails(10));
    },
  );

  await t.test("replies to the filtering host's own flows come back from mesh and nebula peers alike", async () => {
    const combos = servers.flatMap((s) => bobs.map((bob, i) => ({ s, bob, flows: bobFlows[i]! })));
    const failures = await Promise.all(
      combos.map(async ({ s, bob, flows }) => {
        const label = `${s.impl} server <-> ${bob.impl} bob`;
        // Nothing listens on the server's 7000: a timeout rather than a RST means the firewall dropped it.
        const inbound = await probeFlows(lab, bob.host, [{ proto: 'tcp', ip: s.vpnIp, port: 7000 }]);
        if (inbound[0]!.outcome !== 'timeout')
          return `${label}: bob opened a flow to the server (${inbound[0]!.outcome})`;
        const targets = [
          { proto: 'tcp' as const, ip: bob.vpnIp, port: 7000 },
          { proto: 'udp' as const, ip: bob.vpnIp, port: 7000 },
        ];
        const outbound = await probeFlows(lab, s.host, targets, { timeoutMs: 3000 });
        if (!outbound.every((r) => r.outcome === 'answered' && flows.saw(r.token)))
          return `${label}: ${JSON.stringify(outbound)}`;
        const ping = await lab.ping(s.host, bob.vpnIp, { count: 2, timeoutSec: 3 });
        return ping.rttMs.length === 2 ? null : `${label}: echo replies ${JSON.stringify(ping)}`;
      }),
    );
    assert.deepEqual(
      failures.filter((f) => f !== null),
      [],
      lab.logTails(10),
    );
  });

  await t.test(
    "after the filtering host pings a peer, the peer's pings come in on mesh as on nebula (ICMP is one flow)",
    async () => {
      for (const s of servers) {
        for (const bob of bobs) {
          const ping = await lab.ping(bob.host, s.vpnIp, { count: 2, timeoutSec: 3 });
          assert.equal(ping.rttMs.length, 2, `${bob.impl} bob -> ${s.impl} server: ${JSON.stringify(ping)}`);
        }
      }
    },
  );
});

test('on mesh as on nebula, a reload that tightens the rules cuts an established UDP stream, ping carries on, and a broken reload changes nothing', async (t) => {
  const lab = await Lab.create(t);
  const [hMesh, hNebula, hCliMesh, hCliNebula] = (await lab.flat(4, [
    'srvmesh',
    'srvnebula',
    'climesh',
    'clinebula',
  ])) as Host[];
  const icmpIn = { port: 'any', proto: 'icmp', host: 'any' };
  const firewall = {
    outbound: [{ port: 'any', proto: 'icmp', host: 'any' }],
    inbound: [icmpIn, { port: 7000, proto: 'udp', host: 'any' }],
  };
  const anyRule = [{ port: 'any', proto: 'any', host: 'any' }];
  const net = await OverlayNet.create(lab);
  const nodes = await startStaticPeers(net, [
    { host: hMesh!, name: 'srvmesh', vpnIp: '10.99.0.1', impl: meshImpl, firewall },
    { host: hNebula!, name: 'srvnebula', vpnIp: '10.99.0.2', impl: nebulaImpl, firewall },
    // Each server is probed by a client of the other implementation.
    {
      host: hCliMesh!,
      name: 'climesh',
      vpnIp: '10.99.0.11',
      impl: meshImpl,
      firewall: { outbound: anyRule, inbound: anyRule },
    },
    {
      host: hCliNebula!,
      name: 'clinebula',
      vpnIp: '10.99.0.12',
      impl: nebulaImpl,
      firewall: { outbound: anyRule, inbound: anyRule },
    },
  ]);
  const pairs: Array<{ server: OverlayNode; impl: OverlayImpl; client: Host }> = [
    { server: nodes[0]!, impl: meshImpl, client: hCliNebula! },
    { server: nodes[1]!, impl: nebulaImpl, client: hCliMesh! },
  ];
  const flowServers = await Promise.all(pairs.map((p) => startFlowServer(lab, p.server.host, { udp: [7000] })));
  const streams = await Promise.all(
    pairs.map((p) =>
      startFlowStream(lab, p.client, { proto: 'udp', ip: p.server.vpnIp, port: 7000 }, { intervalMs: 50 }),
    ),
  );
  await waitFor(() => streams.every((s) => s.replies() >= 5), {
    timeoutMs: 8000,
    what: `both streams answered\n${lab.logTails(10)}`,
  });

  // What each implementation logs once a reload has (or has not) replaced the firewall.
  const installed = { mesh: /Config reloaded/, nebula: /New firewall has been installed/ };
  const reload = async (inbound: unknown[], done: (p: (typeof pairs)[number]) => RegExp): Promise<void> => {
    await Promise.all(
      pairs.map(async (p) => {
        const since = p.server.process.logOffset();
        p.server.updateConfig({ firewall: { inbound } });
        p.server.reload();
        await p.server.waitForLog(done(p), 5000, since);
      }),
    );
  };
  const progress = () =>
    pairs.map((_, i) => ({ arrived: flowServers[i]!.countTagged(streams[i]!.tag), answered: streams[i]!.replies() }));
  const assertStill = (before: ReturnType<typeof progress>, what: string): void => {
    const now = progress();
    pairs.forEach((p, i) => assert.deepEqual(now[i], before[i], `${p.impl.name} server: ${what}\n${lab.logTails(10)}`));
  };
  const assertPing = async (what: string): Promise<void> => {
    for (const p of pairs) {
      const ping = await lab.ping(p.client, p.server.vpnIp, { count: 2, timeoutSec: 3 });
      assert.equal(ping.rttMs.length, 2, `${p.impl.name} server: ${what}`);
    }
  };

  await reload([icmpIn], (p) => installed[p.impl.name as ImplName]);
  await sleep(300);
  const cut = progress();
  await sleep(1500);
  assertStill(cut, 'the stream stopped at the reload');
  await assertPing('the tunnel is still up');

  // An unknown proto is an error to both; the rules in the file would let the stream back in and shut ping out.
  await reload(
    [
      { port: 7000, proto: 'udp', host: 'any' },
      { port: 'any', proto: 'tcpx', host: 'any' },
    ],
    () => /level=error/,
  );
  await sleep(1000);
  assertStill(cut, 'a broken reload left the stream cut');
  await assertPing('a broken reload left ping allowed');
  assert.ok(pairs.every((p) => p.server.process.running));
});
