// One packet at a time through the real data path, in process (issue 19: the per-crossing JavaScript of a lone
// packet). Two MeshNodes on the daemon's own I/O classes (BatchConn on 127.0.0.1, LinuxTun on a socketpair, as the
// start-up warm-up's throwaway nodes run: pkg/daemon/warm-up.ts) with a tunnel between them; `a`'s TUN gets an echo
// request, `b`'s driver answers the moment `b` writes it to its TUN, and the round trip ends when `a` writes the
// reply. One round trip is four crossings (a TUN->UDP, b UDP->TUN, b TUN->UDP, a UDP->TUN) plus the drivers'
// socketpair writes and reads, all on this one thread, so its time is CPU time, without a second process's wake-up.
//
// Each --build (default: this tree's dist) gets its own pair, its modules and addon loaded from that dist, all in one
// process; the pairs take turns, one round trip each, --gap-ms apart (10: what a daemon pinged every 10 ms sees,
// caches and branch predictors gone cold; 0: the next turn of the event loop, everything hot), so every build meets
// the same machine. --warm round trips per pair first (V8 optimizes the path), then --rounds measured.
// --thrash-kb N: N KiB of memory written before each round trip (what other processes do to the caches meanwhile).
//
// `node dist/bench/lone-packet.js [--rounds N] [--warm N] [--gap-ms MS] [--thrash-kb N] [--build name=DIST ...]`
// In-process and single-threaded: no bench lock needed.

import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { parseBuilds } from './alternate-builds.js';
import { benchCa, loadBuild, openBenchUnderlay, startInProcessNode } from './in-process-node.js';

const HERE = dirname(fileURLToPath(import.meta.url));

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '1000' },
    warm: { type: 'string', default: '300' },
    'gap-ms': { type: 'string', default: '10' },
    'thrash-kb': { type: 'string', default: '0' },
    build: { type: 'string', multiple: true, default: [] },
  },
});

/** One build's pair: `roundTrip` sends a request through it and resolves with the microseconds until the reply. */
interface Pair {
  roundTrip(): Promise<number>;
  close(): Promise<void>;
}

const rounds = Number(values.rounds);
const warm = Number(values.warm);
const gapMs = Number(values['gap-ms']);
const thrash = Buffer.alloc(Number(values['thrash-kb']) * 1024);
const builds = parseBuilds(values.build, resolve(HERE, '..'));
const pairs: Pair[] = [];
for (let i = 0; i < builds.length; i++) pairs.push(await openPair(builds[i]!.dist, i));
const rtts: number[][] = builds.map(() => []);
for (let r = 0; r < warm + rounds; r++) {
  for (let i = 0; i < pairs.length; i++) {
    await new Promise((done) => (gapMs > 0 ? setTimeout(done, gapMs) : setImmediate(done)));
    if (thrash.length > 0) thrash.fill(r & 0xff);
    const us = await pairs[i]!.roundTrip();
    if (r >= warm) rtts[i]!.push(us);
  }
}
for (const p of pairs) await p.close();
const q = (xs: number[], f: number): number => xs[Math.min(xs.length - 1, Math.floor(xs.length * f))]!;
for (let i = 0; i < builds.length; i++) {
  const xs = rtts[i]!.sort((x, y) => x - y);
  console.log(
    `${builds[i]!.name.padEnd(10)} round trip (4 crossings) median ${q(xs, 0.5).toFixed(1)} us, p25 ` +
      `${q(xs, 0.25).toFixed(1)}, p75 ${q(xs, 0.75).toFixed(1)}, p90 ${q(xs, 0.9).toFixed(1)} (${xs.length}, gap ${gapMs} ms)`,
  );
}
process.exit(0);

async function openPair(dist: string, tag: number): Promise<Pair> {
  // The build under test, loaded from its own dist (its own module instances and addon).
  const mods = await loadBuild(dist);
  const ca = benchCa(mods, 'lone-packet CA');
  const opened: Array<{ close(): Promise<void> }> = [];
  const sockets = await Promise.all([0, 1].map(() => openBenchUnderlay(mods)));
  opened.push(...sockets);
  const tuns = [mods.tunPair.TunPair.open(`lone-a${tag}`, 1300), mods.tunPair.TunPair.open(`lone-b${tag}`, 1300)];
  opened.push(...tuns);
  const ips = ['100.127.254.1', '100.127.254.2'];
  const nodes: Array<{ stop(): Promise<void> }> = [];
  for (const i of [0, 1]) {
    const other = 1 - i;
    nodes.push(
      await startInProcessNode(mods, ca, {
        bench: 'lone-packet',
        ip: ips[i]!,
        udp: sockets[i]!,
        tun: tuns[i]!.tun,
        config: { static_host_map: { [ips[other]!]: [`127.0.0.1:${sockets[other]!.localPort}`] } },
      }),
    );
  }

  const A_IP = '100.127.254.1';
  const B_IP = '100.127.254.2';
  const request = mods.warmUpPackets.warmUpPacket(A_IP, B_IP, 0, false);
  const reply = mods.warmUpPackets.warmUpPacket(B_IP, A_IP, 0, true);
  let answered: (() => void) | null = null;
  tuns[1].onWrite(() => tuns[1].inject(reply));
  tuns[0].onWrite(() => answered?.());
  const roundTrip = (): Promise<number> =>
    new Promise((done) => {
      const start = process.hrtime.bigint();
      answered = () => {
        answered = null;
        done(Number(process.hrtime.bigint() - start) / 1000);
      };
      tuns[0].inject(request);
    });
  // The first request starts the handshake and waits in its queue.
  await roundTrip();
  return {
    roundTrip,
    close: async () => {
      for (const n of nodes) await n.stop();
      await Promise.all(opened.map((o) => o.close()));
    },
  };
}
