// Handshake and certificate curve operations by backend: node:crypto (what pkg/noise/x25519.ts and
// pkg/cert/ed25519.ts ship) against @noble/curves. Prints the first call (what a cold tunnel pays) and the warm
// per-operation cost. Run: `node dist/bench/curves.js [iterations]`. The noble import time is measured first,
// in a fresh process that has not loaded it yet.

import { randomBytes } from 'node:crypto';

import { ed25519PublicKey, ed25519Sign, ed25519Verify } from '../pkg/cert/ed25519.js';
import { generateX25519Secret, importX25519Secret, x25519SharedSecret } from '../pkg/noise/x25519.js';

const iterations = Number(process.argv[2] ?? 300);

function measure(fn: () => unknown): { firstMs: number; warmUs: number } {
  let t = performance.now();
  fn();
  const firstMs = performance.now() - t;
  t = performance.now();
  for (let i = 0; i < iterations; i++) fn();
  return { firstMs, warmUs: ((performance.now() - t) / iterations) * 1000 };
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const { ed25519, x25519 } = await import('@noble/curves/ed25519.js');
  const nobleImportMs = performance.now() - t0;

  const priv = Uint8Array.from(randomBytes(32));
  const peer = generateX25519Secret().publicKey;
  const mine = importX25519Secret(priv);
  const seed = Uint8Array.from(randomBytes(32));
  const caKey = ed25519PublicKey(seed);
  const details = Uint8Array.from(randomBytes(180)); // about a host certificate's canonical details
  const sig = ed25519Sign(details, seed);

  const rows: Array<[string, ReturnType<typeof measure>, ReturnType<typeof measure>]> = [
    [
      'X25519 shared secret',
      measure(() => x25519SharedSecret(mine, peer)),
      measure(() => x25519.getSharedSecret(priv, peer)),
    ],
    [
      'X25519 ephemeral key pair',
      measure(() => generateX25519Secret()),
      measure(() => x25519.getPublicKey(x25519.utils.randomSecretKey())),
    ],
    [
      'Ed25519 verify (certificate)',
      measure(() => ed25519Verify(sig, details, caKey)),
      measure(() => ed25519.verify(sig, details, caKey, { zip215: false })),
    ],
    ['Ed25519 sign', measure(() => ed25519Sign(details, seed)), measure(() => ed25519.sign(details, seed))],
  ];
  console.log(`noble import: ${nobleImportMs.toFixed(1)} ms; ${iterations} iterations per warm figure`);
  console.log('| operation | node:crypto first ms | node:crypto warm us | noble first ms | noble warm us |');
  console.log('|---|---|---|---|---|');
  for (const [name, node, noble] of rows) {
    console.log(
      `| ${name} | ${node.firstMs.toFixed(2)} | ${node.warmUs.toFixed(1)} | ${noble.firstMs.toFixed(2)} | ${noble.warmUs.toFixed(1)} |`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
