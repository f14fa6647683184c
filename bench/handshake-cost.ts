// CPU time of the Noise IX handshake per side (pkg/noise/ix.ts on pkg/noise/x25519.ts), what a lighthouse pays for
// each node that connects: the responder reads stage 1 and writes stage 2 (one ephemeral key pair, three DHs), the
// initiator writes stage 1 and reads stage 2. Then the whole responder path a lighthouse runs per node, through
// HandshakeManager.handleStage1 (pkg/handshake/manager.ts): the Noise messages, the payload, the peer certificate's
// verification against the CA pool, the candidate tunnel, stage 2, and the promotion by the peer's first packet
// (peerHasStage2, as pkg/datapath/outside.ts calls it), which cancels the candidate's delayed test request before
// it is sealed, as a lighthouse's nodes do (the count of sealed ones is printed); no sockets, so no system calls.
// CPU time (process.cpuUsage, GC threads included): other processes on the machine inflate it less than wall time,
// but still, through shared caches and clock frequency (rounds here spread by 10-30% under load), hence the A/B in
// one process. Run: `node dist/bench/handshake-cost.js [handshakes] [rounds] [OTHER_DIST]`; OTHER_DIST (another build's
// dist/ directory) runs its responder path in rounds alternating with this build's, in the same process.

import { randomBytes } from 'node:crypto';
import { execSync } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { CaPool } from '../pkg/cert/index.js';
import { ManualClock } from '../pkg/clock/clock.js';
import { HEADER_LEN } from '../pkg/header/header.js';
import { localIdentity } from '../pkg/handshake/identity.js';
import { HandshakeManager } from '../pkg/handshake/manager.js';
import { HostMap } from '../pkg/hostmap/hostmap.js';
import { Logger } from '../pkg/log/logger.js';
import { Counters } from '../pkg/metrics/counters.js';
import { IxInitiator, IxResponder, type IxOptions } from '../pkg/noise/ix.js';
import { importX25519Secret } from '../pkg/noise/x25519.js';
import { udpAddr } from '../pkg/udp/addr.js';
import { makeHostCert, makeTestCa } from '../test/unit/helpers/pki.js';
import { responderEnv } from '../test/unit/helpers/responder-env.js';
import { stage1Packet } from '../test/unit/helpers/stage1.js';

const count = Number(process.argv[2] ?? 2000);
const rounds = Number(process.argv[3] ?? 3);
/** Another build's dist/ directory (e.g. /tmp/before/dist): its responder path alternates with this one's. */
const otherRoot = process.argv[4];

function opts(): IxOptions {
  // Imported here once, as a daemon imports its static key at start: not part of a handshake's cost.
  return { cipher: 'aes', staticKey: importX25519Secret(randomBytes(32)) };
}

function cpuUs(fn: () => void): number {
  const t = process.cpuUsage();
  fn();
  const d = process.cpuUsage(t);
  return d.user + d.system;
}

const responderOpts = opts();
const initiators = Array.from({ length: count }, () => opts());
// Warm-up, so the figures are steady-state code, not the compiler.
for (let i = 0; i < 200; i++)
  new IxResponder(responderOpts).readMessage1(
    new IxInitiator(initiators[i % count]).writeMessage1(new Uint8Array(100)),
  );

let stage1: Uint8Array[] = [];
const initiatorState: IxInitiator[] = [];
const write1 = cpuUs(() => {
  for (const o of initiators) {
    const ini = new IxInitiator(o);
    initiatorState.push(ini);
    stage1.push(ini.writeMessage1(new Uint8Array(100)));
  }
});
const stage2: Uint8Array[] = [];
const respond = cpuUs(() => {
  for (const m of stage1) {
    const r = new IxResponder(responderOpts);
    r.readMessage1(m);
    stage2.push(r.writeMessage2(new Uint8Array(100)).message);
  }
});
stage1 = [];
const read2 = cpuUs(() => initiatorState.forEach((ini, i) => ini.readMessage2(stage2[i])));
// The whole responder path: `count` nodes of one CA, each with its own certificate and stage 1, answered by a
// lighthouse's HandshakeManager (info-level log lines, as a lighthouse runs, written nowhere).
const ca = makeTestCa();
const lhCert = makeHostCert(ca, { name: 'lighthouse', ip: '10.99.0.1/16' });
const lhIdentity = localIdentity(lhCert.cert, lhCert.privateKey);
const nodes = Array.from({ length: count }, (_, i) =>
  makeHostCert(ca, { name: `node ${i}`, ip: `10.99.${1 + (i >> 8)}.${i & 255}/16` }),
);

function stage1Packets(): Uint8Array[] {
  return nodes.map((n, i) => stage1Packet(n, i + 1));
}

/** The modules the responder path runs on, from this build or another one's dist/ (an A/B in one process). */
interface Build {
  name: string;
  HandshakeManager: typeof HandshakeManager;
  HostMap: typeof HostMap;
  ManualClock: typeof ManualClock;
  Logger: typeof Logger;
  Counters: typeof Counters;
  udpAddr: typeof udpAddr;
  /** A new CA pool: one per round, so no round finds certificates an earlier one verified (CaPool remembers them). */
  newPool: () => CaPool;
  identity: ReturnType<typeof localIdentity>;
}

const thisBuild: Build = {
  name: 'this build',
  HandshakeManager,
  HostMap,
  ManualClock,
  Logger,
  Counters,
  udpAddr,
  newPool: () => CaPool.fromPem(ca.pem),
  identity: lhIdentity,
};

async function otherBuild(root: string): Promise<Build> {
  const load = async <T>(path: string): Promise<T> => (await import(pathToFileURL(resolve(root, path)).href)) as T;
  const cert = await load<{ CaPool: typeof CaPool }>('pkg/cert/index.js');
  const id = await load<{ localIdentity: typeof localIdentity }>('pkg/handshake/identity.js');
  return {
    name: root,
    HandshakeManager: (await load<{ HandshakeManager: typeof HandshakeManager }>('pkg/handshake/manager.js'))
      .HandshakeManager,
    HostMap: (await load<{ HostMap: typeof HostMap }>('pkg/hostmap/hostmap.js')).HostMap,
    ManualClock: (await load<{ ManualClock: typeof ManualClock }>('pkg/clock/clock.js')).ManualClock,
    Logger: (await load<{ Logger: typeof Logger }>('pkg/log/logger.js')).Logger,
    Counters: (await load<{ Counters: typeof Counters }>('pkg/metrics/counters.js')).Counters,
    udpAddr: (await load<{ udpAddr: typeof udpAddr }>('pkg/udp/addr.js')).udpAddr,
    newPool: () => cert.CaPool.fromPem(ca.pem),
    identity: id.localIdentity(lhCert.cert, lhCert.privateKey),
  };
}

/** A lighthouse's handshake manager, and how many test requests it sealed (review F11: which path was measured). */
function lighthouse(
  b: Build,
  pool: CaPool,
): { manager: HandshakeManager; hostmap: HostMap; sealed: { testRequests: number } } {
  const hostmap = new b.HostMap();
  const sealed = { testRequests: 0 };
  const env = responderEnv({
    hostmap,
    clock: new b.ManualClock(1_000_000),
    log: new b.Logger('info', 'text', () => {}),
    counters: new b.Counters(),
    identity: () => b.identity,
    caPool: () => pool,
    // What the daemon's sendOnTunnel does short of the socket: seal an empty test request.
    sendTestRequest: (host) => {
      sealed.testRequests++;
      host.keys.send.seal(1, new Uint8Array(0), new Uint8Array(HEADER_LEN));
    },
  });
  return { manager: new b.HandshakeManager(env), hostmap, sealed };
}

/** Test requests sealed per build over its measured rounds. */
const testRequests = new Map<Build, number>();

function respondAll(b: Build, packets: Uint8Array[], pool: CaPool = b.newPool()): number {
  const { manager, hostmap, sealed } = lighthouse(b, pool);
  const us = cpuUs(() => {
    packets.forEach((packet, i) => {
      manager.handleStage1(packet, { from: b.udpAddr(`198.18.${1 + (i >> 8)}.${i & 255}`, 4242), reply: () => {} });
      const candidate = hostmap.candidatesFor(nodes[i].cert.details.ips[0].ip)[0];
      if (candidate) manager.peerHasStage2(candidate);
    });
    if (hostmap.byIndex.size !== packets.length)
      throw new Error(`${hostmap.byIndex.size} of ${packets.length} tunnels`);
  });
  testRequests.set(b, (testRequests.get(b) ?? 0) + sealed.testRequests);
  return us;
}

// With a second dist/ root, its rounds alternate with this build's, so load from other processes on the machine
// falls on both alike.
const builds = [thisBuild, ...(otherRoot === undefined ? [] : [await otherBuild(otherRoot)])];
const managerUs = builds.map(() => [] as number[]);
/** The same nodes again on the same lighthouse's CA pool: new stage 1s (keys, indexes), the same certificates. */
const rehandshakeUs = builds.map(() => [] as number[]);
for (const b of builds) respondAll(b, stage1Packets().slice(0, 200)); // warm-up
testRequests.clear();
for (let r = 0; r < rounds; r++) {
  builds.forEach((b, i) => {
    const pool = b.newPool();
    managerUs[i].push(respondAll(b, stage1Packets(), pool) / count);
    rehandshakeUs[i].push(respondAll(b, stage1Packets(), pool) / count);
  });
}
for (const us of [...managerUs, ...rehandshakeUs]) us.sort((a, b) => a - b);

const load = execSync('uptime')
  .toString()
  .trim()
  .replace(/^.*load/, 'load');
console.log(`${count} handshakes, ${load}`);
console.log(`responder (read stage 1 + write stage 2): ${(respond / count).toFixed(1)} us CPU each`);
console.log(`initiator (write stage 1 + read stage 2): ${((write1 + read2) / count).toFixed(1)} us CPU each`);
// The minimum too: other processes on the 2-core machine slow a round down (caches, frequency) even in CPU time,
// never up, so for an A/B of two builds under load the minimum is the steadier figure.
const figure = (us: number[]): string =>
  `${us[Math.floor(rounds / 2)].toFixed(1)} us CPU each, minimum ${us[0].toFixed(1)} ` +
  `(${rounds} rounds: ${us.map((u) => u.toFixed(1)).join(', ')})`;
builds.forEach((b, i) => {
  console.log(
    `lighthouse responder path (handleStage1 with certificate verification, candidate, promotion), ${b.name}: ` +
      `${figure(managerUs[i])}; the same nodes re-handshaking: ${figure(rehandshakeUs[i])}; ` +
      // The peer's first packet promotes each candidate at once, as a lighthouse's nodes do, so the delayed test
      // request is cancelled unsealed: 0 here means its seal is not in the figures.
      `test requests sealed: ${testRequests.get(b) ?? 0} of ${2 * rounds * count}`,
  );
});
