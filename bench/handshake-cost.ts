// CPU time of the Noise IX handshake per side (pkg/noise/ix.ts on pkg/noise/x25519.ts), what a lighthouse pays for
// each node that connects: the responder reads stage 1 and writes stage 2 (one ephemeral key pair, three DHs), the
// initiator writes stage 1 and reads stage 2. Then the whole responder path a lighthouse runs per node, through
// HandshakeManager.handleStage1 (pkg/handshake/manager.ts): the Noise messages, the payload, the peer certificate's
// verification against the CA pool, the candidate tunnel, stage 2 and its delayed test request, and the promotion by
// the peer's first packet (peerHasStage2, as pkg/datapath/outside.ts calls it); no sockets, so no system calls.
// CPU time (process.cpuUsage, GC threads included), so load from other processes on the machine does not inflate
// it. Run: `node dist/bench/handshake-cost.js [handshakes] [rounds]`.

import { randomBytes } from 'node:crypto';
import { execSync } from 'node:child_process';

import { CaPool, marshalCertificateForHandshake } from '../pkg/cert/index.js';
import { ManualClock } from '../pkg/clock/clock.js';
import { encodeHeader, HandshakeSubType, HEADER_LEN, MessageType } from '../pkg/header/header.js';
import { localIdentity } from '../pkg/handshake/identity.js';
import { HandshakeManager, type HandshakeEnv } from '../pkg/handshake/manager.js';
import { encodeHandshakePayload } from '../pkg/handshake/payload.js';
import { HostMap } from '../pkg/hostmap/hostmap.js';
import { Logger } from '../pkg/log/logger.js';
import { Counters } from '../pkg/metrics/counters.js';
import { IxInitiator, IxResponder, type IxOptions } from '../pkg/noise/ix.js';
import { staticSecret } from '../pkg/noise/x25519.js';
import { udpAddr } from '../pkg/udp/addr.js';
import { makeHostCert, makeTestCa } from '../test/unit/helpers/pki.js';

const count = Number(process.argv[2] ?? 2000);
const rounds = Number(process.argv[3] ?? 3);

function opts(): IxOptions {
  const staticPrivate = Uint8Array.from(randomBytes(32));
  // Imported here once, as a daemon imports its static key at start: not part of a handshake's cost.
  return { cipher: 'aes', staticPrivate, staticPublic: staticSecret(staticPrivate).publicKey };
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
const pool = CaPool.fromPem(ca.pem);
const lhCert = makeHostCert(ca, { name: 'lighthouse', ip: '10.99.0.1/16' });
const lhIdentity = localIdentity(lhCert.cert, lhCert.privateKey);
const nodes = Array.from({ length: count }, (_, i) =>
  makeHostCert(ca, { name: `node ${i}`, ip: `10.99.${1 + (i >> 8)}.${i & 255}/16` }),
);

function stage1Packets(): Uint8Array[] {
  return nodes.map((n, i) => {
    const msg = new IxInitiator({
      cipher: 'aes',
      staticPrivate: n.privateKey,
      staticPublic: n.cert.details.publicKey,
    }).writeMessage1(
      encodeHandshakePayload({
        cert: marshalCertificateForHandshake(n.cert),
        initiatorIndex: i + 1,
        responderIndex: 0,
        time: BigInt(Date.now()) * 1_000_000n,
      }),
    );
    const out = new Uint8Array(HEADER_LEN + msg.length);
    encodeHeader(out, 0, MessageType.Handshake, HandshakeSubType.IXPSK0, 0, 1);
    out.set(msg, HEADER_LEN);
    return out;
  });
}

function lighthouse(): { manager: HandshakeManager; hostmap: HostMap } {
  const hostmap = new HostMap();
  const env: HandshakeEnv = {
    hostmap,
    clock: new ManualClock(1_000_000),
    log: new Logger('info', 'text', () => {}),
    counters: new Counters(),
    cipher: 'aes',
    tryIntervalMs: 100,
    retries: 10,
    identity: () => lhIdentity,
    caPool: () => pool,
    candidates: () => [],
    send: () => {},
    remoteAllowed: () => true,
    openMapping: () => {},
    punchSettleMs: 100,
    splitByPunch: (_vpnIp, addrs) => ({ direct: [...addrs], punched: [] }),
    queryLighthouse: () => {},
    established: () => {},
    // What the daemon's sendOnTunnel does short of the socket: seal an empty test request.
    sendTestRequest: (host) => host.keys.send.seal(1, new Uint8Array(0), new Uint8Array(HEADER_LEN)),
    sendClose: () => {},
  };
  return { manager: new HandshakeManager(env), hostmap };
}

function respondAll(packets: Uint8Array[]): number {
  const { manager, hostmap } = lighthouse();
  return cpuUs(() => {
    packets.forEach((packet, i) => {
      manager.handleStage1(packet, { from: udpAddr(`198.18.${1 + (i >> 8)}.${i & 255}`, 4242), reply: () => {} });
      const candidate = hostmap.candidatesFor(nodes[i].cert.details.ips[0].ip)[0];
      if (candidate) manager.peerHasStage2(candidate);
    });
    if (hostmap.byIndex.size !== packets.length)
      throw new Error(`${hostmap.byIndex.size} of ${packets.length} tunnels`);
  });
}

respondAll(stage1Packets().slice(0, 200)); // warm-up
const managerUs: number[] = [];
for (let r = 0; r < rounds; r++) managerUs.push(respondAll(stage1Packets()) / count);
managerUs.sort((a, b) => a - b);

const load = execSync('uptime')
  .toString()
  .trim()
  .replace(/^.*load/, 'load');
console.log(`${count} handshakes, ${load}`);
console.log(`responder (read stage 1 + write stage 2): ${(respond / count).toFixed(1)} us CPU each`);
console.log(`initiator (write stage 1 + read stage 2): ${((write1 + read2) / count).toFixed(1)} us CPU each`);
console.log(
  `lighthouse responder path (handleStage1 with certificate verification, candidate, promotion): ` +
    `${managerUs[Math.floor(rounds / 2)].toFixed(1)} us CPU each (median of ${rounds} rounds: ` +
    `${managerUs.map((u) => u.toFixed(1)).join(', ')})`,
);
