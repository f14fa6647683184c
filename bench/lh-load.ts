// Lighthouse capacity (issue 19): one lighthouse pinned to core 1, N simulated nodes (bench/lh-load-gen.ts, pinned
// to core 0) that handshake with it, send host updates at a compressed interval and query it for random other
// nodes; mesh and nebula 1.6.1 alternate at each N in the same lab, on the same CA and certificates' shape.
//
//   node dist/bench/lh-load.js [--nodes 1000,5000,10000,40000] [--impls mesh,nebula] [--update-s 10] [--steady-s 30]
//        [--qps 200] [--window 256] [--log info] [--prof DIR] [--rounds 1] [--env K=V,…]
//
// --prof DIR: the mesh lighthouse runs with --cpu-prof into DIR (bench/profile-summary.js reads it).
// --keep-logs DIR: each lighthouse's log is copied there (with a variant adding --trace-gc: its GC pauses).
// --perf-steady DIR: perf record -g of the lighthouse's main thread (nebula: all its threads) over the steady
// phase, one perf-IMPL-N-*.data per run in DIR (perf report -i FILE; a --variant 'NAME=--perf-basic-prof' names JIT
// frames).
// --perf-join DIR: perf record -g of every thread of the lighthouse over the join (first stage 1 to last stage 2),
// one perf-join-IMPL-N-*.data per run in DIR (bench/perf-split.js groups its samples by what they are);
// --perf-join-args='ARGS' replaces its -g (e.g. --perf-join-args='--call-graph=dwarf,16384 -F 500': callers through libc and OpenSSL).
// --env: extra environment for the mesh lighthouse (A/B of a lever switched by an environment variable).
// --variant NAME=NODE_ARGS (repeatable): NAME, listed in --impls, runs the mesh lighthouse with extra node flags,
// e.g. --variant 'ygen16=--min-semi-space-size=16' --impls mesh,ygen16,nebula.
// --variant-env NAME=K=V[,K=V] (repeatable): NAME, listed in --impls, runs the mesh lighthouse with that extra
// environment (an A/B of a lever switched by an environment variable, in alternating order, in one run).
// --build NAME=PATH (repeatable): NAME, listed in --impls, runs the mesh lighthouse from another build's
// dist/bin/mesh.cjs, e.g. --build before=/tmp/before/dist/bin/mesh.cjs --impls before,mesh,nebula (a before/after in
// one run; a --variant of the same NAME adds its node flags to it).
// As root. Lab: lh 198.18.0.1:4242 (10.99.0.1/16), gen 198.18.0.2 with one extra address per 5000 nodes.

import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { Lab } from '../test/e2e/lab/lab.js';
import { overlayConfig, writeOverlayConfig, type LogLevel } from '../test/e2e/lab/overlay-config.js';
import { startNode, type OverlayImpl } from '../test/e2e/lab/overlay-node.js';
import type { LabProcess } from '../test/e2e/lab/process.js';
import { makeHostCert, makeTestCa } from '../test/unit/helpers/pki.js';
import { IMPLS, meshWithNodeArgs } from './bench-lab.js';
import type { LoadResult, LoadSpec } from './lh-load-gen.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1000,5000,10000,40000' },
    impls: { type: 'string', default: 'mesh,nebula' },
    'update-s': { type: 'string', default: '10' },
    'steady-s': { type: 'string', default: '30' },
    qps: { type: 'string', default: '200' },
    window: { type: 'string', default: '256' },
    log: { type: 'string', default: 'info' },
    prof: { type: 'string' },
    rounds: { type: 'string', default: '1' },
    env: { type: 'string' },
    'keep-logs': { type: 'string' },
    variant: { type: 'string', multiple: true },
    build: { type: 'string', multiple: true },
    'perf-steady': { type: 'string' },
    'perf-join': { type: 'string' },
    'perf-join-args': { type: 'string' },
    'variant-env': { type: 'string', multiple: true },
  },
});

const NODES_PER_SOURCE_IP = 5000;
const LH = { vpnIp: '10.99.0.1', ip: '198.18.0.1', port: 4242 };

function pinned(impl: OverlayImpl, core: number): OverlayImpl {
  return {
    ...impl,
    command: (configPath) => {
      const { cmd, args } = impl.command(configPath);
      return { cmd: 'taskset', args: ['-c', String(core), cmd, ...args] };
    },
  };
}

const VARIANTS = new Map(
  (values.variant ?? []).map((v) => [v.slice(0, v.indexOf('=')), v.slice(v.indexOf('=') + 1).split(' ')]),
);

const VARIANT_ENVS = new Map(
  (values['variant-env'] ?? []).map((v) => [v.slice(0, v.indexOf('=')), v.slice(v.indexOf('=') + 1).split(',')]),
);

const BUILDS = new Map(
  (values.build ?? []).map((v) => [v.slice(0, v.indexOf('=')), resolve(v.slice(v.indexOf('=') + 1))]),
);

async function runOne(
  lab: Lab,
  dir: string,
  impl: string,
  n: number,
  spec: Omit<LoadSpec, 'nodes' | 'lighthouse'>,
  config: string,
): Promise<LoadResult> {
  const [lhHost, genHost] = [
    lab.allHosts().find((h) => h.name === 'lh')!,
    lab.allHosts().find((h) => h.name === 'gen')!,
  ];
  const isMesh = impl !== 'nebula';
  const nodeArgs = [
    ...(VARIANTS.get(impl) ?? []),
    ...(values.prof ? ['--cpu-prof', `--cpu-prof-dir=${resolve(values.prof)}`] : []),
  ];
  let overlay = IMPLS[isMesh ? 'mesh' : 'nebula'];
  const build = BUILDS.get(impl);
  if (isMesh && (nodeArgs.length > 0 || build !== undefined)) overlay = meshWithNodeArgs(nodeArgs, build);
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (isMesh && values.env)
    for (const kv of values.env.split(',')) env[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
  for (const kv of VARIANT_ENVS.get(impl) ?? []) env[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
  const lh: LabProcess = await startNode(lab, lhHost, pinned(overlay, 1), config, { env });
  try {
    const perfOut = values['perf-steady']
      ? join(resolve(values['perf-steady']), `perf-${impl}-${n}-${Date.now()}.data`)
      : undefined;
    const perfJoinOut = values['perf-join']
      ? join(resolve(values['perf-join']), `perf-join-${impl}-${n}-${Date.now()}.data`)
      : undefined;
    const full: LoadSpec = {
      ...spec,
      nodes: n,
      lighthouse: { ...LH, pid: lh.pid },
      perfOut,
      perfAllThreads: !isMesh,
      perfJoinOut,
      perfJoinArgs: values['perf-join-args']?.split(' '),
    };
    const specPath = join(dir, `spec-${impl}-${n}.json`);
    writeFileSync(specPath, JSON.stringify(full));
    const gen = await lab.spawn(genHost, 'taskset', [
      '-c',
      '0',
      process.execPath,
      resolve('dist/bench/lh-load-gen.js'),
      specPath,
    ]);
    // LabProcess children are unref'd: a timer keeps this process alive while the generator runs.
    const keepAlive = setInterval(() => undefined, 1000);
    const exit = await gen.exited.finally(() => clearInterval(keepAlive));
    const line = gen
      .log()
      .split('\n')
      .find((l) => l.startsWith('{'));
    if (exit.exitCode !== 0 || line === undefined)
      throw new Error(`generator failed (${JSON.stringify(exit)}):\n${gen.logTail(30)}\n${lh.logTail(10)}`);
    return JSON.parse(line) as LoadResult;
  } finally {
    await lh.kill(10_000);
    if (values['keep-logs']) copyFileSync(lh.logFile, join(values['keep-logs'], `lh-${impl}-${n}-${Date.now()}.log`));
  }
}

async function main(): Promise<void> {
  const steps = values.nodes.split(',').map(Number);
  const impls = values.impls.split(',');
  const lab = await Lab.create();
  try {
    const [, gen] = await lab.flat(2, ['lh', 'gen']);
    const sourceIps: string[] = [];
    for (let i = 0; i < Math.ceil(Math.max(...steps) / NODES_PER_SOURCE_IP); i++) {
      const ip = `198.18.0.${100 + i}`;
      await lab.exec(gen, 'ip', ['addr', 'add', `${ip}/24`, 'dev', 'eth0']);
      sourceIps.push(ip);
    }
    const dir = lab.path('lh-load');
    mkdirSync(dir, { recursive: true });
    const ca = makeTestCa('lh-load CA');
    const lhCert = makeHostCert(ca, { name: 'lh', ip: `${LH.vpnIp}/16` });
    const pki = { ca: join(dir, 'ca.crt'), cert: join(dir, 'lh.crt'), key: join(dir, 'lh.key') };
    writeFileSync(pki.ca, ca.pem);
    writeFileSync(pki.cert, lhCert.certPem);
    writeFileSync(pki.key, lhCert.keyPem, { mode: 0o600 });
    const config = join(dir, 'lh.yml');
    writeOverlayConfig(
      config,
      overlayConfig({ pki, tunDev: 'lhload', amLighthouse: true, logLevel: values.log as LogLevel }),
    );
    const spec: Omit<LoadSpec, 'nodes' | 'lighthouse'> = {
      caPem: ca.pem,
      caKeyHex: Buffer.from(ca.privateKey).toString('hex'),
      cipher: 'aes',
      firstVpnIp: '10.99.1.0',
      prefix: 16,
      sourceIps,
      basePort: 10000,
      window: Number(values.window),
      updateIntervalMs: Number(values['update-s']) * 1000,
      steadyMs: Number(values['steady-s']) * 1000,
      queriesPerSec: Number(values.qps),
      queryTimeoutMs: 2000,
      // The hard RLIMIT_NOFILE here is 20000 and root may not raise it (no CAP_SYS_RESOURCE in this container).
      maxSockets: 16_000,
    };
    console.log(
      `lighthouse on core 1, generator on core 0; updates every ${values['update-s']} s, ${values.qps} queries/s, ${values['steady-s']} s steady, window ${values.window}, log ${values.log}`,
    );
    console.log(
      '| nodes | impl | up | handshakes/s | lh CPU us/handshake | resent | steady CPU % (sys / main thread, mesh only) | RSS MiB (anonymous) | query p50 / p99 / max ms | unanswered | test req /tunnel/min |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|---|---|');
    for (let round = 0; round < Number(values.rounds); round++) {
      for (const [i, n] of steps.entries()) {
        const order = (i + round) % 2 === 0 ? impls : [...impls].reverse();
        for (const impl of order) {
          const r = await runOne(lab, dir, impl, n, spec, config);
          // Go runs goroutines on any of its threads: nebula's thread with tid = pid is an arbitrary slice of its CPU.
          const mainThread = impl === 'nebula' ? '-' : String(r.steadyMainThreadPct);
          console.log(
            `| ${n} | ${impl} | ${r.up} | ${r.handshakesPerSec} | ${r.lhCpuUsPerHandshake} | ${r.resent} | ${r.steadyCpuPct} (${r.steadySysPct} / ${mainThread}) | ${r.rssMiB} (${r.anonMiB}) | ${r.replyP50Ms} / ${r.replyP99Ms} / ${r.replyMaxMs} | ${r.unanswered}/${r.queries} | ${r.testRequestsPerTunnelMin} |`,
          );
          console.error(JSON.stringify({ impl, ...r }));
        }
      }
    }
  } finally {
    await lab.destroy();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
