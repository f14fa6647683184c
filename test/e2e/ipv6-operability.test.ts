import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { StatusReport } from '../../pkg/control/reports.js';
import { Lab } from './lab/lab.js';
import { MESH_MAIN, meshImpl } from './lab/mesh-impl.js';
import { OverlayNet } from './lab/overlay-net.js';
import type { OverlayNode } from './lab/overlay-net.js';
import { assertPings } from './lab/overlay-check.js';

// The operator's view of a dual-stack mesh (issue 18: "mesh status, ping ... show IPv6 addresses"): `mesh status`
// (JSON and text) lists every overlay address of this node and of a dual-stack peer, and `mesh ping` takes an IPv6
// overlay address, run in the node's namespace against its control socket as a person would.

async function mesh(lab: Lab, node: OverlayNode, ...args: string[]) {
  const [command, ...rest] = args;
  return lab.exec(node.host, process.execPath, [MESH_MAIN, command!, '-config', node.configPath, ...rest], {
    check: false,
    timeoutMs: 20_000,
  });
}

test(
  'mesh status lists both overlay addresses of this node and of a dual-stack peer; mesh ping takes an IPv6 overlay address',
  { timeout: 60_000 },
  async (t) => {
    const lab = await Lab.create(t);
    const [hl, ha, hb] = await lab.flat(3);
    const net = await OverlayNet.create(lab, { ipv6: true });
    await net.start(hl!, { name: 'lh', impl: meshImpl, lighthouse: true, tunDisabled: true });
    const a = await net.start(ha!, { name: 'a', impl: meshImpl });
    const b = await net.start(hb!, { name: 'b', impl: meshImpl });
    await a.waitForLog(/Control socket listening/, 5000);
    await assertPings(lab, a, b, 6);

    const json = await mesh(lab, a, 'status', '-json');
    assert.equal(json.exitCode, 0, json.stderr);
    const report = JSON.parse(json.stdout) as StatusReport;
    assert.deepEqual(report.self.vpnCidrs, a.cert.networks, `status of a: its own networks\n${json.stdout}`);
    const peer = report.peers.find((p) => p.name === 'b');
    assert.ok(peer, `status of a lists b:\n${json.stdout}`);
    assert.equal(peer.vpnIp, b.address(4), 'the primary address is the first network of the certificate');
    assert.deepEqual(peer.vpnAddrs, [b.address(4), b.address(6)], `status of a: b's addresses\n${json.stdout}`);

    const text = await mesh(lab, a, 'status');
    assert.equal(text.exitCode, 0, text.stderr);
    assert.ok(text.stdout.includes(b.address(6)), `text status shows b's IPv6 address:\n${text.stdout}`);
    assert.ok(text.stdout.includes(a.address(6)), `text status shows a's own IPv6 network:\n${text.stdout}`);

    const ping = await mesh(lab, a, 'ping', '-c', '2', '-i', '0.2', '-W', '5', b.address(6));
    assert.equal(ping.exitCode, 0, `mesh ping a -> b over IPv6:\n${ping.stdout}${ping.stderr}\n${lab.logTails(20)}`);
    assert.equal(ping.stdout.split('\n').filter((l) => l.startsWith('reply from')).length, 2, ping.stdout);
    assert.ok(ping.stdout.includes(b.address(6)), `mesh ping prints the IPv6 address it pinged:\n${ping.stdout}`);
    for (const line of text.stdout.trimEnd().split('\n')) t.diagnostic(line);
  },
);
