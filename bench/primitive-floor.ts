// The handshake's primitive floor, side by side with Nebula's: what one responder handshake (a lighthouse's cost per
// joining node) must spend in signature and curve operations before any protocol code runs. Ours go through
// node:crypto (OpenSSL), as the project's rules require for the handshake (pkg/cert/ed25519.ts, pkg/noise/x25519.ts);
// Nebula 1.6.1's through Go's crypto/ed25519 and golang.org/x/crypto/curve25519, timed by bench/go/primitive-floor.go
// when Debian's Go is installed (`apt install golang-go golang-golang-x-crypto-dev`; skipped otherwise, as this is a
// measurement of the other side, not a dependency of ours). A responder verifies the peer's certificate once and does
// four X25519 scalar multiplications: its ephemeral key pair and three shared secrets (ee, es, se; docs/handshake.md).
// Warm wall time per operation, rounds alternating between the two sides; each peer key is fresh, so our figure
// includes its import into a KeyObject, as a handshake with a new node does.
// Run: `node dist/bench/primitive-floor.js [iterations] [rounds]`.

import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ed25519PublicKey, ed25519Sign, ed25519Verify } from '../pkg/cert/ed25519.js';
import { generateX25519Secret, x25519SharedSecret } from '../pkg/noise/x25519.js';

const iterations = Number(process.argv[2] ?? 2000);
const rounds = Number(process.argv[3] ?? 3);

interface Floor {
  ed25519Verify: number;
  x25519KeyPair: number;
  x25519Shared: number;
}

function perOp(fn: (i: number) => unknown): number {
  for (let i = 0; i < iterations / 10 + 1; i++) fn(i);
  const t = performance.now();
  for (let i = 0; i < iterations; i++) fn(i);
  return ((performance.now() - t) / iterations) * 1000;
}

function nodeFloor(): Floor {
  const seed = Uint8Array.from(randomBytes(32));
  const caKey = ed25519PublicKey(seed);
  const details = Uint8Array.from(randomBytes(180)); // about a host certificate's signed details
  const sig = ed25519Sign(details, seed);
  const mine = generateX25519Secret();
  // New arrays each: the import cache (pkg/noise/key-object-cache.ts) keys on the array, so every call imports.
  const peers = Array.from({ length: iterations }, () => generateX25519Secret().publicKey);
  return {
    ed25519Verify: perOp(() => ed25519Verify(sig, details, caKey)),
    x25519KeyPair: perOp(() => generateX25519Secret()),
    x25519Shared: perOp((i) => x25519SharedSecret(mine, Uint8Array.from(peers[i % peers.length]!))),
  };
}

/** Builds the Go side into a temporary directory; undefined (with the reason printed) when Go is not installed. */
function buildGo(dir: string): string | undefined {
  const source = resolve(dirname(fileURLToPath(import.meta.url)), '../../bench/go/primitive-floor.go');
  const out = join(dir, 'primitive-floor');
  const r = spawnSync('go', ['build', '-o', out, source], {
    env: { ...process.env, GO111MODULE: 'off', GOPATH: '/usr/share/gocode', GOCACHE: join(dir, 'cache') },
    encoding: 'utf8',
  });
  if (r.error || r.status !== 0) {
    console.log(`Go side skipped: ${r.error?.message ?? r.stderr.trim().split('\n')[0]}`);
    console.log("(apt install golang-go golang-golang-x-crypto-dev to time Nebula 1.6.1's libraries)");
    return undefined;
  }
  return out;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const perHandshake = (f: Floor): number => f.ed25519Verify + f.x25519KeyPair + 3 * f.x25519Shared;

function main(): void {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-primitive-floor-'));
  try {
    const goBinary = buildGo(dir);
    const ours: Floor[] = [];
    const theirs: Floor[] = [];
    for (let r = 0; r < rounds; r++) {
      ours.push(nodeFloor());
      if (goBinary) theirs.push(JSON.parse(execFileSync(goBinary, [String(iterations)], { encoding: 'utf8' })));
    }
    const cell = (fs: Floor[], pick: (f: Floor) => number): string =>
      fs.length ? median(fs.map(pick)).toFixed(1) : '-';
    console.log(
      `${iterations} operations each, ${rounds} rounds alternating, median us (load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')})`,
    );
    console.log('| operation | mesh (node:crypto, OpenSSL) | nebula 1.6.1 (Go crypto) |');
    console.log('|---|---|---|');
    const rows: Array<[string, (f: Floor) => number]> = [
      ['Ed25519 verify (the peer certificate)', (f) => f.ed25519Verify],
      ['X25519 ephemeral key pair', (f) => f.x25519KeyPair],
      ['X25519 shared secret, new peer key', (f) => f.x25519Shared],
      ['one responder handshake: 1 verify + 1 key pair + 3 shared', perHandshake],
    ];
    for (const [name, pick] of rows) console.log(`| ${name} | ${cell(ours, pick)} | ${cell(theirs, pick)} |`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
