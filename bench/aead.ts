// Per-packet AEAD cost on 1300-byte packets with a 16-byte header as associated data, for the backends we
// could put behind pkg/noise/aead.ts. Run: `node dist/bench/aead.js [packets per batch] [rounds]`.
//
// Candidates:
//   node/raw-key/new-nonce  createCipheriv with the raw key Buffer and a fresh nonce Buffer per packet
//   node/raw-key            same, one preallocated nonce Buffer
//   node/KeyObject          key imported once with createSecretKey, preallocated nonce
//   pkg createAead          what pkg/noise/aead.ts ships (seal also measured writing into a caller buffer)
//   noble                   @noble/ciphers gcm / chacha20poly1305, one cipher instance per packet (its API
//                           binds the nonce at construction); ChaCha20-Poly1305 also into an output buffer
//   native                  the addon's per-key OpenSSL context (pkg/noise/native-aead.ts), what session keys use
//                           when the addon is built: one packet per crossing, sealing into a caller buffer
//   native batch of N       the same, N packets of one buffer per crossing, sealed and opened in place
//   native, cold            2048 keys in turn, more than the addon keeps keyed OpenSSL contexts for (1024): every
//                           packet re-keys one (a lighthouse's or a busy hub's many idle tunnels)

import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { gcm } from '@noble/ciphers/aes.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { createAead, type AeadCipher } from '../pkg/noise/aead.js';
import { AEAD_META_WORDS, NativeAead, nativeAeadAddon } from '../pkg/noise/native-aead.js';

const PACKET = 1300;
const TAG = 16;

interface Candidate {
  name: string;
  /** Open is expected to fail: measures what a forged or replayed packet costs the receiver. */
  forged?: boolean;
  seal(counter: number): Uint8Array;
  open(counter: number, sealed: Uint8Array): Uint8Array | null;
}

const key = randomBytes(32);
const ad = randomBytes(16);
const plaintext = randomBytes(PACKET);
const outBuf = Buffer.allocUnsafe(PACKET + TAG + 64);

function nonceFor(cipher: AeadCipher, counter: number, nonce = Buffer.alloc(12)): Buffer {
  const high = Math.floor(counter / 2 ** 32);
  if (cipher === 'aes') {
    nonce.writeUInt32BE(high, 4);
    nonce.writeUInt32BE(counter >>> 0, 8);
  } else {
    nonce.writeUInt32LE(counter >>> 0, 4);
    nonce.writeUInt32LE(high, 8);
  }
  return nonce;
}

function nodeCandidate(cipher: AeadCipher, name: string, keyArg: Buffer | KeyObject, reuseNonce: boolean): Candidate {
  const algorithm = cipher === 'aes' ? 'aes-256-gcm' : 'chacha20-poly1305';
  const shared = Buffer.alloc(12);
  const nonce = (counter: number) => (reuseNonce ? nonceFor(cipher, counter, shared) : nonceFor(cipher, counter));
  return {
    name,
    seal(counter) {
      const c = createCipheriv(algorithm as 'aes-256-gcm', keyArg, nonce(counter), { authTagLength: TAG });
      c.setAAD(ad);
      const body = c.update(plaintext);
      c.final();
      return Buffer.concat([body, c.getAuthTag()]);
    },
    open(counter, sealed) {
      const d = createDecipheriv(algorithm as 'aes-256-gcm', keyArg, nonce(counter), { authTagLength: TAG });
      d.setAAD(ad);
      d.setAuthTag(sealed.subarray(sealed.length - TAG));
      const pt = d.update(sealed.subarray(0, sealed.length - TAG));
      d.final();
      return pt;
    },
  };
}

function pkgCandidate(cipher: AeadCipher, intoBuffer: boolean): Candidate {
  const aead = createAead(cipher, key);
  return {
    name: intoBuffer ? 'pkg createAead, seal into out' : 'pkg createAead',
    seal: (counter) => (intoBuffer ? aead.seal(counter, plaintext, ad, outBuf, 16) : aead.seal(counter, plaintext, ad)),
    open: (counter, sealed) => aead.open(counter, sealed, ad),
  };
}

function forgedCandidate(cipher: AeadCipher): Candidate {
  const aead = createAead(cipher, key);
  return {
    name: 'pkg createAead, open forged',
    forged: true,
    seal: (counter) => aead.seal(counter, plaintext, ad),
    // The wrong counter gives the wrong nonce, so the tag check fails as it would for a forgery.
    open: (counter, sealed) => aead.open(counter + 1, sealed, ad),
  };
}

function coldNativeCandidate(cipher: AeadCipher): Candidate | null {
  const addon = nativeAeadAddon();
  if (!addon) return null;
  const many = Array.from({ length: 2048 }, () => new NativeAead(addon, cipher, key));
  let turn = 0;
  return {
    name: 'native, cold',
    seal: (counter) => many[turn++ & 2047]!.seal(counter, plaintext, ad, outBuf, 16),
    open: (counter, sealed) => many[turn++ & 2047]!.open(counter, sealed, ad),
  };
}

function nativeCandidate(cipher: AeadCipher, forged: boolean): Candidate | null {
  const addon = nativeAeadAddon();
  if (!addon) return null;
  const aead = new NativeAead(addon, cipher, key);
  return {
    name: forged ? 'native, open forged' : 'native, seal into out',
    forged,
    seal: (counter) => aead.seal(counter, plaintext, ad, outBuf, 16),
    open: (counter, sealed) => aead.open(forged ? counter + 1 : counter, sealed, ad),
  };
}

/** CPU us per packet for batches of `batch` packets, sealed in place and then opened in place. */
function measureNativeBatch(
  cipher: AeadCipher,
  batch: number,
  packets: number,
  rounds: number,
): { seal: number; open: number } | null {
  const addon = nativeAeadAddon();
  if (!addon) return null;
  const aead = new NativeAead(addon, cipher, key);
  const stride = 16 + PACKET + TAG;
  const buf = new Uint8Array(stride * batch);
  const meta = new Uint32Array(batch * AEAD_META_WORDS);
  const counters = new Float64Array(batch);
  const ok = new Uint8Array(batch);
  const layout = (inputLen: number) => {
    for (let i = 0; i < batch; i++)
      meta.set([i * stride, 16, i * stride + 16, inputLen, i * stride + 16], i * AEAD_META_WORDS);
  };
  const batches = Math.max(1, Math.floor(packets / batch));
  const best = { seal: Infinity, open: Infinity };
  for (let round = 0; round <= rounds; round++) {
    let base = 3;
    const seal =
      time(batches, () => {
        for (let i = 0; i < batch; i++) {
          buf.set(plaintext, i * stride + 16);
          counters[i] = base++;
        }
        layout(PACKET);
        aead.sealBatch(buf, meta, counters, batch);
      }) / batch;
    // Open what the last round sealed (its counters are still in `counters`).
    layout(PACKET + TAG);
    const sealedCopy = Uint8Array.from(buf);
    const open =
      time(batches, () => {
        buf.set(sealedCopy);
        if (aead.openBatch(buf, meta, counters, batch, ok) !== batch) throw new Error('native batch did not open');
      }) / batch;
    if (round === 0) continue;
    best.seal = Math.min(best.seal, seal);
    best.open = Math.min(best.open, open);
  }
  aead.close();
  return best;
}

function nobleCandidate(cipher: AeadCipher, intoBuffer: boolean): Candidate {
  const make = cipher === 'aes' ? gcm : chacha20poly1305;
  const out = new Uint8Array(PACKET + TAG);
  return {
    name: intoBuffer ? 'noble, output buffer' : 'noble',
    seal: (counter) => {
      const c = make(key, nonceFor(cipher, counter), ad);
      return intoBuffer ? (c as ReturnType<typeof chacha20poly1305>).encrypt(plaintext, out) : c.encrypt(plaintext);
    },
    open: (counter, sealed) => make(key, nonceFor(cipher, counter), ad).decrypt(sealed),
  };
}

/**
 * CPU microseconds per packet. CPU time rather than wall time: this machine is shared, and time spent
 * descheduled is not the code's cost. (It includes GC helper threads, which is part of the real cost.)
 */
function time(packets: number, fn: (i: number) => void): number {
  const start = process.cpuUsage();
  for (let i = 0; i < packets; i++) fn(i);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / packets;
}

/**
 * Times every candidate in round-robin batches and keeps each one's best batch: on a shared machine load
 * comes in bursts (caches, frequency), and interleaving spreads them evenly over the candidates.
 */
function measureAll(candidates: Candidate[], packets: number, rounds: number): { seal: number; open: number }[] {
  const sealed = candidates.map((c) => {
    // A copy: a sealed view into a reused output buffer would be overwritten by the next seal.
    const s = Uint8Array.from(c.seal(3));
    if ((c.open(3, s) === null) !== (c.forged === true)) throw new Error(`${c.name}: open gave the wrong verdict`);
    return s;
  });
  const best = candidates.map(() => ({ seal: Infinity, open: Infinity }));
  for (let round = 0; round <= rounds; round++) {
    candidates.forEach((c, i) => {
      // noble is 3-10x slower: fewer packets keep the run short without changing the per-packet figure.
      const n = c.name.startsWith('noble') ? Math.max(200, Math.floor(packets / 5)) : packets;
      const seal = time(n, (k) => c.seal(k + 3));
      const open = time(n, () => c.open(3, sealed[i]));
      if (round === 0) return; // warm-up
      best[i].seal = Math.min(best[i].seal, seal);
      best[i].open = Math.min(best[i].open, open);
    });
  }
  return best;
}

function row(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
}

function main(): void {
  const packets = Number(process.argv[2] ?? 5000);
  const rounds = Number(process.argv[3] ?? 10);
  const mbps = (us: number) => PACKET / us; // bytes per microsecond = MB/s
  const widths = [10, 30, 11, 9, 11, 9];
  console.log(
    `AEAD cost per ${PACKET}-byte packet: best of ${rounds} interleaved batches of ${packets}, node ${process.version}`,
  );
  console.log('(us/pkt is CPU time; MB/s is what one core would do at that cost)');
  console.log(row(['cipher', 'backend', 'seal us/pkt', 'seal MB/s', 'open us/pkt', 'open MB/s'], widths));
  for (const cipher of ['aes', 'chachapoly'] as const) {
    const rawKey = Buffer.from(key);
    const candidates: Candidate[] = [
      nodeCandidate(cipher, 'node/raw-key/new-nonce', rawKey, false),
      nodeCandidate(cipher, 'node/raw-key', rawKey, true),
      nodeCandidate(cipher, 'node/KeyObject', createSecretKey(rawKey), true),
      pkgCandidate(cipher, false),
      pkgCandidate(cipher, true),
      forgedCandidate(cipher),
      nobleCandidate(cipher, false),
      ...[nativeCandidate(cipher, false), nativeCandidate(cipher, true), coldNativeCandidate(cipher)].filter(
        (c): c is Candidate => c !== null,
      ),
    ];
    // noble's GCM has no output-buffer form; only its ARX ciphers do.
    if (cipher === 'chachapoly') candidates.push(nobleCandidate(cipher, true));
    // Every candidate must agree on the bytes, or the numbers compare different work.
    const reference = Buffer.from(candidates[0].seal(1234));
    for (const c of candidates) {
      if (!reference.equals(Buffer.from(c.seal(1234))))
        throw new Error(`${c.name} (${cipher}) disagrees with node:crypto`);
    }
    measureAll(candidates, packets, rounds).forEach((r, i) => {
      const name = candidates[i].name;
      console.log(
        row(
          [cipher, name, r.seal.toFixed(2), mbps(r.seal).toFixed(0), r.open.toFixed(2), mbps(r.open).toFixed(0)],
          widths,
        ),
      );
    });
    for (const batch of [16, 64]) {
      const r = measureNativeBatch(cipher, batch, packets, rounds);
      if (!r) break;
      // Includes copying the packet into place (seal) and the sealed copy back (open), about what a data path does.
      console.log(
        row(
          [
            cipher,
            `native batch of ${batch}`,
            r.seal.toFixed(2),
            mbps(r.seal).toFixed(0),
            r.open.toFixed(2),
            mbps(r.open).toFixed(0),
          ],
          widths,
        ),
      );
    }
  }
}

main();
