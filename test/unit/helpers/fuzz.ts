// Bounded, seeded fuzzing for the test suite: a loop that stops at an iteration count or a wall-clock deadline,
// whichever comes first (the deadline only once a floor of iterations ran), random inputs and mutators of valid
// samples, and failures that name the seed and the iteration so a run can be replayed exactly.
//
//   runFuzz('header', { iterations: 20_000, ms: 1500 }, (r) => { const b = mutate(r, pick(r, samples)); ... });
//
// Environment, to fuzz longer locally without editing tests:
//   MESH_FUZZ_SEED=<n>   the run seed (default: each test's own constant, so the suite is deterministic)
//   MESH_FUZZ_MS=<ms>    the wall-clock budget per fuzz loop; when set, the iteration bound is lifted

import { seededRandom } from './seeded-random.js';

export interface FuzzBudget {
  /** Iterations at most (lifted when MESH_FUZZ_MS is set). */
  iterations: number;
  /** Wall-clock budget in ms (MESH_FUZZ_MS overrides it). */
  ms: number;
  /** The run seed when MESH_FUZZ_SEED is not set. */
  seed?: number;
  /**
   * Iterations that run even past `ms` (never more than `iterations`): a test that asserts it fuzzed at least this
   * many inputs then runs longer on a loaded machine instead of failing, since a stall there (descheduled, a GC)
   * eats the wall-clock budget, not the code under test.
   */
  minIterations?: number;
  /**
   * One iteration taking longer than this fails as a hang (a pointer loop, a quadratic path). runFuzz counts the
   * CPU time the iteration used (default 500 ms): a process descheduled on a loaded machine uses none, so a stall is
   * not taken for a hang. runFuzzAsync, whose bodies wait for sockets and timers, counts wall-clock time, with a
   * generous default (ASYNC_MAX_ITERATION_MS).
   */
  maxIterationMs?: number;
}

export interface FuzzStats {
  iterations: number;
  ms: number;
  seed: number;
}

/** A PRNG with the draws fuzzers need. */
export class Rand {
  private readonly next: () => number;

  constructor(readonly seed: number) {
    this.next = seededRandom(seed);
  }

  float(): number {
    return this.next();
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  byte(): number {
    return this.int(256);
  }

  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.byte();
    return out;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

function envNumber(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`${name}=${v} is not a number`);
  return n;
}

/** An async body's iteration includes socket round trips and timers, which a loaded machine can stretch. */
export const ASYNC_MAX_ITERATION_MS = 5000;

function resolveBudget(
  b: FuzzBudget,
  defaultMaxIterationMs = 500,
): { iterations: number; minIterations: number; ms: number; seed: number; maxIterationMs: number } {
  const ms = envNumber('MESH_FUZZ_MS');
  return {
    iterations: ms === undefined ? b.iterations : Number.MAX_SAFE_INTEGER,
    minIterations: b.minIterations ?? 0,
    ms: ms ?? b.ms,
    seed: (envNumber('MESH_FUZZ_SEED') ?? b.seed ?? 0x6d657368) >>> 0,
    maxIterationMs: b.maxIterationMs ?? defaultMaxIterationMs,
  };
}

function checkIterationTime(started: number, maxIterationMs: number): void {
  const took = performance.now() - started;
  if (took > maxIterationMs)
    throw new Error(`one input took ${took.toFixed(0)} ms (limit ${maxIterationMs} ms): a hang or a super-linear path`);
}

/** Milliseconds of CPU this process has used: what a hang spends, and a stall (descheduled, waiting) does not. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

function checkIterationCpu(startedCpuMs: number, maxIterationMs: number): void {
  const took = cpuMs() - startedCpuMs;
  if (took > maxIterationMs)
    throw new Error(
      `one input took ${took.toFixed(0)} ms of CPU (limit ${maxIterationMs} ms): a hang or a super-linear path`,
    );
}

/** The PRNG of one iteration: derived from the run seed and the index, so one failing case replays alone. */
function iterationRand(seed: number, i: number): Rand {
  return new Rand((seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0);
}

function fuzzFailure(name: string, seed: number, i: number, e: unknown): Error {
  const why = e instanceof Error ? (e.stack ?? e.message) : String(e);
  return new Error(
    `fuzz ${name}: failed at iteration ${i} of seed 0x${seed.toString(16)} (replay with MESH_FUZZ_SEED=${seed}): ${why}`,
    { cause: e },
  );
}

/**
 * Runs `body` until the iteration or time budget runs out (the time budget only once `minIterations` ran); a throw
 * from `body` fails with the seed and iteration.
 */
export function runFuzz(name: string, budget: FuzzBudget, body: (r: Rand, i: number) => void): FuzzStats {
  const { iterations, minIterations, ms, seed, maxIterationMs } = resolveBudget(budget);
  const start = performance.now();
  const deadline = start + ms;
  let i = 0;
  for (; i < iterations && (i < minIterations || performance.now() < deadline); i++) {
    try {
      const started = cpuMs();
      body(iterationRand(seed, i), i);
      checkIterationCpu(started, maxIterationMs);
    } catch (e) {
      throw fuzzFailure(name, seed, i, e);
    }
  }
  return { iterations: i, ms: performance.now() - start, seed };
}

/** `runFuzz` for bodies that await (sockets, timers). */
export async function runFuzzAsync(
  name: string,
  budget: FuzzBudget,
  body: (r: Rand, i: number) => Promise<void>,
): Promise<FuzzStats> {
  const { iterations, minIterations, ms, seed, maxIterationMs } = resolveBudget(budget, ASYNC_MAX_ITERATION_MS);
  const start = performance.now();
  const deadline = start + ms;
  let i = 0;
  for (; i < iterations && (i < minIterations || performance.now() < deadline); i++) {
    try {
      const started = performance.now();
      await body(iterationRand(seed, i), i);
      checkIterationTime(started, maxIterationMs);
    } catch (e) {
      throw fuzzFailure(name, seed, i, e);
    }
  }
  return { iterations: i, ms: performance.now() - start, seed };
}

/**
 * Calls `fn`; returns 'ok' or 'refused' when it threw an error `isOwn` accepts, and rethrows anything else with a
 * hex dump of the input: a parser must fail only with its own error.
 */
export function expectOnly<T>(
  fn: () => T,
  isOwn: (e: unknown) => boolean,
  input?: Uint8Array | string,
): { ok: true; value: T } | { ok: false; error: unknown } {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    if (isOwn(e)) return { ok: false, error: e };
    const shown =
      input === undefined
        ? ''
        : typeof input === 'string'
          ? ` on ${JSON.stringify(input.slice(0, 400))}`
          : ` on ${hex(input)}`;
    throw new Error(`threw a foreign error ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}${shown}`, {
      cause: e,
    });
  }
}

export function hex(b: Uint8Array, max = 256): string {
  const shown = Buffer.from(b.subarray(0, max)).toString('hex');
  return b.length > max ? `${shown}... (${b.length} bytes)` : `${shown} (${b.length} bytes)`;
}

// ---- inputs ----

/** Integers that sit on type and encoding boundaries: 7-bit, 8, 16, 31, 32, 53 and 64-bit edges. */
export const INTERESTING_INTS: readonly bigint[] = [
  0n,
  1n,
  2n,
  0x7fn,
  0x80n,
  0xffn,
  0x100n,
  0x7fffn,
  0xffffn,
  0x10000n,
  2n ** 31n - 1n,
  2n ** 31n,
  2n ** 32n - 1n,
  2n ** 32n,
  2n ** 53n - 1n,
  2n ** 53n,
  2n ** 53n + 1n,
  2n ** 63n - 1n,
  2n ** 63n,
  2n ** 64n - 1n,
];

export function randomBytes(r: Rand, maxLength: number): Uint8Array {
  return r.bytes(r.int(maxLength + 1));
}

/** A protobuf varint of `v` (< 2^64), or of `v` padded to `width` bytes with continuation bits (non-canonical). */
export function varintBytes(v: bigint, width = 0): Uint8Array {
  const out: number[] = [];
  let n = v;
  do {
    out.push(Number(n & 0x7fn));
    n >>= 7n;
  } while (n > 0n);
  while (out.length < width) out.push(0);
  for (let i = 0; i < out.length - 1; i++) out[i] |= 0x80;
  return Uint8Array.from(out);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A random protobuf field: a tag for any field number and wire type, then a value that may lie about its length. */
export function randomProtoField(r: Rand): Uint8Array {
  const field = r.chance(0.8) ? BigInt(1 + r.int(6)) : r.pick(INTERESTING_INTS);
  const wire = BigInt(r.int(8));
  const tag = varintBytes((field << 3n) | wire);
  switch (Number(wire)) {
    case 0:
      return concat(tag, varintBytes(r.pick(INTERESTING_INTS), r.chance(0.1) ? 1 + r.int(11) : 0));
    case 2: {
      const body = r.chance(0.5) ? r.bytes(r.int(24)) : new Uint8Array(0);
      const len = r.chance(0.8) ? BigInt(body.length) : r.pick(INTERESTING_INTS);
      return concat(tag, varintBytes(len), body);
    }
    default:
      return concat(tag, r.bytes(r.int(10)));
  }
}

// ---- mutators ----
//
// Each mutator copies before it writes (Uint8Array.from): a sample may be a Buffer, whose slice() is a view, and
// writing through a view would corrupt the sample for every later iteration.

type Mutator = (r: Rand, b: Uint8Array, samples: readonly Uint8Array[]) => Uint8Array;

const MUTATORS: readonly Mutator[] = [
  // bit flip
  (r, b) => {
    if (b.length === 0) return b;
    const out = Uint8Array.from(b);
    out[r.int(out.length)] ^= 1 << r.int(8);
    return out;
  },
  // a random or boundary byte
  (r, b) => {
    if (b.length === 0) return b;
    const out = Uint8Array.from(b);
    out[r.int(out.length)] = r.chance(0.5) ? r.byte() : r.pick([0x00, 0x01, 0x7f, 0x80, 0xff]);
    return out;
  },
  // truncation
  (r, b) => b.slice(0, r.int(b.length + 1)),
  // extension with random bytes
  (r, b) => concat(b, r.bytes(1 + r.int(32))),
  // insertion
  (r, b) => {
    const at = r.int(b.length + 1);
    return concat(b.subarray(0, at), r.bytes(1 + r.int(8)), b.subarray(at));
  },
  // deletion of a range
  (r, b) => {
    const at = r.int(b.length + 1);
    return concat(b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + r.int(8))));
  },
  // duplication of a range
  (r, b) => {
    const at = r.int(b.length + 1);
    const piece = b.subarray(at, at + 1 + r.int(16));
    return concat(b.subarray(0, at), piece, piece, b.subarray(at + piece.length));
  },
  // splice: the head of this input, the tail of another sample
  (r, b, samples) => {
    const other = samples.length > 0 ? r.pick(samples) : b;
    return concat(b.subarray(0, r.int(b.length + 1)), other.subarray(r.int(other.length + 1)));
  },
  // a boundary integer written big-endian as u32 or u64 (header indexes and counters, DNS counts, IPs)
  (r, b) => {
    const width = r.chance(0.5) ? 4 : 8;
    if (b.length < width) return b;
    const out = Uint8Array.from(b);
    const at = r.int(b.length - width + 1);
    let v = r.pick(INTERESTING_INTS);
    for (let i = width - 1; i >= 0; i--) {
      out[at + i] = Number(v & 0xffn);
      v >>= 8n;
    }
    return out;
  },
  // a boundary integer as a varint, inserted or overwriting (protobuf lengths, tags, values)
  (r, b) => {
    const at = r.int(b.length + 1);
    const v = varintBytes(r.pick(INTERESTING_INTS), r.chance(0.1) ? 1 + r.int(11) : 0);
    const rest = r.chance(0.5) ? b.subarray(at) : b.subarray(Math.min(b.length, at + v.length));
    return concat(b.subarray(0, at), v, rest);
  },
  // a random protobuf field inserted
  (r, b) => {
    const at = r.int(b.length + 1);
    return concat(b.subarray(0, at), randomProtoField(r), b.subarray(at));
  },
];

/** One to `maxEdits` random edits of `sample`; `samples` feeds splices. Never returns more than `maxLength` bytes. */
export function mutate(
  r: Rand,
  sample: Uint8Array,
  samples: readonly Uint8Array[] = [],
  maxEdits = 4,
  maxLength = 4096,
): Uint8Array {
  let b = sample;
  const edits = 1 + r.int(maxEdits);
  for (let e = 0; e < edits; e++) b = r.pick(MUTATORS)(r, b, samples);
  return b.length > maxLength ? b.subarray(0, maxLength) : b;
}

/** The top-level fields of a protobuf message as [key bytes, value bytes, is length-delimited], or null. */
function splitProto(b: Uint8Array): Array<{ key: Uint8Array; body: Uint8Array; nested: boolean }> | null {
  const out: Array<{ key: Uint8Array; body: Uint8Array; nested: boolean }> = [];
  let pos = 0;
  const varint = (): number | null => {
    let v = 0;
    for (let i = 0, scale = 1; i < 8 && pos < b.length; i++, scale *= 128) {
      const byte = b[pos++];
      v += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return v;
    }
    return null;
  };
  while (pos < b.length) {
    const keyStart = pos;
    const key = varint();
    if (key === null) return null;
    const wire = key % 8;
    if (wire === 0) {
      const start = pos;
      if (varint() === null) return null;
      out.push({ key: b.subarray(keyStart, start), body: b.subarray(start, pos), nested: false });
    } else if (wire === 2) {
      const lengthStart = pos;
      const len = varint();
      if (len === null || pos + len > b.length) return null;
      out.push({ key: b.subarray(keyStart, lengthStart), body: b.subarray(pos, pos + len), nested: true });
      pos += len;
    } else return null;
  }
  return out;
}

/**
 * A structure-aware edit of a protobuf message: one embedded message (at any depth) is mutated and re-framed with
 * its true length, so the edit reaches decoders below the outer length checks. Falls back to `mutate`.
 */
export function mutateProto(r: Rand, sample: Uint8Array, samples: readonly Uint8Array[] = [], depth = 0): Uint8Array {
  const fields = splitProto(sample);
  const nested = fields?.filter((f) => f.nested) ?? [];
  if (!fields || nested.length === 0 || depth > 4 || r.chance(0.25)) return mutate(r, sample, samples);
  const target = r.pick(nested);
  const parts: Uint8Array[] = [];
  for (const f of fields) {
    if (f !== target) {
      parts.push(f.key, f.nested ? varintBytes(BigInt(f.body.length)) : new Uint8Array(0), f.body);
      continue;
    }
    const body = mutateProto(r, f.body, samples, depth + 1);
    parts.push(f.key, varintBytes(BigInt(body.length)), body);
  }
  return concat(...parts);
}

/** The Nebula packet header's length (pkg/header), repeated so this helper stays free of the code under test. */
const NEBULA_HEADER_LEN = 16;

/** Mutations that keep a captured header's type and index (so the datagram reaches a tunnel) or rewrite its counter. */
export function mutateDatagram(r: Rand, sample: Uint8Array, samples: readonly Uint8Array[]): Uint8Array {
  switch (r.int(4)) {
    case 0: {
      // The header kept, the body mutated: passes the index lookup and reaches AEAD, the handshake or the relay.
      const body = mutate(r, sample.subarray(NEBULA_HEADER_LEN), samples, 3, 1400);
      const out = new Uint8Array(NEBULA_HEADER_LEN + body.length);
      out.set(sample.subarray(0, NEBULA_HEADER_LEN));
      out.set(body, NEBULA_HEADER_LEN);
      return out;
    }
    case 1: {
      // A boundary counter (2^53 and 2^64-1 among them) under an otherwise intact packet.
      const out = Uint8Array.from(sample);
      if (out.length < NEBULA_HEADER_LEN) return out;
      const v = r.pick(INTERESTING_INTS);
      const view = new DataView(out.buffer, out.byteOffset);
      view.setBigUint64(8, v);
      return out;
    }
    case 2: {
      // Another type or subtype in front of a real body.
      const out = Uint8Array.from(sample);
      if (out.length < NEBULA_HEADER_LEN) return out;
      out[0] = 0x10 | r.int(16);
      if (r.chance(0.5)) out[1] = r.pick([0, 1, 2, 255]);
      return out;
    }
    default:
      return mutate(r, sample, samples, 4, 1400);
  }
}

const TEXT_PIECES = [
  '\n',
  ' ',
  '  ',
  '\t',
  ':',
  ': ',
  '- ',
  '-',
  '[',
  ']',
  '{',
  '}',
  ',',
  '"',
  "'",
  '#',
  '&a',
  '*a',
  '<<: ',
  '!!',
  '|',
  '>',
  '?',
  '%',
  '@',
  '`',
  '\\',
  '\u0000',
  '\uFEFF',
  '\uD800',
  'null',
  'true',
  '~',
  '0x',
  '1e999',
  '-1',
  '9007199254740993',
  '18446744073709551615',
  '0.0.0.0/0',
  '::',
  'any',
];

/** Text edits: characters and YAML/JSON punctuation inserted, replaced or deleted, lines cut or repeated. */
export function mutateText(r: Rand, text: string, maxEdits = 4, maxLength = 16_384): string {
  let s = text;
  const edits = 1 + r.int(maxEdits);
  for (let e = 0; e < edits; e++) {
    const at = r.int(s.length + 1);
    switch (r.int(6)) {
      case 0:
        s = s.slice(0, at) + r.pick(TEXT_PIECES) + s.slice(at);
        break;
      case 1:
        s = s.slice(0, at) + String.fromCharCode(r.int(128)) + s.slice(at + 1);
        break;
      case 2:
        s = s.slice(0, at) + s.slice(at + 1 + r.int(16));
        break;
      case 3: {
        const lines = s.split('\n');
        const i = r.int(lines.length);
        lines.splice(i, 0, lines[r.int(lines.length)]);
        s = lines.join('\n');
        break;
      }
      case 4:
        s = s.slice(0, at);
        break;
      default:
        s = s.slice(0, at) + r.pick(TEXT_PIECES) + s.slice(at + 1 + r.int(4));
    }
  }
  return s.length > maxLength ? s.slice(0, maxLength) : s;
}
