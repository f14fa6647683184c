// What a lighthouse pays per responder handshake, garbage collection included: N Noise IX responder handshakes
// (read stage 1, write stage 2, as pkg/noise/ix.ts does for every node that connects) in one turn, with the CPU time
// and the GC pauses (PerformanceObserver 'gc' entries) over the same span. Every node:crypto object (a Hash, an
// Hmac, a cipher, a KeyObject) is a native wrapper the young-generation collections must find dead and finalize,
// which a plain CPU-per-call micro benchmark leaves out.
//
//   node dist/bench/lh-load-gc.js [handshakes] [DIST_ROOT]
//
// DIST_ROOT (default this build's dist/) lets two builds be compared in alternating runs: copy one build's dist/pkg
// next to the other and pass each root in turn. Run pinned (taskset -c 1) so GC helper threads share the core, as
// on a lighthouse pinned to one.

import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const count = Number(process.argv[2] ?? 3000);
const root = resolve(process.argv[3] ?? new URL('..', import.meta.url).pathname);

interface IxModule {
  IxInitiator: new (o: object) => { writeMessage1(p: Uint8Array): Uint8Array };
  IxResponder: new (o: object) => { readMessage1(m: Uint8Array): unknown; writeMessage2(p: Uint8Array): unknown };
}
interface X25519Module {
  staticSecret(p: Uint8Array): { publicKey: Uint8Array };
}

async function main(): Promise<void> {
  const ix = (await import(pathToFileURL(`${root}/pkg/noise/ix.js`).href)) as IxModule;
  const x = (await import(pathToFileURL(`${root}/pkg/noise/x25519.js`).href)) as X25519Module;
  const opts = (): object => {
    const staticPrivate = Uint8Array.from(randomBytes(32));
    const staticKey = x.staticSecret(staticPrivate);
    // Both forms of IxOptions: builds before review F14 read the pair (and an imported staticKey), later ones staticKey.
    return { cipher: 'aes', staticKey, staticPrivate, staticPublic: staticKey.publicKey };
  };
  const responder = opts();
  const payload = new Uint8Array(300); // about a v1 certificate and the indexes
  const stage1 = (n: number): Uint8Array[] =>
    Array.from({ length: n }, () => new ix.IxInitiator(opts()).writeMessage1(payload));
  const respond = (msgs: Uint8Array[]): void => {
    for (const m of msgs) {
      const r = new ix.IxResponder(responder);
      r.readMessage1(m);
      r.writeMessage2(payload);
    }
  };
  respond(stage1(300)); // warm-up: steady-state code, not the compiler
  const msgs = stage1(count);

  let gcMs = 0;
  let gcs = 0;
  let maxGcMs = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcMs += e.duration;
      gcs++;
      maxGcMs = Math.max(maxGcMs, e.duration);
    }
  });
  // Settle what the set-up left behind before the timed span.
  await new Promise((r) => setTimeout(r, 50));
  obs.observe({ entryTypes: ['gc'] });
  const t = process.cpuUsage();
  respond(msgs);
  const d = process.cpuUsage(t);
  // GC entries are delivered asynchronously.
  await new Promise((r) => setTimeout(r, 50));
  obs.disconnect();
  const cpuUs = (d.user + d.system) / count;
  console.log(
    JSON.stringify({
      root,
      handshakes: count,
      cpuUsPerHandshake: Number(cpuUs.toFixed(1)),
      gcUsPerHandshake: Number(((gcMs * 1000) / count).toFixed(1)),
      gcs,
      maxGcMs: Number(maxGcMs.toFixed(1)),
    }),
  );
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
