// Does sealing on a worker thread pay on this 2-core machine? (issue 19: try a crypto worker "if it pays on 2 cores
// with iperf3 running beside it"). `node dist/bench/crypto-worker.js [options]` as root.
//
// Not the daemon: a model of its send path, so the two ways can be compared without rebuilding the data path.
// Each batch of 64 packets of 1300 bytes costs the main thread --work-us per packet of fixed CPU work (what the
// daemon spends per packet besides the AEAD: JS pipeline and syscalls; 2.5 us from throughput.ts's CPU s/GB less
// bench/aead.ts's seal cost) and is sealed with the addon's batch AEAD (pkg/noise/native-aead.ts) either
//   inline   on the main thread, right after the batch's work (what the daemon does), or
//   worker   on a worker thread: the main thread writes the batch into one of 4 SharedArrayBuffer slots, wakes the
//            worker (Atomics.notify) and goes on with the next batch; sealed slots are taken back before reuse.
//            Generous to the worker: the main thread blocks in Atomics.wait, which wakes faster than an event loop.
// Both run in fresh child processes (the addon keeps its AEAD contexts on one thread per process), alternating, for
// --seconds each, under two conditions: without iperf3 (the second core as idle as the machine's load allows), and
// iperf3 TCP over loopback in a lab namespace running beside it (as on a host whose application competes for the
// cores). Figures: packets sealed per second (wall), and per CPU second of the process (both threads): when the cores
// are saturated, throughput follows the second, so a worker pays only if it raises the first without lowering it.
//
// Options: --rounds N (2)  --seconds S (5)  --cipher aes|chachapoly (chachapoly: the costlier, best case for a
//          worker)  --work-us U (2.5)

import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

import { Lab } from '../test/e2e/lab/lab.js';
import { sleep } from '../test/e2e/lab/wait.js';
import type { AeadCipher } from '../pkg/noise/aead.js';
import { AEAD_META_WORDS, NativeAead, nativeAeadAddon } from '../pkg/noise/native-aead.js';
import { median } from './proc-stats.js';

const PACKET = 1300;
const HEADER = 16;
const TAG = 16;
const STRIDE = HEADER + PACKET + TAG;
const BATCH = 64;
const SLOTS = 4;
/** Slot states: 0 free (never sealed yet), then queued for the worker, then sealed (until the main thread refills it). */
const [QUEUED, SEALED] = [1, 2];
/** Control words after the slot states: the stop flag. */
const STOP = SLOTS;

interface Shared {
  control: SharedArrayBuffer;
  data: SharedArrayBuffer;
  counters: SharedArrayBuffer;
  cipher: AeadCipher;
}

interface ChildResult {
  mode: 'inline' | 'worker';
  packets: number;
  wallS: number;
  cpuS: number;
}

/** The same record layout for every batch: header as AD, sealed in place after it. */
function batchMeta(): Uint32Array {
  const meta = new Uint32Array(BATCH * AEAD_META_WORDS);
  for (let i = 0; i < BATCH; i++)
    meta.set([i * STRIDE, HEADER, i * STRIDE + HEADER, PACKET, i * STRIDE + HEADER], i * AEAD_META_WORDS);
  return meta;
}

function newAead(cipher: AeadCipher): NativeAead {
  const addon = nativeAeadAddon();
  if (addon === null) throw new Error('the addon is not built: this experiment is about its AEAD');
  return new NativeAead(addon, cipher, new Uint8Array(32).fill(7));
}

/** Fixed CPU work standing in for the pipeline: an LCG over `iters` steps, mixed into the batch so it is not elided. */
function pipelineWork(batch: Uint8Array, iters: number): void {
  let x = batch[0]! | 1;
  for (let i = 0; i < iters; i++) x = (Math.imul(x, 1664525) + 1013904223) | 0;
  batch[0] = x & 0xff;
}

const plaintext = new Uint8Array(PACKET).fill(0x5a);

function fillBatch(batch: Uint8Array, iters: number): void {
  for (let i = 0; i < BATCH; i++) batch.set(plaintext, i * STRIDE + HEADER);
  pipelineWork(batch, iters);
}

function runInline(cipher: AeadCipher, seconds: number, iters: number): ChildResult {
  const aead = newAead(cipher);
  const meta = batchMeta();
  const batch = new Uint8Array(STRIDE * BATCH);
  const counters = new Float64Array(BATCH);
  let counter = 1;
  let packets = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    fillBatch(batch, iters);
    for (let i = 0; i < BATCH; i++) counters[i] = counter++;
    aead.sealBatch(batch, meta, counters, BATCH);
    packets += BATCH;
  }
  const cpu = process.cpuUsage(cpu0);
  return { mode: 'inline', packets, wallS: (performance.now() - start) / 1000, cpuS: (cpu.user + cpu.system) / 1e6 };
}

async function runWithWorker(cipher: AeadCipher, seconds: number, iters: number): Promise<ChildResult> {
  const shared: Shared = {
    control: new SharedArrayBuffer(4 * (SLOTS + 1)),
    data: new SharedArrayBuffer(STRIDE * BATCH * SLOTS),
    counters: new SharedArrayBuffer(8 * BATCH * SLOTS),
    cipher,
  };
  const state = new Int32Array(shared.control);
  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: shared });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  let counter = 1;
  let packets = 0;
  let slot = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    // Take the slot back once sealed (this is where the daemon would hand the batch to sendmmsg).
    while (Atomics.load(state, slot) === QUEUED) Atomics.wait(state, slot, QUEUED, 1000);
    if (Atomics.load(state, slot) === SEALED) packets += BATCH;
    const batch = new Uint8Array(shared.data, slot * STRIDE * BATCH, STRIDE * BATCH);
    const counters = new Float64Array(shared.counters, slot * 8 * BATCH, BATCH);
    fillBatch(batch, iters);
    for (let i = 0; i < BATCH; i++) counters[i] = counter++;
    Atomics.store(state, slot, QUEUED);
    Atomics.notify(state, slot);
    slot = (slot + 1) % SLOTS;
  }
  for (let s = 0; s < SLOTS; s++) {
    while (Atomics.load(state, s) === QUEUED) Atomics.wait(state, s, QUEUED, 1000);
    if (Atomics.load(state, s) === SEALED) packets += BATCH;
  }
  const wallS = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0); // the whole process: both threads
  Atomics.store(state, STOP, 1);
  Atomics.notify(state, 0);
  await worker.terminate();
  return { mode: 'worker', packets, wallS, cpuS: (cpu.user + cpu.system) / 1e6 };
}

/** The worker: seals queued slots in order until told to stop. */
function workerMain(shared: Shared): void {
  const state = new Int32Array(shared.control);
  const aead = newAead(shared.cipher);
  const meta = batchMeta();
  parentPort!.postMessage('ready');
  for (let slot = 0; Atomics.load(state, STOP) === 0; slot = (slot + 1) % SLOTS) {
    while (Atomics.load(state, slot) !== QUEUED) {
      if (Atomics.load(state, STOP) !== 0) return;
      Atomics.wait(state, slot, Atomics.load(state, slot), 100);
    }
    const batch = new Uint8Array(shared.data, slot * STRIDE * BATCH, STRIDE * BATCH);
    const counters = new Float64Array(shared.counters, slot * 8 * BATCH, BATCH);
    aead.sealBatch(batch, meta, counters, BATCH);
    Atomics.store(state, slot, SEALED);
    Atomics.notify(state, slot);
  }
}

/** Iterations of pipelineWork per microsecond of CPU, measured here (before any competing load starts). */
function calibrate(): number {
  const batch = new Uint8Array(STRIDE);
  let best = 0;
  for (let round = 0; round < 5; round++) {
    const iters = 2_000_000;
    const t = process.cpuUsage();
    pipelineWork(batch, iters);
    const used = process.cpuUsage(t);
    best = Math.max(best, iters / (used.user + used.system));
  }
  return best;
}

function child(mode: string, cipher: string, seconds: number, iters: number): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      [
        fileURLToPath(import.meta.url),
        '--child',
        mode,
        '--cipher',
        cipher,
        '--seconds',
        String(seconds),
        '--iters',
        String(iters),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as ChildResult) : reject(new Error(`child ${mode} exited ${code}`)),
    );
  });
}

async function orchestrate(values: Record<string, string | undefined>): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root: the competing iperf3 runs in a lab namespace');
  const rounds = Number(values['rounds'] ?? 2);
  const seconds = Number(values['seconds'] ?? 5);
  const cipher = values['cipher'] === 'aes' ? 'aes' : 'chachapoly';
  const workUs = Number(values['work-us'] ?? 2.5);
  const iters = Math.round(calibrate() * workUs * BATCH);
  const load = () =>
    `load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')}`;
  console.error(
    `crypto-worker: ${cipher}, ${workUs} us of pipeline work per packet (${iters} iterations per batch of ${BATCH}), ${rounds} rounds x ${seconds} s, ${load()}`,
  );
  const rows: Array<{ condition: string; mode: string; pps: number[]; cores: number[]; perCpu: number[] }> = [];
  for (const condition of ['without iperf3', 'iperf3 beside it']) {
    const lab = condition.startsWith('iperf3') ? await Lab.create() : null;
    try {
      if (lab !== null) {
        const host = await lab.addHost('cw');
        await lab.spawn(host, 'iperf3', ['-s', '-p', '5299']);
        await sleep(500);
        await lab.spawn(host, 'iperf3', [
          '-c',
          '127.0.0.1',
          '-p',
          '5299',
          '-t',
          String(rounds * 2 * (seconds + 2) + 10),
        ]);
        await sleep(1000);
      }
      console.error(`  ${condition}: ${load()}`);
      for (const mode of ['inline', 'worker']) rows.push({ condition, mode, pps: [], cores: [], perCpu: [] });
      for (let round = 1; round <= rounds; round++) {
        const order = round % 2 === 1 ? ['inline', 'worker'] : ['worker', 'inline'];
        for (const mode of order) {
          const r = await child(mode, cipher, seconds, iters);
          const row = rows.find((x) => x.condition === condition && x.mode === mode)!;
          row.pps.push(r.packets / r.wallS);
          row.cores.push(r.cpuS / r.wallS);
          row.perCpu.push(r.packets / r.cpuS);
          console.error(
            `  ${condition}, round ${round}, ${mode}: ${(r.packets / r.wallS / 1000).toFixed(1)} kpps, ${(r.cpuS / r.wallS).toFixed(2)} cores`,
          );
        }
      }
    } finally {
      await lab?.destroy();
    }
  }
  const lines = [
    '| condition | mode | kpps sealed (median) | vs inline | cores used by the process | k packets per CPU second | vs inline |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const inline = rows.find((x) => x.condition === r.condition && x.mode === 'inline')!;
    lines.push(
      `| ${r.condition} | ${r.mode} | ${(median(r.pps) / 1000).toFixed(1)} | ${(median(r.pps) / median(inline.pps)).toFixed(2)} | ${median(r.cores).toFixed(2)} | ${(median(r.perCpu) / 1000).toFixed(0)} | ${(median(r.perCpu) / median(inline.perCpu)).toFixed(2)} |`,
    );
  }
  console.log(`${lines.join('\n')}\n\n${load()} at the end`);
}

if (!isMainThread) {
  workerMain(workerData as Shared);
} else {
  const { values } = parseArgs({
    options: {
      child: { type: 'string' },
      cipher: { type: 'string' },
      seconds: { type: 'string' },
      iters: { type: 'string' },
      rounds: { type: 'string' },
      'work-us': { type: 'string' },
    },
  });
  const run = async (): Promise<void> => {
    if (values.child === undefined) return orchestrate(values);
    const cipher = values.cipher === 'aes' ? 'aes' : 'chachapoly';
    const [seconds, iters] = [Number(values.seconds), Number(values.iters)];
    const r =
      values.child === 'worker' ? await runWithWorker(cipher, seconds, iters) : runInline(cipher, seconds, iters);
    process.stdout.write(JSON.stringify(r));
  };
  run().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
