import assert from 'node:assert/strict';
import { test } from 'node:test';

import { bucketOf, groupOf, parsePerfScript, split } from '../../bench/perf-split-tally.js';

// bench/perf-split.js's buckets (the lighthouse's join split in bench/RESULTS.md): a sample must go to the primitive
// it is in even when JavaScript is on its stack, OpenSSL's frameless assembly must still count as its primitive, and
// what is left must go to the innermost JavaScript function, not to a builtin or to malloc.

const SCRIPT = [
  '100     250000 ',
  '\t  e1bca4 fe_mul (/usr/bin/node)',
  '\t  deda6a ossl_ed25519_verify (/usr/bin/node)',
  '\t  e02f7a node::crypto::SignTraits::DeriveBits (/usr/bin/node)',
  '\t  e09fa6 JS:*verifyPeerCert /x/mesh.bundle.cjs:1:2 (/tmp/perf-100.map)',
  '',
  '101     250000 ',
  '\t  1 v8::internal::Scavenger::ScavengePage (/usr/bin/node)',
  '\t  2 start_thread (/usr/lib/x86_64-linux-gnu/libc.so.6)',
  '',
  '100     500000 ',
  '\t  3 x25519_fe64_sqr (/usr/bin/node)',
  '',
  '100     250000 ',
  '\t  4 Builtins_LoadIC (/usr/bin/node)',
  '\t  5 JS:*handleStage1 /x/mesh.bundle.cjs:3:4 (/tmp/perf-100.map)',
  '\t  6 JS:*deliver /x/mesh.bundle.cjs:5:6 (/tmp/perf-100.map)',
  '',
  '100     250000 ',
  '\t  7 do_syscall_64 ([kernel.kallsyms])',
  '\t  8 __x64_sys_sendmmsg ([kernel.kallsyms])',
  '\t  9 JS:*send /x/mesh.bundle.cjs:7:8 (/tmp/perf-100.map)',
  '',
  '100     250000 ',
  '\t  a _int_malloc (/usr/lib/x86_64-linux-gnu/libc.so.6)',
  '\t  b [unknown] (/usr/lib/x86_64-linux-gnu/libc.so.6)',
].join('\n');

test('parses perf script: one sample per header, frames leaf first, symbols with spaces and parentheses kept', () => {
  const samples = parsePerfScript(SCRIPT);
  assert.equal(samples.length, 6);
  assert.deepEqual(samples[0]!.frames[3], {
    sym: 'JS:*verifyPeerCert /x/mesh.bundle.cjs:1:2',
    dso: '/tmp/perf-100.map',
  });
  assert.equal(samples[1]!.tid, 101);
  assert.equal(samples[2]!.period, 500000);
  const paren = parsePerfScript('1 2\n\t  f std::function<void ()>::operator() (/usr/bin/node)');
  assert.equal(paren[0]!.frames[0]!.sym, 'std::function<void ()>::operator()');
});

test('each sample in one bucket: primitive over JS, frameless assembly by its leaf, the rest to the innermost JS', () => {
  const buckets = parsePerfScript(SCRIPT).map((s) => bucketOf(s.frames));
  assert.deepEqual(buckets, [
    'openssl: Ed25519 verify (incl. SHA-512)',
    'GC: young generation (scavenge)',
    'openssl: X25519 DH',
    'JS: handleStage1 /x/mesh.bundle.cjs:3:4',
    'kernel: sendmmsg',
    'libc: malloc / free (callers unknown)',
  ]);
  assert.equal(groupOf('JS: handleStage1 /x/mesh.bundle.cjs:3:4'), 'JS: ours');
  assert.equal(groupOf('JS: createPrivateKey node:internal/crypto/keys:623:26'), "JS: node's own (node:internal)");
  assert.equal(groupOf('openssl: X25519 DH'), 'openssl');
});

test('weights add up per bucket, heaviest first, with the part taken off the main thread', () => {
  const rows = split(parsePerfScript(SCRIPT), 100);
  assert.equal(rows[0]!.bucket, 'openssl: X25519 DH');
  assert.equal(rows[0]!.ns, 500000);
  const gc = rows.find((r) => r.bucket.startsWith('GC'))!;
  assert.deepEqual([gc.ns, gc.offMainNs], [250000, 250000]);
  assert.equal(
    rows.reduce((a, r) => a + r.ns, 0),
    1_750_000,
  );
});
