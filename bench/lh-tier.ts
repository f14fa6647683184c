// Lighthouse capacity against a tier of three (issue 21, docs/lighthouse-tier.md), next to one lighthouse in the
// same run: N simulated nodes (bench/lh-tier-gen.ts, pinned to core 0) split evenly across three mesh lighthouses
// that share what they know through a real nats-server (JetStream), each node talking to its own lighthouse only
// and querying random nodes of all fleets (so two thirds of the answers come from the tier); then the same N
// against one mesh lighthouse with the default in-memory store. The lighthouse side is on core 1 in both modes
// (the three lighthouses and nats-server share it), so the tier's rows show what the split costs on the same CPU,
// not what three machines would add.
//
//   node dist/bench/lh-tier.js [--nodes 1000,5000] [--modes single,tier] [--update-s 5] [--steady-s 20]
//        [--settle-s 3] [--qps 500] [--window 256] [--ttl 30s] [--rounds 1] [--lh-core 1] [--nats-core 1]
//        [--gen-core 0] [--log info] [--mesh-main PATH/dist/bin/mesh.cjs]
//
// --ttl is the store's TTL: each lighthouse re-writes every host it serves within each ttl/3 (spread over ticks since
// refresh-spread.ts; before, all in one go), so the default 30s puts refreshes into a 20 s steady phase; --ttl 300s
// keeps them out (an A/B of what the refresh costs).
//
// As root. Lab (one switch): nats 198.18.0.1, lh1..lh3 198.18.0.2-4 (10.99.0.1-3/16), gen 198.18.0.5 with one extra
// address per 5000 nodes per fleet; fleet k's nodes are 10.99.(1 + 64k).0 on.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { Lab, type Host } from '../test/e2e/lab/lab.js';
import { meshImpl } from '../test/e2e/lab/mesh-impl.js';
import { overlayConfig, writeOverlayConfig, type LogLevel } from '../test/e2e/lab/overlay-config.js';
import { startNode, type OverlayImpl } from '../test/e2e/lab/overlay-node.js';
import type { LabProcess } from '../test/e2e/lab/process.js';
import { NATS_PASSWORD, NATS_USER, NatsServer } from '../test/unit/helpers/nats-server.js';
import { makeHostCert, makeTestCa, type TestCa } from '../test/unit/helpers/pki.js';
import type { TierFleetSpec, TierResult, TierSpec } from './lh-tier-gen.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1000,5000' },
    modes: { type: 'string', default: 'single,tier' },
    'update-s': { type: 'string', default: '5' },
    'steady-s': { type: 'string', default: '20' },
    'settle-s': { type: 'string', default: '3' },
    qps: { type: 'string', default: '500' },
    window: { type: 'string', default: '256' },
    ttl: { type: 'string', default: '30s' },
    rounds: { type: 'string', default: '1' },
    'lh-core': { type: 'string', default: '1' },
    'nats-core': { type: 'string', default: '1' },
    'gen-core': { type: 'string', default: '0' },
    log: { type: 'string', default: 'info' },
    'mesh-main': { type: 'string' },
  },
});

type Mode = 'single' | 'tier';
const NODES_PER_SOURCE_IP = 5000;
const TIER_SIZE = 3;
const LH_PORT = 4242;
const LH_VPN = ['10.99.0.1', '10.99.0.2', '10.99.0.3'];
/** Fleet k's first node: 16384 addresses apart, inside the /16 the lighthouses share. */
/** --mesh-main: another build's dist/bin/mesh.cjs (e.g. a clean checkout of HEAD, while the tree is being edited). */
const MESH: OverlayImpl = values['mesh-main']
  ? { ...meshImpl, command: (configPath) => ({ cmd: resolve(values['mesh-main']!), args: ['-config', configPath] }) }
  : meshImpl;
const fleetFirstVpnIp = (k: number): string => `10.99.${1 + 64 * k}.0`;

function pinned(impl: OverlayImpl, core: string): OverlayImpl {
  return {
    ...impl,
    command: (configPath) => {
      const { cmd, args } = impl.command(configPath);
      return { cmd: 'taskset', args: ['-c', core, cmd, ...args] };
    },
  };
}

/** The nats-server's pid: the helper keeps its child to itself; `ip netns exec` and taskset exec in place. */
function natsPid(ns: string): number {
  const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter(Boolean);
  const pid = pids.find((p) => readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'nats-server');
  if (pid === undefined) throw new Error(`no nats-server in ${ns}: ${pids.join(' ')}`);
  return Number(pid);
}

interface Setup {
  lab: Lab;
  dir: string;
  ca: TestCa;
  lhHosts: Host[];
  gen: Host;
  natsHost: Host;
  sourceIps: string[][];
  pki: Array<{ ca: string; cert: string; key: string }>;
}

function lighthouseConfig(s: Setup, k: number, store: Record<string, unknown> | null): string {
  const path = join(s.dir, `lh${k + 1}-${store ? 'tier' : 'single'}.yml`);
  writeOverlayConfig(
    path,
    overlayConfig({
      pki: s.pki[k],
      tunDev: 'lhtier',
      amLighthouse: true,
      logLevel: values.log as LogLevel,
      overrides: store ? { lighthouse: { store } } : undefined,
    }),
  );
  return path;
}

async function runOne(s: Setup, mode: Mode, n: number, nats: NatsServer, spec: Omit<TierSpec, 'fleets' | 'others'>) {
  const count = mode === 'tier' ? TIER_SIZE : 1;
  const lhs: LabProcess[] = [];
  let natsInfo: Array<{ name: string; pid: number }> = [];
  try {
    if (mode === 'tier') {
      // A fresh store per run: no record of an earlier run is served.
      await nats.stop();
      await nats.start({ wipe: true });
      natsInfo = [{ name: 'nats', pid: natsPid(s.natsHost.ns) }];
    }
    for (let k = 0; k < count; k++) {
      const store =
        mode === 'tier'
          ? { nats: [nats.url], user: NATS_USER, password: NATS_PASSWORD, ttl: values.ttl, id: `lh${k + 1}` }
          : null;
      const lh = await startNode(s.lab, s.lhHosts[k], pinned(MESH, values['lh-core']), lighthouseConfig(s, k, store));
      if (store) await lh.waitForLog(/Lighthouse tier store connected/, 15_000);
      lhs.push(lh);
    }
    const fleets: TierFleetSpec[] = [];
    for (let k = 0; k < count; k++) {
      const nodes = Math.floor(n / count) + (k < n % count ? 1 : 0);
      fleets.push({
        lighthouse: { name: `lh${k + 1}`, vpnIp: LH_VPN[k], ip: s.lhHosts[k].ip, port: LH_PORT, pid: lhs[k].pid },
        firstVpnIp: fleetFirstVpnIp(k),
        sourceIps: s.sourceIps[k].slice(0, Math.ceil(nodes / NODES_PER_SOURCE_IP)),
        nodes,
      });
    }
    const full: TierSpec = { ...spec, fleets, others: natsInfo };
    const specPath = join(s.dir, `spec-${mode}-${n}.json`);
    writeFileSync(specPath, JSON.stringify(full));
    const gen = await s.lab.spawn(s.gen, 'taskset', [
      '-c',
      values['gen-core'],
      process.execPath,
      resolve('dist/bench/lh-tier-gen.js'),
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
      throw new Error(
        `generator failed (${JSON.stringify(exit)}):\n${gen.logTail(30)}\n${lhs.map((l) => l.logTail(10)).join('\n')}`,
      );
    return JSON.parse(line) as TierResult;
  } finally {
    await Promise.all(lhs.map((l) => l.kill(10_000)));
  }
}

const ms = (x: { p50Ms: number; p99Ms: number; answered: number }): string =>
  x.answered === 0 ? '-' : `${x.p50Ms} / ${x.p99Ms}`;

async function main(): Promise<void> {
  const steps = values.nodes.split(',').map(Number);
  const modes = values.modes.split(',') as Mode[];
  for (const m of modes) if (m !== 'single' && m !== 'tier') throw new Error(`--modes: unknown mode ${m}`);
  const cleanups: Array<() => unknown> = [];
  const lab = await Lab.create();
  try {
    const [natsHost, lh1, lh2, lh3, gen] = await lab.flat(5, ['nats', 'lh1', 'lh2', 'lh3', 'gen']);
    const perFleet = Math.ceil(Math.max(...steps) / NODES_PER_SOURCE_IP);
    const sourceIps: string[][] = [];
    for (let k = 0; k < TIER_SIZE; k++) {
      sourceIps.push([]);
      for (let i = 0; i < perFleet; i++) {
        const ip = `198.18.0.${100 + 20 * k + i}`;
        await lab.exec(gen, 'ip', ['addr', 'add', `${ip}/24`, 'dev', 'eth0']);
        sourceIps[k].push(ip);
      }
    }
    const dir = lab.path('lh-tier');
    mkdirSync(dir, { recursive: true });
    const ca = makeTestCa('lh-tier CA');
    const pki = LH_VPN.map((vpnIp, k) => {
      const cert = makeHostCert(ca, { name: `lh${k + 1}`, ip: `${vpnIp}/16` });
      const files = { ca: join(dir, 'ca.crt'), cert: join(dir, `lh${k + 1}.crt`), key: join(dir, `lh${k + 1}.key`) };
      writeFileSync(files.ca, ca.pem);
      writeFileSync(files.cert, cert.certPem);
      writeFileSync(files.key, cert.keyPem, { mode: 0o600 });
      return files;
    });
    const setup: Setup = { lab, dir, ca, lhHosts: [lh1, lh2, lh3], gen, natsHost, sourceIps, pki };
    const nats = await NatsServer.start(
      { after: (fn) => cleanups.push(fn) },
      { host: natsHost.ip, wrap: ['ip', 'netns', 'exec', natsHost.ns, 'taskset', '-c', values['nats-core']] },
    );
    const spec: Omit<TierSpec, 'fleets' | 'others'> = {
      caPem: ca.pem,
      caKeyHex: Buffer.from(ca.privateKey).toString('hex'),
      cipher: 'aes',
      prefix: 16,
      basePort: 10000,
      // The hard RLIMIT_NOFILE here is 20000 and root may not raise it (no CAP_SYS_RESOURCE in this container).
      maxSockets: 16_000,
      window: Number(values.window),
      updateIntervalMs: Number(values['update-s']) * 1000,
      settleMs: Number(values['settle-s']) * 1000,
      steadyMs: Number(values['steady-s']) * 1000,
      queriesPerSec: Number(values.qps),
      queryTimeoutMs: 2000,
    };
    console.log(
      `lighthouses on core ${values['lh-core']}, nats-server on core ${values['nats-core']}, generator on core ${values['gen-core']}; ` +
        `updates every ${values['update-s']} s, ${values.qps} queries/s for ${values['steady-s']} s after ${values['settle-s']} s to settle, ` +
        `window ${values.window}, store ttl ${values.ttl}, log ${values.log}`,
    );
    const rows: string[] = [];
    const procRows: string[] = [];
    for (let round = 0; round < Number(values.rounds); round++) {
      for (const [i, n] of steps.entries()) {
        const order = (i + round) % 2 === 0 ? modes : [...modes].reverse();
        for (const mode of order) {
          const r = await runOne(setup, mode, n, nats, spec);
          console.error(JSON.stringify({ mode, ...r }));
          const served = r.processes
            .filter((p) => p.up !== undefined)
            .map((p) => p.up)
            .join('+');
          const cpu = r.processes.map((p) => p.steadyCpuPct).reduce((a, b) => a + b, 0);
          rows.push(
            `| ${n} | ${mode} | ${served} | ${r.answeredPerSec} | ${ms(r.all)} / ${r.all.maxMs} | ${ms(r.local)} | ${ms(r.tier)} | ${r.unanswered}/${r.queries} | ${r.emptyReplies} | ${r.punchNotifications} | ${cpu.toFixed(1)} | ${r.genCpuPct} | ${r.joinMs} |`,
          );
          for (const p of r.processes)
            procRows.push(
              `| ${n} | ${mode} | ${p.name} | ${p.up ?? '-'} | ${p.joinCpuS} | ${p.steadyCpuPct} | ${p.rssMiB} |`,
            );
          console.log(rows[rows.length - 1]);
        }
      }
    }
    console.log(
      '\n| nodes | mode | nodes served | answered/s | query p50 / p99 / max ms | local p50 / p99 | tier p50 / p99 | unanswered | empty replies | punches delivered | lighthouse side CPU % | gen CPU % | join ms |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const row of rows) console.log(row);
    console.log('\n| nodes | mode | process | up | join CPU s | steady CPU % | RSS MiB |');
    console.log('|---|---|---|---|---|---|---|');
    for (const row of procRows) console.log(row);
  } finally {
    for (const fn of cleanups.reverse()) await fn();
    await lab.destroy();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
