import assert from 'node:assert/strict';
import { test } from 'node:test';

import { probeFlows, startFlowServer } from './lab/flow-probe.js';
import type { FlowOutcome } from './lab/flow-probe.js';
import { Lab } from './lab/lab.js';
import { meshImpl } from './lab/mesh-impl.js';
import { OverlayNet } from './lab/overlay-net.js';
import { assertPings, environmentHint, hop } from './lab/overlay-check.js';
import { waitFor } from './lab/wait.js';

// The firewall on the IPv6 overlay (issue 18), end to end: real ICMPv6 echo and TCP over IPv6 through real TUNs.
// srv (also the lighthouse) lets in ICMP only from group "ops" (Nebula's `icmp` rule covers ICMPv6 too: firewall.go
// files both protocols under one ICMP table), TCP 5201 from anyone, TCP 5203 only from op's IPv6 address (an IPv6
// `cidr`). dev (group "dev") pings in vain: nothing comes back while inbound_action is drop, and an ICMPv6
// "administratively prohibited" (type 1 code 1, Nebula's iputil reject) once it is reject; TCP to a closed port is
// silence, then a RST.

const OPEN = 5201;
const CLOSED = 5202;
const OP_ONLY = 5203;

test(
  'inbound ICMPv6 only from group ops; TCP over IPv6 allowed by port and by IPv6 cidr; drop, then reject',
  { timeout: 90_000 },
  async (t) => {
    const lab = await Lab.create(t);
    const [hs, ho, hd] = await lab.flat(3, ['srv', 'op', 'dev']);
    const net = await OverlayNet.create(lab, { ipv6: true });
    // op's address is known before it starts: node 2 of the network (srv is 1).
    const opIp6 = net.ip6(2);
    const firewall = {
      conntrack: { tcp_timeout: '12m', udp_timeout: '3m', default_timeout: '10m' },
      outbound: [{ port: 'any', proto: 'any', host: 'any' }],
      inbound: [
        { port: 'any', proto: 'icmp', group: 'ops' },
        { port: OPEN, proto: 'tcp', host: 'any' },
        { port: OP_ONLY, proto: 'tcp', cidr: `${opIp6}/128` },
      ],
    };
    const srv = await net.start(hs!, { name: 'srv', impl: meshImpl, lighthouse: true, firewall });
    const op = await net.start(ho!, { name: 'op', impl: meshImpl, groups: ['ops'] });
    const dev = await net.start(hd!, { name: 'dev', impl: meshImpl, groups: ['dev'] });
    assert.equal(op.vpnIp6, opIp6);
    await startFlowServer(lab, hs!, { tcp: [OPEN, CLOSED, OP_ONLY], ipv6: true });
    const ip6 = srv.address(6);
    const tcp = async (from: typeof op, port: number): Promise<FlowOutcome> => {
      const [r] = await probeFlows(lab, from.host, [{ proto: 'tcp', ip: ip6, port }], { timeoutMs: 1500 });
      return r!.outcome;
    };

    // dev's tunnel comes up through the allowed port, so what follows is the firewall's doing, not a missing tunnel.
    await waitFor(async () => ((await tcp(dev, OPEN)) === 'answered' ? true : null), {
      timeoutMs: 20_000,
      intervalMs: 200,
      what: () => `TCP ${OPEN} ${hop(dev, srv, 6)}${environmentHint(lab)}\n${lab.logTails(30)}`,
    });
    await assertPings(lab, op, srv, 6);
    assert.equal(await tcp(op, OPEN), 'answered', `TCP ${OPEN} ${hop(op, srv, 6)}`);
    assert.equal(await tcp(op, OP_ONLY), 'answered', `TCP ${OP_ONLY} ${hop(op, srv, 6)} (cidr ${opIp6}/128)`);

    const dropped = await lab.ping(hd!, ip6, { count: 3, timeoutSec: 3 });
    assert.deepEqual(
      [dropped.rttMs.length, dropped.errors],
      [0, []],
      `ICMPv6 ${hop(dev, srv, 6)} must be dropped silently: ${JSON.stringify(dropped)}`,
    );
    const dropped4 = await lab.ping(hd!, srv.address(4), { count: 2, timeoutSec: 2 });
    assert.equal(dropped4.rttMs.length, 0, `ICMP ${hop(dev, srv, 4)} must be dropped too: ${JSON.stringify(dropped4)}`);
    assert.equal(await tcp(dev, OP_ONLY), 'timeout', `TCP ${OP_ONLY} ${hop(dev, srv, 6)}: not in the cidr, dropped`);
    assert.equal(await tcp(dev, CLOSED), 'timeout', `TCP ${CLOSED} ${hop(dev, srv, 6)}: no rule, dropped`);

    const since = srv.process.logOffset();
    srv.updateConfig({ firewall: { inbound_action: 'reject' } });
    srv.reload();
    await srv.waitForLog(/Config reloaded/, 5000, since);
    const rejected = await waitFor(
      async () => {
        const r = await lab.ping(hd!, ip6, { count: 1, timeoutSec: 1 });
        return r.errors.length > 0 ? r : null;
      },
      {
        timeoutMs: 8000,
        intervalMs: 200,
        what: () => `an ICMPv6 reject ${hop(dev, srv, 6)} after inbound_action: reject\n${lab.logTails(30)}`,
      },
    );
    assert.equal(rejected.rttMs.length, 0, `no echo reply ${hop(dev, srv, 6)}`);
    assert.match(
      rejected.errors[0]!,
      /Destination unreachable: Administratively prohibited/,
      `the reject is ICMPv6 type 1 code 1: ${rejected.errors[0]}`,
    );
    assert.equal(await tcp(dev, CLOSED), 'refused', `TCP ${CLOSED} ${hop(dev, srv, 6)}: a RST once rejecting`);
    assert.equal(await tcp(dev, OPEN), 'answered', `TCP ${OPEN} ${hop(dev, srv, 6)} still allowed`);
    await assertPings(lab, op, srv, 6);
  },
);
