// What a lighthouse pays per host update, in process: N HostUpdateNotifications of the shape real nodes send every
// 10 s (v1 layout, naming the sender, two IPv4 and one IPv6 underlay address, no relays, the same as the last one),
// each decoded (decodeMeta) and handled (LighthouseServer.handle, which answers with a HostUpdateNotificationAck,
// encoded here as the node would), or, as the node does, handled as a repeat of the host's last update
// (LighthouseServer.handleRepeatedUpdate, where the build has it). Reports CPU microseconds and bytes allocated per
// update, for this build and, with --before DIST_ROOT, another build's dist/ in alternating rounds of the same run.
//
//   node dist/bench/lh-update-cost.js [--updates N] [--hosts H] [--rounds R] [--before /tmp/s8-before/dist] [--queries]
//
// --queries: N HostQuery messages instead (each host asks for another; decoded, answered with a HostQueryReply and a
// HostPunchNotification to the host asked about, both encoded).
//
// Bytes allocated: the young-generation collections over the timed span times its size (the bench re-runs itself with
// a 1 MB semi-space); the heap's growth over a short batch proved erratic (V8's allocation areas).

import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

interface MetaModule {
  encodeMeta(m: object, v?: number): Uint8Array;
  decodeMeta(b: Uint8Array): object;
}
interface ServerModule {
  LighthouseServer: new (env: object) => {
    handle(from: object, m: object, payload?: Uint8Array): void;
    /** Absent in builds before it (an older --before). */
    handleRepeatedUpdate?(from: object, payload: Uint8Array): boolean;
  };
}
interface Impl {
  name: string;
  /** One update from each host, in turn; with --queries, one query from each host for another one instead. */
  run(n: number): void;
}

const args = process.argv.slice(2);
function opt(name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
}
const updates = Number(opt('updates', '50000'));
const hostCount = Number(opt('hosts', '2000'));
const rounds = Number(opt('rounds', '4'));
const before = opt('before', '');
/** Queries (each answered with a reply and a punch notification to the host asked about) instead of updates. */
const queries = args.includes('--queries');
/** The young generation's size: every collection of it marks that much allocated. */
const SEMI_SPACE_MB = 1;

const gc = (globalThis as { gc?: () => void }).gc;

async function load(name: string, root: string): Promise<Impl> {
  const imp = async <T>(path: string): Promise<T> => (await import(pathToFileURL(`${root}/${path}`).href)) as T;
  const meta = await imp<MetaModule>('pkg/lighthouse/meta.js');
  const { LighthouseServer } = await imp<ServerModule>('pkg/lighthouse/server.js');
  const { Counters } = await imp<{ Counters: new () => object }>('pkg/metrics/counters.js');
  const { parseIpPrefix } = await imp<{ parseIpPrefix(t: string): object }>('pkg/ip/prefix.js');
  const networks = [parseIpPrefix('10.128.0.0/16')];
  const hosts = new Map<number, object>();
  let sent = 0;
  const server = new LighthouseServer({
    counters: new Counters(),
    hostFor: (v: number) => hosts.get(v),
    tunnelEvents: { onClosed: () => () => undefined },
    vpnNetworks: () => networks,
    remoteAllowed: () => true,
    // As the node does: every message the server sends is encoded (and then sealed, left out here).
    send: (_to: object, m: object) => {
      sent += meta.encodeMeta(m).length;
    },
  });
  const base = (10 << 24) | (128 << 16);
  const msgs: { host: object; bytes: Uint8Array }[] = [];
  for (let i = 0; i < hostCount; i++) {
    const vpnIp = (base + 1 + i) >>> 0;
    const host = {
      vpnIp,
      vpnAddrs: [vpnIp],
      remote: { address: `203.0.${(i >> 8) & 255}.${i & 255}`, port: 40000 + (i % 2000) },
      certVersion: 1,
    };
    hosts.set(vpnIp, host);
    const addrs = [
      { address: `192.168.${(i >> 8) & 255}.${i & 255}`, port: 4242 },
      { address: `172.16.${(i >> 8) & 255}.${i & 255}`, port: 4242 },
      { address: `2001:db8::${(i + 1).toString(16)}`, port: 4242 },
    ];
    msgs.push({ host, bytes: meta.encodeMeta({ type: 3, vpnIp, addrs, relays: [] }) });
  }
  // Every host has reported its addresses before any query (a steady lighthouse).
  for (const { host, bytes } of msgs) server.handle(host, meta.decodeMeta(bytes), bytes);
  const asks = msgs.map(({ host }, i) => ({
    host,
    bytes: meta.encodeMeta({ type: 1, vpnIp: base + 1 + ((i * 7 + 3) % hostCount), addrs: [], relays: [] }),
  }));
  return {
    name,
    run(n: number): void {
      if (queries) {
        for (let i = 0; i < n; i++) {
          const { host, bytes } = asks[i % asks.length];
          server.handle(host, meta.decodeMeta(bytes), bytes);
        }
        return;
      }
      // As the node does (MeshNode.onLighthouseMessage): a repeat of the host's last update is not decoded again.
      for (let i = 0; i < n; i++) {
        const { host, bytes } = msgs[i % msgs.length];
        if (server.handleRepeatedUpdate?.(host, bytes)) continue;
        server.handle(host, meta.decodeMeta(bytes), bytes);
      }
      if (sent < 0) throw new Error('unreachable'); // keeps `sent` observed
    },
  };
}

/** Minor collections seen so far ('gc' entries come asynchronously: read after a turn of the event loop). */
let scavenges = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MINOR) scavenges++;
  }
}).observe({ entryTypes: ['gc'] });
const turn = (): Promise<void> => new Promise((done) => setTimeout(done, 10));

async function measure(impl: Impl): Promise<{ usPerUpdate: number; bytesPerUpdate: number }> {
  gc?.();
  await turn();
  const s0 = scavenges;
  const c0 = process.cpuUsage();
  impl.run(updates);
  const c = process.cpuUsage(c0);
  await turn();
  // Each minor collection follows SEMI_SPACE_MB of allocation (less what survived, little in a steady state).
  return {
    usPerUpdate: (c.user + c.system) / updates,
    bytesPerUpdate: ((scavenges - s0) * SEMI_SPACE_MB * 2 ** 20) / updates,
  };
}

async function main(): Promise<void> {
  if (!gc) {
    const r = spawnSync(
      process.execPath,
      [
        '--expose-gc',
        `--min-semi-space-size=${SEMI_SPACE_MB}`,
        `--max-semi-space-size=${SEMI_SPACE_MB}`,
        process.argv[1],
        ...args,
      ],
      { stdio: 'inherit' },
    );
    process.exit(r.status ?? 1);
  }
  const here = resolve(new URL('..', import.meta.url).pathname);
  const impls = [await load('after', here)];
  if (before) impls.unshift(await load('before', resolve(before)));
  for (const impl of impls) impl.run(Math.max(hostCount * 3, 50_000)); // warm-up: every host has an entry, the code is optimised
  const results = new Map<string, { us: number[]; bytes: number[] }>(impls.map((i) => [i.name, { us: [], bytes: [] }]));
  for (let r = 0; r < rounds; r++) {
    for (const impl of r % 2 === 0 ? impls : [...impls].reverse()) {
      const m = await measure(impl);
      const acc = results.get(impl.name);
      acc?.us.push(m.usPerUpdate);
      acc?.bytes.push(m.bytesPerUpdate);
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(
    `${queries ? 'queries' : 'updates'} ${updates} x ${rounds} rounds, ${hostCount} hosts, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  for (const [name, { us, bytes }] of results) {
    console.log(
      `${name.padEnd(7)} ${median(us).toFixed(2)} us/${queries ? 'query' : 'update'} (${us.map((u) => u.toFixed(2)).join(' ')})  ` +
        `${Math.round(median(bytes))} bytes/${queries ? 'query' : 'update'}`,
    );
  }
}

await main();
