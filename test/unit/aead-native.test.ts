// The addon's AEAD (pkg/noise/native-aead.ts over pkg/native/aead.c) against node:crypto and @noble/ciphers on
// the same inputs, single packets and batches; its refusals (wrong tag, wrong AD, truncated, counters >= 2^53); use
// after close; and that contexts created and closed do not leak. Skipped when the addon is not built.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createAead, AeadCounterError, AEAD_TAG_LEN, type AeadCipher } from '../../pkg/noise/aead.js';
import { AEAD_META_WORDS, AeadClosedError, NativeAead, nativeAeadAddon } from '../../pkg/noise/native-aead.js';
import { createSessionAead } from '../../pkg/noise/session-aead.js';
import { loadNativeAddon, type AeadAddon } from '../../pkg/native/addon.js';
import { Rand, runFuzz } from './helpers/fuzz.js';
import { EDGE_COUNTERS, nobleAead } from './helpers/noble-aead.js';

const built = existsSync(fileURLToPath(new URL('../../../build/Release/mesh_native.node', import.meta.url)));
const skip = built ? false : 'the addon is not built (npx node-gyp rebuild)';
const addon = (): AeadAddon => loadNativeAddon();

const CIPHERS: AeadCipher[] = ['aes', 'chachapoly'];
const HEADER_LEN = 16;

/** Random inputs of lengths 0..9000 at the edge counters and random ones, from a seeded PRNG. */
function cases(r: Rand, n: number): { counter: number; pt: Uint8Array; ad: Uint8Array }[] {
  const out = [];
  for (let i = 0; i < n; i++) {
    const counter = i < EDGE_COUNTERS.length ? EDGE_COUNTERS[i]! : r.int(2 ** 53);
    const length = i === 0 ? 0 : r.chance(0.2) ? r.pick([1, 15, 16, 17, 1300, 9000]) : r.int(9001);
    out.push({ counter, pt: r.bytes(length), ad: r.bytes(r.chance(0.8) ? HEADER_LEN : r.int(64)) });
  }
  return out;
}

test('native seal equals node:crypto and @noble/ciphers, and each opens the others, both ciphers', { skip }, () => {
  const r = new Rand(19);
  for (const cipher of CIPHERS) {
    const key = r.bytes(32);
    const native = new NativeAead(addon(), cipher, key);
    const node = createAead(cipher, key);
    for (const { counter, pt, ad } of cases(r, 60)) {
      const sealed = native.seal(counter, pt, ad);
      const what = `${cipher} counter ${counter} length ${pt.length}`;
      assert.deepEqual(sealed, node.seal(counter, pt, ad), `node:crypto, ${what}`);
      assert.deepEqual(new Uint8Array(sealed), nobleAead(cipher, key, counter, ad).encrypt(pt), `noble, ${what}`);
      assert.deepEqual(native.open(counter, sealed, ad), Buffer.from(pt), what);
      assert.deepEqual(node.open(counter, sealed, ad), Buffer.from(pt), what);
    }
    native.close();
  }
});

test('native seal writes into the caller buffer at its offset, as the node:crypto Aead does', { skip }, () => {
  const key = new Uint8Array(32).fill(7);
  for (const cipher of CIPHERS) {
    const pt = new Uint8Array(100).fill(1);
    const ad = new Uint8Array(16).fill(2);
    const out = Buffer.alloc(200, 0xee);
    const view = new NativeAead(addon(), cipher, key).seal(3, pt, ad, out, 16);
    assert.equal(view.byteOffset - out.byteOffset, 16);
    assert.deepEqual(view, createAead(cipher, key).seal(3, pt, ad));
    assert.equal(out[15], 0xee);
    assert.equal(out[16 + 116], 0xee);
  }
});

test('batches seal and open like single packets; per-packet flags; in place', { skip }, () => {
  const r = new Rand(20);
  for (const cipher of CIPHERS) {
    const key = r.bytes(32);
    const native = new NativeAead(addon(), cipher, key);
    const node = createAead(cipher, key);
    const list = cases(r, 24);
    // Layout per record: ad, then the plaintext, sealed in place (tag after it).
    const size = list.reduce((s, c) => s + c.ad.length + c.pt.length + AEAD_TAG_LEN, 0);
    const buf = new Uint8Array(size);
    const meta = new Uint32Array(list.length * AEAD_META_WORDS);
    const counters = new Float64Array(list.length);
    let at = 0;
    list.forEach((c, i) => {
      buf.set(c.ad, at);
      buf.set(c.pt, at + c.ad.length);
      meta.set([at, c.ad.length, at + c.ad.length, c.pt.length, at + c.ad.length], i * AEAD_META_WORDS);
      counters[i] = c.counter;
      at += c.ad.length + c.pt.length + AEAD_TAG_LEN;
    });
    native.sealBatch(buf, meta, counters, list.length);
    list.forEach((c, i) => {
      const m = meta.subarray(i * AEAD_META_WORDS);
      assert.deepEqual(
        Buffer.from(buf.subarray(m[2]!, m[2]! + c.pt.length + AEAD_TAG_LEN)),
        node.seal(c.counter, c.pt, c.ad),
      );
      m[3] = c.pt.length + AEAD_TAG_LEN; // now the input is ciphertext and tag
    });
    // Spoil records 1 (tag), 2 (AD) and 3 (counter); the rest must still open.
    const tagAt = (i: number) => meta[i * AEAD_META_WORDS + 2]! + meta[i * AEAD_META_WORDS + 3]! - 1;
    buf[tagAt(1)]! ^= 1;
    buf[meta[2 * AEAD_META_WORDS]!]! ^= 0x80;
    counters[3] = counters[3]! + 1;
    const ok = new Uint8Array(list.length).fill(9);
    assert.equal(native.openBatch(buf, meta, counters, list.length, ok), list.length - 3);
    list.forEach((c, i) => {
      const m = meta.subarray(i * AEAD_META_WORDS);
      const out = buf.subarray(m[4]!, m[4]! + c.pt.length);
      if (i >= 1 && i <= 3) {
        assert.equal(ok[i], 0, `record ${i} must fail`);
        assert.ok(
          out.every((b) => b === 0),
          `record ${i}: unauthenticated plaintext wiped`,
        );
      } else {
        assert.equal(ok[i], 1, `record ${i}`);
        assert.deepEqual(out, c.pt);
      }
    });
    native.close();
  }
});

/** A record's five words as the single calls' trailing arguments. */
function fields(m: Uint32Array): [number, number, number, number, number] {
  return [m[0]!, m[1]!, m[2]!, m[3]!, m[4]!];
}

test(
  "a batch of one crosses as numbers (aead_seal_single/aead_open_single): the batch call's bytes and refusals",
  { skip },
  () => {
    const r = new Rand(23);
    const a = addon();
    for (const cipher of CIPHERS) {
      const key = r.bytes(32);
      const native = new NativeAead(a, cipher, key);
      const ctx = a.aead_create(CIPHERS.indexOf(cipher) as 0 | 1, key);
      const node = createAead(cipher, key);
      for (const c of cases(r, 16)) {
        // ad at 3, plaintext after it, sealed elsewhere in the buffer (outOff != inputOff) through NativeAead.
        const adOff = 3;
        const ptOff = adOff + c.ad.length;
        const outOff = ptOff + c.pt.length + 5;
        const buf = new Uint8Array(outOff + c.pt.length + AEAD_TAG_LEN + 2);
        buf.set(c.ad, adOff);
        buf.set(c.pt, ptOff);
        const twin = buf.slice();
        const meta = new Uint32Array([adOff, c.ad.length, ptOff, c.pt.length, outOff]);
        native.sealBatch(buf, meta, new Float64Array([c.counter]), 1);
        const sealed = buf.subarray(outOff, outOff + c.pt.length + AEAD_TAG_LEN);
        assert.deepEqual(Buffer.from(sealed), node.seal(c.counter, c.pt, c.ad));
        assert.equal(a.aead_seal_batch(ctx, twin, meta, new Float64Array([c.counter]), 1), 1);
        assert.deepEqual(twin, buf, 'the same bytes as the batch call, nothing else touched');
        // Open back in place over the plaintext's old place; a flipped tag or a wrong counter refuses and wipes.
        const openMeta = new Uint32Array([adOff, c.ad.length, outOff, c.pt.length + AEAD_TAG_LEN, ptOff]);
        buf.fill(0xee, ptOff, ptOff + c.pt.length);
        const ok = new Uint8Array(1).fill(9);
        assert.equal(native.openBatch(buf, openMeta, new Float64Array([c.counter]), 1, ok), 1);
        assert.equal(ok[0], 1);
        assert.deepEqual(buf.subarray(ptOff, ptOff + c.pt.length), c.pt);
        buf[outOff + c.pt.length + AEAD_TAG_LEN - 1]! ^= 1;
        buf.fill(0xee, ptOff, ptOff + c.pt.length);
        assert.equal(native.openBatch(buf, openMeta, new Float64Array([c.counter]), 1, ok), 0);
        assert.equal(ok[0], 0);
        assert.ok(
          buf.subarray(ptOff, ptOff + c.pt.length).every((b) => b === 0),
          'unauthenticated output wiped',
        );
        buf[outOff + c.pt.length + AEAD_TAG_LEN - 1]! ^= 1;
        const next = c.counter + 1 < 2 ** 53 ? c.counter + 1 : c.counter - 1;
        assert.equal(a.aead_open_single(ctx, buf, next, ...fields(openMeta)), false, 'wrong counter');
        assert.equal(a.aead_open_single(ctx, buf, c.counter, ...fields(openMeta)), true);
      }
      // What the batch call refuses, the single one refuses the same way.
      const buf = new Uint8Array(64);
      assert.throws(() => a.aead_seal_single(ctx, buf, 1, 0, 0, 60, 10, 0), RangeError, 'input past the end');
      assert.throws(() => a.aead_seal_single(ctx, buf, 1, 0, 0, 0, 10, 50), RangeError, 'output past the end');
      assert.throws(() => a.aead_seal_single(ctx, buf, 1, 0, 0, 0, 20, 1), RangeError, 'partial overlap');
      assert.throws(() => a.aead_seal_single(ctx, buf, 2 ** 53, 0, 0, 0, 10, 0), RangeError, 'counter');
      assert.equal(a.aead_seal_single(ctx, buf, 1, 0, 4, 4, 10, 4), 26, 'in place: plaintext + tag');
      assert.equal(a.aead_open_single(ctx, buf, 1, 0, 4, 4, 26, 4), true);
      assert.equal(a.aead_open_single(ctx, buf, 1, 0, 0, 40, 40, 0), false, 'input past the end');
      assert.equal(a.aead_open_single(ctx, buf, 1, 0, 0, 0, 15, 0), false, 'shorter than a tag');
      assert.equal(a.aead_open_single(ctx, buf, 2 ** 53, 0, 4, 4, 26, 4), false, 'counter');
      a.aead_close(ctx);
      const closed = (e: unknown) => (e as { code?: string }).code === 'EAEADCLOSED';
      assert.throws(() => a.aead_seal_single(ctx, buf, 1, 0, 4, 4, 10, 4), closed);
      assert.throws(() => a.aead_open_single(ctx, buf, 1, 0, 4, 4, 26, 4), closed);
      native.close();
    }
  },
);

test('refused: wrong tag, wrong AD, flipped ciphertext, wrong counter, truncated or short input', { skip }, () => {
  const key = new Uint8Array(32).fill(3);
  for (const cipher of CIPHERS) {
    const aead = new NativeAead(addon(), cipher, key);
    const ad = new Uint8Array(16).fill(5);
    const sealed = aead.seal(1000, new Uint8Array(64).fill(6), ad);
    const flip = (at: number) => {
      const copy = Buffer.from(sealed);
      copy[at]! ^= 1;
      return copy;
    };
    assert.equal(aead.open(1000, flip(sealed.length - 1), ad), null, 'tag');
    assert.equal(aead.open(1000, flip(0), ad), null, 'ciphertext');
    assert.equal(aead.open(1000, sealed, new Uint8Array(16).fill(4)), null, 'AD');
    assert.equal(aead.open(1000, sealed, ad.subarray(0, 15)), null, 'AD length');
    assert.equal(aead.open(1001, sealed, ad), null, 'counter');
    assert.equal(aead.open(1000, sealed.subarray(0, sealed.length - 1), ad), null, 'truncated');
    assert.equal(aead.open(1000, sealed.subarray(0, 15), ad), null, 'shorter than a tag');
    assert.equal(aead.open(1000, new Uint8Array(0), ad), null, 'empty');
    assert.ok(aead.open(1000, sealed, ad), 'the untouched packet still opens');
  }
});

test('counters outside [0, 2^53): seal throws, batch seal throws before sealing any, open refuses', { skip }, () => {
  const key = new Uint8Array(32).fill(8);
  for (const cipher of CIPHERS) {
    const aead = new NativeAead(addon(), cipher, key);
    const ad = new Uint8Array(16);
    const pt = new Uint8Array(10);
    for (const bad of [2 ** 53, 2 ** 64, -1, 1.5, NaN, Infinity]) {
      assert.throws(() => aead.seal(bad, pt, ad), AeadCounterError, `${bad}`);
      // The addon refuses it too, whatever a caller of its own might skip.
      assert.throws(() => addon().aead_seal(aeadCtxOf(cipher, key), bad, ad, pt, new Uint8Array(64), 0), RangeError);
    }
    const sealed = aead.seal(2 ** 53 - 1, pt, ad);
    assert.ok(aead.open(2 ** 53 - 1, sealed, ad));
    for (const bad of [2 ** 53, 2 ** 53 + 2, -1, 0.5, NaN]) assert.equal(aead.open(bad, sealed, ad), null, `${bad}`);

    const buf = new Uint8Array(64);
    const meta = new Uint32Array([0, 0, 0, 10, 0, 32, 0, 32, 10, 32]);
    const before = Uint8Array.from(buf);
    assert.throws(() => aead.sealBatch(buf, meta, new Float64Array([5, 2 ** 53]), 2), AeadCounterError);
    assert.deepEqual(buf, before, 'nothing sealed');
    assert.throws(
      () => addon().aead_seal_batch(aeadCtxOf(cipher, key), buf, meta, new Float64Array([5, 2 ** 53]), 2),
      RangeError,
    );
    assert.deepEqual(buf, before, 'nothing sealed by the addon either');
  }
});

function aeadCtxOf(cipher: AeadCipher, key: Uint8Array) {
  return addon().aead_create(cipher === 'aes' ? 0 : 1, key);
}

test(
  'use after close: seal throws AeadClosedError, open and openBatch refuse, the addon throws EAEADCLOSED',
  { skip },
  () => {
    for (const cipher of CIPHERS) {
      const key = new Uint8Array(32).fill(1);
      const aead = new NativeAead(addon(), cipher, key);
      const ad = new Uint8Array(16);
      const sealed = aead.seal(7, new Uint8Array(20), ad);
      aead.close();
      aead.close(); // idempotent
      assert.throws(() => aead.seal(8, new Uint8Array(20), ad), AeadClosedError);
      assert.equal(aead.open(7, sealed, ad), null);
      const ok = new Uint8Array(1).fill(1);
      assert.equal(aead.openBatch(sealed, new Uint32Array([0, 0, 0, 36, 0]), new Float64Array([7]), 1, ok), 0);
      assert.equal(ok[0], 0);
      assert.throws(
        () => aead.sealBatch(new Uint8Array(64), new Uint32Array(5), new Float64Array(1), 1),
        AeadClosedError,
      );

      const ctx = aeadCtxOf(cipher, key);
      addon().aead_close(ctx);
      addon().aead_close(ctx);
      const closed = (e: unknown) => (e as { code?: string }).code === 'EAEADCLOSED';
      assert.throws(() => addon().aead_seal(ctx, 1, ad, ad, new Uint8Array(64), 0), closed);
      assert.throws(() => addon().aead_open(ctx, 7, ad, sealed, new Uint8Array(64)), closed);
      assert.throws(() => addon().aead_open_batch(ctx, sealed, new Uint32Array(5), new Float64Array(1), 1, ok), closed);
    }
  },
);

test('the addon refuses records and outputs outside its buffers instead of touching other memory', { skip }, () => {
  const a = addon();
  const ctx = a.aead_create(0, new Uint8Array(32));
  const ad = new Uint8Array(16);
  assert.throws(() => a.aead_seal(ctx, 1, ad, new Uint8Array(100), new Uint8Array(115), 0), RangeError, 'short out');
  assert.throws(() => a.aead_seal(ctx, 1, ad, new Uint8Array(10), new Uint8Array(64), 40), RangeError, 'offset');
  const shared = new Uint8Array(64);
  assert.throws(() => a.aead_seal(ctx, 1, ad, shared.subarray(0, 20), shared, 1), RangeError, 'partial overlap');
  assert.throws(() => a.aead_open(ctx, 1, ad, new Uint8Array(40), new Uint8Array(23)), RangeError, 'short out');
  const buf = new Uint8Array(64);
  assert.throws(
    () => a.aead_seal_batch(ctx, buf, new Uint32Array([0, 0, 60, 10, 0]), new Float64Array([1]), 1),
    RangeError,
  );
  assert.throws(
    () => a.aead_seal_batch(ctx, buf, new Uint32Array([0, 0, 0, 10, 50]), new Float64Array([1]), 1),
    RangeError,
  );
  assert.throws(() => a.aead_seal_batch(ctx, buf, new Uint32Array(5), new Float64Array(1), 2), RangeError, 'count');
  const ok = new Uint8Array(1).fill(1);
  assert.equal(a.aead_open_batch(ctx, buf, new Uint32Array([0, 0, 40, 40, 0]), new Float64Array([1]), 1, ok), 0);
  assert.equal(ok[0], 0);
  a.aead_close(ctx);
});

test('hostile datagrams and records never throw from open and never authenticate (fuzz)', { skip }, () => {
  const a = addon();
  const key = new Uint8Array(32).fill(9);
  const aeads = CIPHERS.map((c) => new NativeAead(a, c, key));
  const counters = [0, 3, 2 ** 32, 2 ** 53 - 1, 2 ** 53, -1, 0.5, NaN, Infinity, -Infinity, 2 ** 64];
  const stats = runFuzz('native aead open', { iterations: 20_000, minIterations: 101, ms: 1500 }, (r) => {
    const aead = r.pick(aeads);
    const packet = r.bytes(r.int(200));
    const counter = r.pick(counters);
    assert.equal(aead.open(counter, packet, packet.subarray(0, Math.min(16, packet.length))), null);
    const meta = new Uint32Array(AEAD_META_WORDS);
    for (let w = 0; w < AEAD_META_WORDS; w++) meta[w] = r.chance(0.5) ? r.int(packet.length + 2) : r.int(2 ** 32);
    const ok = new Uint8Array(1);
    assert.equal(aead.openBatch(packet, meta, new Float64Array([counter]), 1, ok), 0);
  });
  assert.ok(stats.iterations > 100, `only ${stats.iterations} iterations`);
  for (const aead of aeads) aead.close();
});

// node runs N-API finalizers from the event loop, not inside gc(): the churn yields between chunks so they can.
const gc = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

async function rssGrowthMiB(contexts: number, close: boolean): Promise<number> {
  const a = addon();
  const key = new Uint8Array(32).fill(2);
  const churn = async (n: number) => {
    for (let done = 0; done < n; done += 10_000) {
      for (let i = 0; i < 10_000; i++) {
        const ctx = a.aead_create((i & 1) as 0 | 1, key);
        if (close) a.aead_close(ctx);
      }
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  await churn(50_000); // warm up: allocator arenas, the JIT, the finalizer queue
  const before = process.memoryUsage.rss();
  await churn(contexts);
  return (process.memoryUsage.rss() - before) / 2 ** 20;
}

// An OpenSSL cipher context with its key schedule is ~0.5-1.2 KiB: leaking 100k would add 50-120 MiB.
test('100k contexts created and closed leave the resident set bounded (no leak)', { skip }, async () => {
  const grown = await rssGrowthMiB(100_000, true);
  assert.ok(grown < 8, `RSS grew ${grown.toFixed(1)} MiB over 100k create/close`);
});

test('100k contexts never closed are freed by the finalizer (no leak)', { skip }, async () => {
  const grown = await rssGrowthMiB(100_000, false);
  assert.ok(grown < 8, `RSS grew ${grown.toFixed(1)} MiB over 100k contexts left to the collector`);
});

test('session keys use the addon when it is built, and MESH_AEAD=node is not set here', { skip }, () => {
  assert.equal(process.env['MESH_AEAD'], undefined);
  assert.ok(nativeAeadAddon());
  const aead = createSessionAead('aes', new Uint8Array(32));
  assert.ok(aead instanceof NativeAead);
  aead.close();
});

test('MESH_AEAD=node selects node:crypto for session keys, once, and both backends interoperate', { skip }, () => {
  const module = new URL('../../pkg/noise/session-aead.js', import.meta.url).href;
  const script = `import { createSessionAead } from ${JSON.stringify(module)};
    const a = createSessionAead('chachapoly', new Uint8Array(32).fill(4));
    process.stdout.write(a.constructor.name + ' ' + a.seal(3, new Uint8Array(5), new Uint8Array(16)).toString('hex'));`;
  const run = (env: NodeJS.ProcessEnv) =>
    spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 10_000,
    });
  const forced = run({ MESH_AEAD: 'node' });
  const native = run({ MESH_AEAD: '' });
  assert.equal(forced.status, 0, forced.stderr);
  assert.equal(native.status, 0, native.stderr);
  const [forcedName, forcedHex] = forced.stdout.split(' ');
  const [nativeName, nativeHex] = native.stdout.split(' ');
  assert.equal(forcedName, 'NodeAead');
  assert.equal(nativeName, 'NativeAead');
  assert.equal(forcedHex, nativeHex);
});

// The addon keeps OpenSSL contexts keyed for the 1024 most recently used keys and re-keys one for any other
// (pkg/native/aead.c): every key must still seal and open as node:crypto does, whichever context it lands on.
test(
  '3000 contexts used round-robin, some closed midway, all agree with node:crypto (re-keyed contexts)',
  { skip },
  () => {
    const r = new Rand(21);
    const a = addon();
    const n = 3000;
    const keys = Array.from({ length: n }, () => r.bytes(32));
    const ciphers = keys.map((_, i): AeadCipher => (i % 3 === 0 ? 'chachapoly' : 'aes'));
    const natives = keys.map((key, i) => new NativeAead(a, ciphers[i]!, key));
    const ad = r.bytes(16);
    const pt = r.bytes(200);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < n; i++) {
        const native = natives[i]!;
        if (native.closed) {
          assert.throws(() => native.seal(round, pt, ad), AeadClosedError);
          continue;
        }
        const sealed = native.seal(round + 3, pt, ad);
        assert.deepEqual(
          sealed,
          createAead(ciphers[i]!, keys[i]!).seal(round + 3, pt, ad),
          `context ${i} round ${round}`,
        );
        assert.deepEqual(native.open(round + 3, sealed, ad), Buffer.from(pt), `context ${i} round ${round}`);
        // Walk backwards through some: the least recently used end of the list changes hands too.
        if (round === 1 && i % 7 === 0) natives[n - 1 - i]!.close();
      }
    }
    for (const native of natives) native.close();
  },
);

test(
  '100k live contexts cost under 1 KiB each (OpenSSL contexts are kept for the recently used only)',
  { skip },
  async () => {
    const a = addon();
    const key = new Uint8Array(32).fill(6);
    gc();
    const before = process.memoryUsage.rss();
    const live = [];
    for (let i = 0; i < 100_000; i++) live.push(a.aead_create((i & 1) as 0 | 1, key));
    const perContext = (process.memoryUsage.rss() - before) / live.length;
    for (const ctx of live) a.aead_close(ctx);
    // A keyed OpenSSL context alone is ~1.4-1.5 KiB; the context itself ~0.4 KiB with its JS external.
    assert.ok(perContext < 1024, `${perContext.toFixed(0)} bytes per live context`);
  },
);

// The addon runs OpenSSL's ciphers from method copies unless FIPS is on or node's OpenSSL lacks the copy function;
// MESH_AEAD_PROVIDER=1 takes that other path, the provider's ciphers (pkg/native/aead.c, evp_of). Both must seal as
// node:crypto does and refuse a wrong tag, singly and in batches.
test(
  'the provider-cipher path (MESH_AEAD_PROVIDER=1) agrees with node:crypto and with the default path',
  { skip },
  () => {
    const native = new URL('../../pkg/noise/native-aead.js', import.meta.url).href;
    const nodeAead = new URL('../../pkg/noise/aead.js', import.meta.url).href;
    const script = `import { NativeAead, nativeAeadAddon, AEAD_META_WORDS } from ${JSON.stringify(native)};
    import { createAead } from ${JSON.stringify(nodeAead)};
    const out = [];
    for (const cipher of ['aes', 'chachapoly']) {
      const key = new Uint8Array(32).fill(cipher === 'aes' ? 7 : 9);
      const a = new NativeAead(nativeAeadAddon(), cipher, key);
      const ref = createAead(cipher, key);
      const ad = new Uint8Array(16).fill(1), pt = new Uint8Array(100).fill(2);
      const sealed = a.seal(2 ** 32 + 5, pt, ad);
      if (!Buffer.from(ref.seal(2 ** 32 + 5, pt, ad)).equals(sealed)) throw new Error(cipher + ': seal differs');
      if (a.open(2 ** 32 + 5, sealed, ad) === null) throw new Error(cipher + ': open refused');
      const bad = Buffer.from(sealed); bad[bad.length - 1] ^= 1;
      if (a.open(2 ** 32 + 5, bad, ad) !== null) throw new Error(cipher + ': wrong tag accepted');
      // A batch of two records: [ad offset, ad length, input offset, input length, output offset] each.
      const buf = new Uint8Array(512); buf.fill(3, 0, 16); buf.fill(4, 16, 80); buf.fill(3, 200, 216); buf.fill(5, 216, 246);
      const meta = new Uint32Array(2 * AEAD_META_WORDS); meta.set([0, 16, 16, 64, 16, 200, 16, 216, 30, 216]);
      a.sealBatch(buf, meta, new Float64Array([1, 2]), 2);
      const want = ref.seal(2, new Uint8Array(30).fill(5), new Uint8Array(16).fill(3));
      if (!Buffer.from(want).equals(Buffer.from(buf.subarray(216, 216 + 46)))) throw new Error(cipher + ': batch differs');
      out.push(Buffer.from(sealed).toString('hex'));
      a.close();
    }
    process.stdout.write(out.join(' '));`;
    const run = (env: NodeJS.ProcessEnv) =>
      spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        env: { ...process.env, ...env },
        encoding: 'utf8',
        timeout: 10_000,
      });
    const provider = run({ MESH_AEAD_PROVIDER: '1' });
    const copies = run({ MESH_AEAD_PROVIDER: '' });
    assert.equal(provider.status, 0, provider.stderr);
    assert.equal(copies.status, 0, copies.stderr);
    assert.equal(provider.stdout, copies.stdout);
    assert.equal(provider.stdout.split(' ').length, 2);
  },
);
