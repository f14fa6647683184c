// CPU time of the Noise IX handshake per side (pkg/noise/ix.ts on pkg/noise/x25519.ts), what a lighthouse pays for
// each node that connects: the responder reads stage 1 and writes stage 2 (one ephemeral key pair, three DHs), the
// initiator writes stage 1 and reads stage 2. CPU time (process.cpuUsage), so load from other processes on the
// machine does not inflate it. Run: `node dist/bench/handshake-cost.js [handshakes]`.

import { randomBytes } from 'node:crypto';
import { execSync } from 'node:child_process';

import { IxInitiator, IxResponder, type IxOptions } from '../pkg/noise/ix.js';
import { staticSecret } from '../pkg/noise/x25519.js';

const count = Number(process.argv[2] ?? 2000);

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
const load = execSync('uptime')
  .toString()
  .trim()
  .replace(/^.*load/, 'load');
console.log(`${count} handshakes, ${load}`);
console.log(`responder (read stage 1 + write stage 2): ${(respond / count).toFixed(1)} us CPU each`);
console.log(`initiator (write stage 1 + read stage 2): ${((write1 + read2) / count).toFixed(1)} us CPU each`);
