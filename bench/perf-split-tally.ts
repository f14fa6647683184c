// The arithmetic of bench/perf-split.ts, apart from running perf: each sample of a `perf script` of a node process
// (recorded with -g, the lighthouse run with --perf-basic-prof so that JIT frames are named "JS:*name file:line")
// goes to exactly one bucket, by the first rule its call chain matches: the OpenSSL primitive it is in (Ed25519
// verify, X25519 DH, X25519 public-from-private, HKDF, AES-GCM), the rest of node:crypto, V8's collector (young
// generation, old generation, weak callbacks), V8's compiler, the kernel by system call, and else the innermost
// JavaScript function on the stack (so builtins, V8's runtime and malloc count to the JS that called them).

/** One sample: the thread it was taken on, its weight (ns for cpu-clock), frames leaf first. */
export interface PerfSample {
  tid: number;
  period: number;
  frames: { sym: string; dso: string }[];
}

/** Parses `perf script -F tid,period,ip,sym,dso` output. */
export function parsePerfScript(text: string): PerfSample[] {
  const samples: PerfSample[] = [];
  let current: PerfSample | null = null;
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      current = null;
      continue;
    }
    if (!/^\s/.test(line)) {
      const [tid, period] = line.trim().split(/\s+/).map(Number);
      current = { tid: tid ?? 0, period: period ?? 0, frames: [] };
      samples.push(current);
      continue;
    }
    if (current === null) continue;
    // "\t   ip sym (dso)": the symbol may contain spaces and parentheses; the dso is the last parenthesised part.
    const m = /^\s*[0-9a-f]+\s+(.*)\s+\(([^()]*)\)\s*$/.exec(line);
    if (m) current.frames.push({ sym: m[1]!, dso: m[2]! });
  }
  return samples;
}

/** Ordered: the first rule whose test matches some frame of the chain names the bucket. */
const CHAIN_RULES: [string, RegExp][] = [
  ['openssl: Ed25519 verify (incl. SHA-512)', /^ossl_ed25519_verify$/],
  ['openssl: X25519 public from private (key import, ephemeral keygen)', /^ossl_x25519_public_from_private$/],
  ['openssl: X25519 DH', /^(ossl_x25519|x25519_scalar_mult)$/],
  ['openssl: HKDF (incl. its fetches)', /^node::crypto::HKDFTraits::/],
  ['openssl: random bytes', /^(node::crypto::RandomBytesTraits::|EVP_RAND_generate)/],
  ['node:crypto AEAD (createCipheriv et al.)', /^node::crypto::CipherBase::/],
  ['node:crypto hash (crypto.hash)', /^node::crypto::Hash::/],
  ['node:crypto key import / export (KeyObject)', /^node::crypto::(KeyObjectHandle|KeyObjectData|ManagedEVPPKey)/],
  ['node:crypto other', /^node::crypto::/],
  [
    'GC: weak callbacks (node objects finalized)',
    /^(node::BaseObject::MakeWeak|v8::internal::GlobalHandles::(Invoke|Post|Process))/,
  ],
  [
    'GC: young generation (scavenge)',
    /^v8::internal::(Scavenger|ScavengerCollector|ScavengeJob|Heap::Scavenge|MinorMarkCompact)/,
  ],
  [
    'GC: old generation (mark-compact, marking, sweeping)',
    /^v8::internal::(MarkCompactCollector|ConcurrentMarking|IncrementalMarking|Sweeper|MarkingBarrier|MainMarkingVisitor|Heap::MarkCompact|Heap::StartIncrementalMarking)/,
  ],
  [
    'GC: other (array buffer sweep, heap setup)',
    /^v8::internal::(ArrayBufferSweeper|Heap::CollectGarbage|Heap::PerformGarbageCollection)/,
  ],
  [
    'V8: compile / parse',
    /^v8::internal::(compiler::|interpreter::BytecodeGenerator|Parser|Compiler::|maglev::|baseline::)/,
  ],
];

const SYSCALL = /^__(x64|ia32)_sys_(\w+)$/;

// OpenSSL's assembly keeps no frame pointer, so a sample in it has no caller: its leaf alone names the primitive
// (x25519_fe64_* is the DH's ladder; public-from-private runs the portable ge_* code, whose callers are kept).
const LEAF_RULES: [string, RegExp][] = [
  ['openssl: X25519 DH', /^x25519_fe64_/],
  ['openssl: Ed25519 verify (incl. SHA-512)', /^sha512_block_data_order/],
  ['node:crypto AEAD (createCipheriv et al.)', /^(aesni_|aes_gcm_|gcm_)/],
  ['openssl: SHA-256 (hash, HKDF)', /^sha256_block_data_order/],
  // glibc keeps no frame pointer either: malloc's callers are lost (OpenSSL's keys and contexts, V8's backing stores).
  [
    'libc: malloc / free (callers unknown)',
    /^(_int_malloc|malloc|malloc_consolidate|unlink_chunk|_int_free|cfree|__libc_calloc|__libc_malloc|__libc_free|free|alloc_perturb|tcache_)/,
  ],
];

/** The bucket of one sample (see the rules above). */
export function bucketOf(frames: { sym: string; dso: string }[]): string {
  for (const [name, re] of CHAIN_RULES) if (frames.some((f) => re.test(f.sym))) return name;
  const leaf = frames[0];
  if (leaf !== undefined) for (const [name, re] of LEAF_RULES) if (re.test(leaf.sym)) return name;
  if (leaf?.dso === '[kernel.kallsyms]') {
    for (const f of frames) {
      const m = SYSCALL.exec(f.sym);
      if (m) return `kernel: ${m[2]}`;
    }
    return 'kernel: other (interrupts, scheduling)';
  }
  for (const f of frames) if (f.sym.startsWith('JS:')) return `JS: ${f.sym.slice(3).replace(/^[*~^+]/, '')}`;
  if (leaf === undefined) return '(no frames)';
  return `native, no JS on the stack: ${leaf.dso.replace(/^.*\//, '')}`;
}

export interface SplitRow {
  bucket: string;
  ns: number;
  /** Of ns: taken on a thread other than the main one (tid = pid). */
  offMainNs: number;
}

/** Weight per bucket, heaviest first; `mainTid` is the process's main thread. */
export function split(samples: PerfSample[], mainTid: number): SplitRow[] {
  const rows = new Map<string, SplitRow>();
  for (const s of samples) {
    const bucket = bucketOf(s.frames);
    let row = rows.get(bucket);
    if (!row) rows.set(bucket, (row = { bucket, ns: 0, offMainNs: 0 }));
    row.ns += s.period;
    if (s.tid !== mainTid) row.offMainNs += s.period;
  }
  return [...rows.values()].sort((a, b) => b.ns - a.ns);
}

/** The group a bucket belongs to, for the summary: its prefix, JS split into node's own and the rest. */
export function groupOf(bucket: string): string {
  if (bucket.startsWith('JS: '))
    return /node:internal|node:/.test(bucket) ? "JS: node's own (node:internal)" : 'JS: ours';
  const colon = bucket.indexOf(':');
  return colon < 0 ? bucket : bucket.slice(0, colon);
}
