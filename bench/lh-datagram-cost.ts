// What a lighthouse pays per host update datagram on the whole node path, in process (issue 19: the lighthouse's
// steady CPU): a lighthouse MeshNode on the daemon's own UDP class (BatchConn on 127.0.0.1), one client node with a
// tunnel to it, and N HostUpdateNotifications sealed ahead under the client's key (the same update every time, as
// nodes send it every 10 s) handed to the lighthouse's outside pipeline (handleUdpPacket) one by one, each ack sent
// (sendmmsg) before the next. Covers header, hostmap lookup, AEAD open with its replay window, dispatch, the server,
// the ack's encoding, seal and send; not the socket's receive (recvmmsg, the sender table) nor the event loop's
// wake-up. Reports CPU microseconds per update (process.cpuUsage: the ack's sendmmsg included) and, with --heap,
// the bytes of young garbage each one left (V8's sampling heap profiler) and the functions that allocated them.
//
//   node dist/bench/lh-datagram-cost.js [--updates N] [--trials T] [--heap] [--build name=DIST ...]
//
// --build (repeatable; default: this tree's dist): each build runs in a child process of its own, the builds
// alternating --trials times, so before/after compare within one run (e.g. --build before=/tmp/s12-before/dist
// --build now=dist). In-process and single-threaded: no bench lock.

import { Session } from 'node:inspector/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { alternateBuilds, parseBuilds } from './alternate-builds.js';
import { benchCa, loadBuild, openBenchUnderlay, startInProcessNode } from './in-process-node.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const LH_IP = '100.127.253.1';
const NODE_IP = '100.127.253.2';
/** Updates handled before the timed span: the path optimized, the sender table and caches filled. */
const WARM = 20_000;

const { values } = parseArgs({
  options: {
    updates: { type: 'string', default: '100000' },
    trials: { type: 'string', default: '3' },
    heap: { type: 'boolean', default: false },
    build: { type: 'string', multiple: true, default: [] },
    child: { type: 'string' },
  },
});

if (values.child !== undefined) {
  const line = await measure(values.child, Number(values.updates), values.heap);
  console.log(line);
  process.exit(0);
}

const childArgs = ['--updates', String(values.updates), ...(values.heap ? ['--heap'] : [])];
alternateBuilds(
  fileURLToPath(import.meta.url),
  parseBuilds(values.build, resolve(HERE, '..')),
  Number(values.trials),
  childArgs,
);

/** One build's lighthouse, fed `n` updates after WARM; returns the result line. */
async function measure(dist: string, n: number, heap: boolean): Promise<string> {
  const mods = await loadBuild(dist);
  const { ipv4, header, outside, meta, addr } = mods;
  const ca = benchCa(mods, 'lh-datagram-cost CA');
  const sockets = await Promise.all([0, 1].map(() => openBenchUnderlay(mods)));
  const nodes: Array<import('../pkg/daemon/node.js').MeshNode> = [];
  // The lighthouse, then the client, which finds it in its static host map.
  const roles = [
    { ip: LH_IP, config: { lighthouse: { am_lighthouse: true }, tun: { disabled: true } } },
    {
      ip: NODE_IP,
      config: {
        static_host_map: { [LH_IP]: [`127.0.0.1:${sockets[0].localPort}`] },
        lighthouse: { hosts: [LH_IP], interval: 3600 /* the bench sends the updates */ },
        tun: { disabled: true },
      },
    },
  ];
  for (const [i, role] of roles.entries()) {
    nodes.push(await startInProcessNode(mods, ca, { bench: 'lh-datagram-cost', udp: sockets[i]!, ...role }));
  }
  const [lh, client] = [nodes[0]!, nodes[1]!];
  const deadline = Date.now() + 10_000;
  while ((lh.counters.get('lighthouse', 'update') ?? 0) < 1) {
    if (Date.now() > deadline) throw new Error('the client never reached the lighthouse');
    await new Promise((done) => setTimeout(done, 5));
  }
  const toLh = client.hostmap.byVpnIp.get(ipv4.parseIpv4(LH_IP))!;
  const atLh = lh.hostmap.byVpnIp.get(ipv4.parseIpv4(NODE_IP))!;
  const from = atLh.remote!;
  // A node's update: its two IPv4 addresses and one IPv6 one, no relays (as bench/lh-update-cost.ts sends).
  const payload = meta.encodeMeta({
    type: meta.MetaType.HostUpdateNotification,
    vpnIp: ipv4.parseIpv4(NODE_IP),
    addrs: [addr.udpAddr('192.0.2.7', 4242), addr.udpAddr('198.51.100.9', 4242), addr.udpAddr('2001:db8::7', 4242)],
    relays: [],
  });
  const packets: Buffer[] = [];
  let counter = toLh.sendCounter + 1000;
  for (let i = 0; i < WARM + n; i++) {
    const p = Buffer.alloc(header.HEADER_LEN + payload.length + 16);
    counter++;
    header.encodeHeader(p, 0, header.MessageType.LightHouse, 0, toLh.remoteIndex, counter);
    p.set(payload, header.HEADER_LEN);
    toLh.keys.send.seal(
      counter,
      p.subarray(header.HEADER_LEN, header.HEADER_LEN + payload.length),
      p.subarray(0, header.HEADER_LEN),
      p,
      header.HEADER_LEN,
    );
    packets.push(p);
  }
  const run = (lo: number, hi: number): void => {
    for (let i = lo; i < hi; i++) {
      outside.handleUdpPacket(lh, packets[i]!, from);
      lh.udp.flush?.();
    }
  };
  const updatesBefore = lh.counters.get('lighthouse', 'update') ?? 0;
  run(0, WARM);
  let line: string;
  if (heap) {
    const session = new Session();
    session.connect();
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 128,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    run(WARM, WARM + n);
    const { profile } = await session.post('HeapProfiler.stopSampling');
    const byFunction = new Map<string, number>();
    let total = 0;
    const walk = (node: typeof profile.head): void => {
      const f = node.callFrame;
      const name = `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
      total += node.selfSize;
      if (node.selfSize > 0) byFunction.set(name, (byFunction.get(name) ?? 0) + node.selfSize);
      for (const child of node.children) walk(child);
    };
    walk(profile.head);
    const top = [...byFunction]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([name, bytes]) => `${(bytes / n).toFixed(0)} ${name}`);
    line = `${(total / n).toFixed(0)} bytes per update; by function: ${top.join('; ')}`;
  } else {
    const cpu = process.cpuUsage();
    run(WARM, WARM + n);
    const used = process.cpuUsage(cpu);
    line = `${((used.user + used.system) / n).toFixed(2)} us CPU per update (user ${(used.user / n).toFixed(2)})`;
  }
  const handled = (lh.counters.get('lighthouse', 'update') ?? 0) - updatesBefore;
  if (handled !== WARM + n) throw new Error(`the lighthouse handled ${handled} of ${WARM + n} updates`);
  for (const node of nodes) await node.stop();
  for (const s of sockets) await s.close();
  return line;
}
