// The lighthouse tier's own cost (docs/lighthouse-tier.md), in one process against a real nats-server: how fast the
// records of N hosts written by one lighthouse reach another, and what a query costs when it is answered from the
// tier (cache lookup, filters, reply, punch request published to NATS) next to one answered from the local view.
// Not the capacity benchmark (bench/lh-load.ts drives real handshakes and updates against a lighthouse process);
// this isolates what the tier adds per query.
//
//   node dist/bench/lh-tier-query.js [--hosts 10000] [--queries 200000]

import { parseArgs } from 'node:util';

import { systemClock } from '../pkg/clock/clock.js';
import type { HostInfo } from '../pkg/hostmap/hostinfo.js';
import { HostMap } from '../pkg/hostmap/hostmap.js';
import type { Ipv4 } from '../pkg/ip/ipv4.js';
import { parseIpPrefix } from '../pkg/ip/prefix.js';
import type { VpnIp } from '../pkg/ip/vpn-ip.js';
import { MetaType } from '../pkg/lighthouse/meta.js';
import { LighthouseServer } from '../pkg/lighthouse/server.js';
import { NatsStore } from '../pkg/lighthouse/store/nats-store.js';
import type { PunchRequest, ServedHost } from '../pkg/lighthouse/store/store.js';
import { Logger } from '../pkg/log/logger.js';
import { Counters } from '../pkg/metrics/counters.js';
import { udpAddr } from '../pkg/udp/addr.js';
import { NATS_PASSWORD, NATS_USER, NatsServer } from '../test/unit/helpers/nats-server.js';

const { values } = parseArgs({
  options: { hosts: { type: 'string', default: '10000' }, queries: { type: 'string', default: '200000' } },
});
const HOSTS = Number(values.hosts);
const QUERIES = Number(values.queries);
const BASE = 0x0a630000 + 16; // 10.99.0.16 on

function host(vpnIp: Ipv4): HostInfo {
  return {
    vpnIp,
    remote: udpAddr(`198.18.${(vpnIp >> 8) & 255}.${vpnIp & 255}`, 4242),
    certVersion: 1,
  } as unknown as HostInfo;
}

async function main(): Promise<void> {
  const cleanups: Array<() => unknown> = [];
  const nats = await NatsServer.start({ after: (fn) => cleanups.push(fn) });
  try {
    const config = {
      kind: 'nats' as const,
      servers: [nats.url],
      user: NATS_USER,
      password: NATS_PASSWORD,
      bucket: 'mesh_bench',
      ttlMs: 60_000,
    };
    const store = (id: string) =>
      new NatsStore({ config, id, clock: systemClock, log: new Logger('error'), counters: new Counters() });
    const served: ServedHost[] = [];
    for (let i = 0; i < HOSTS; i++)
      served.push({
        vpnIp: BASE + i,
        learned: udpAddr('198.18.1.1', 4242 + (i % 1000)),
        reported: [udpAddr('192.168.1.1', 4242)],
        relays: [],
      });
    let punchesAtLh1 = 0;
    const lh1 = store('lh-1');
    const lh2 = store('lh-2');
    const t0 = performance.now();
    lh1.attach({ served: () => served, punchRequested: (_r: PunchRequest) => punchesAtLh1++ });
    lh2.attach({ served: () => [], punchRequested: () => {} });
    const deadline = t0 + 120_000;
    while (lh2.lookup(BASE + HOSTS - 1) === undefined || [...lh2.remoteHosts()].length < HOSTS) {
      if (performance.now() > deadline) throw new Error('records did not arrive in 120 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    const propagateMs = performance.now() - t0;

    // Two lighthouse servers: lh-2 answers from the tier, a local one from its own hostmap (the same hosts).
    const vpnNetwork = parseIpPrefix('10.99.0.0/16');
    const asker = host(0x0a630002);
    let sent = 0;
    const env = (hosts: Map<VpnIp, HostInfo>, s?: NatsStore) => ({
      vpnNetworks: () => [vpnNetwork],
      remoteAllowed: () => true,
      hostFor: (ip: VpnIp) => hosts.get(ip),
      send: () => void sent++,
      tunnelEvents: new HostMap(),
      counters: new Counters(),
      ...(s ? { store: s } : {}),
    });
    const tierServer = new LighthouseServer(env(new Map([[asker.vpnIp, asker]]), lh2));
    const localHosts = new Map<VpnIp, HostInfo>([[asker.vpnIp, asker]]);
    for (let i = 0; i < HOSTS; i++) localHosts.set(BASE + i, host(BASE + i));
    const localServer = new LighthouseServer(env(localHosts));
    const run = (server: LighthouseServer): number => {
      const start = performance.now();
      for (let q = 0; q < QUERIES; q++)
        server.handle(asker, { type: MetaType.HostQuery, vpnIp: BASE + ((q * 7919) % HOSTS), addrs: [], relays: [] });
      return QUERIES / ((performance.now() - start) / 1000);
    };
    run(localServer); // warm-up
    const localQps = run(localServer);
    sent = 0;
    const tierQps = run(tierServer);
    const sentTier = sent;
    const t1 = performance.now();
    while (punchesAtLh1 < QUERIES && performance.now() - t1 < 30_000) await new Promise((r) => setTimeout(r, 20));
    const punchMs = performance.now() - t1;
    console.log(
      `hosts ${HOSTS}: records at the other lighthouse after ${propagateMs.toFixed(0)} ms (${((HOSTS / propagateMs) * 1000).toFixed(0)}/s)\n` +
        `queries answered, one thread: local view ${localQps.toFixed(0)}/s, from the tier ${tierQps.toFixed(0)}/s (${sentTier} replies for ${QUERIES})\n` +
        `punch requests delivered to the serving lighthouse: ${punchesAtLh1}/${QUERIES}, the last ${punchMs.toFixed(0)} ms after the queries ended`,
    );
    await Promise.all([lh1.close(), lh2.close()]);
  } finally {
    for (const fn of cleanups) await fn();
  }
}

await main();
