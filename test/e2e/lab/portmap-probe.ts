// Runs one port-mapping client (pkg/portmap/) inside a lab namespace, driven over stdin, for the per-protocol e2e
// tests: maps at once, then "renew" renews, "delete" deletes and exits. Each step prints one JSON line.
//
//   ip netns exec NS node dist/test/e2e/lab/portmap-probe.js pcp|nat-pmp|upnp <internal port> <lifetime s>

import { createInterface } from 'node:readline';
import { defaultGateway } from '../../../pkg/portmap/gateway.js';
import { NatPmpClient } from '../../../pkg/portmap/natpmp.js';
import { PcpClient } from '../../../pkg/portmap/pcp.js';
import type { MappingClient, PortMapping } from '../../../pkg/portmap/types.js';
import { UpnpClient } from '../../../pkg/portmap/upnp.js';

function out(step: string, extra: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ step, ...extra })}\n`);
}

function shown(m: PortMapping): Record<string, unknown> {
  return {
    protocol: m.protocol,
    externalIp: m.externalIp,
    externalPort: m.externalPort,
    internalPort: m.internalPort,
    lifetimeSec: m.lifetimeSec,
  };
}

async function main(): Promise<void> {
  const [protocol, portText, lifetimeText] = process.argv.slice(2);
  const clients: Record<string, MappingClient> = {
    pcp: new PcpClient(),
    'nat-pmp': new NatPmpClient(),
    upnp: new UpnpClient(),
  };
  const client = clients[protocol as string];
  if (!client) throw new Error(`unknown protocol ${protocol}`);
  const gateway = await defaultGateway();
  if (gateway === null) throw new Error('no default gateway');
  const internalPort = Number(portText);
  const lifetimeSec = Number(lifetimeText);
  let m = await client.map({ gateway, internalPort, lifetimeSec });
  out('mapped', shown(m));
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'renew') {
      m = await client.map({ gateway, internalPort, lifetimeSec, previous: m });
      out('renewed', shown(m));
    } else if (line === 'delete') {
      await client.unmap(m);
      out('deleted', {});
      return;
    }
  }
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    out('error', { error: e.message });
    process.exit(1);
  },
);
