// Memory and idle CPU, mesh against nebula 1.6.1 in the same run: `node dist/bench/resources.js [--steps 100,1000]`
// as root.
//
// A target node (the implementation under test) runs alone in namespace a with a TUN; its CPU and resident set are
// read idle, then its resident set with each number of tunnels in --steps. The tunnels come from load-peers.ts in
// namespace b: that many in-process mesh peers, each with its own certificate and socket. Certificates are made in
// memory (a /16 overlay, so a thousand peers fit); target and peers share the CA. CPU seconds per GB come from
// throughput.ts.
//
// --build label=path (repeatable) adds a mesh row run from another build's dist/bin/mesh.cjs (e.g.
// before=/tmp/before/dist/bin/mesh.cjs), to compare builds in one run; --only lists the labels to run (nebula, mesh,
// builds' labels), in that order; without it: nebula, mesh, then every build.

import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { Lab } from '../test/e2e/lab/lab.js';
import { overlayConfig, writeOverlayConfig } from '../test/e2e/lab/overlay-config.js';
import { startNode } from '../test/e2e/lab/overlay-node.js';
import { sleep } from '../test/e2e/lab/wait.js';
import { makeHostCert, makeTestCa } from '../test/unit/helpers/pki.js';
import { IMPLS, meshWithNodeArgs, UNDERLAY, type ImplName } from './bench-lab.js';
import { anonRssMb, cpuSeconds, rssMb } from './proc-stats.js';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '100,1000' },
    only: { type: 'string' },
    settle: { type: 'string', default: '15000' },
    'node-args': { type: 'string' },
    /** After each reading, a heap snapshot of the mesh target (Heap.*.heapsnapshot in the current directory). */
    'heap-snapshots': { type: 'boolean', default: false },
    build: { type: 'string', multiple: true, default: [] },
  },
});
const steps = values.steps.split(',').map(Number);
/** Extra mesh builds: label -> that build's dist/bin/mesh.cjs. */
const builds = new Map(
  values.build.map((spec) => {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw new Error(`--build wants label=path, got ${spec}`);
    return [spec.slice(0, eq), spec.slice(eq + 1)] as const;
  }),
);
/** --only's labels as given, each once; without it nebula, mesh and every --build. */
const impls = values.only !== undefined ? [...new Set(values.only.split(','))] : ['nebula', 'mesh', ...builds.keys()];
for (const label of impls) {
  if (label !== 'nebula' && label !== 'mesh' && !builds.has(label)) {
    throw new Error(`--only ${label}: not nebula, mesh or a --build label`);
  }
}
const settleMs = Number(values.settle);

const TARGET_VPN = '10.100.0.1';
const PREFIX = 16;

interface Row {
  impl: string;
  idleMb: number;
  /** CPU of the idle daemon (timers, polls), in ms per second: what an idle laptop pays. */
  idleCpuMsPerS: number;
  withTunnels: Array<{ tunnels: number; mb: number; anonMb: number }>;
}

async function measure(lab: Lab, impl: string, dir: string, specPath: string): Promise<Row> {
  const [a, b] = [lab.allHosts().find((h) => h.name === 'a'), lab.allHosts().find((h) => h.name === 'b')];
  if (!a || !b) throw new Error('lab hosts missing');
  const build = builds.get(impl);
  const isMesh = impl === 'mesh' || build !== undefined;
  const snapshots = isMesh && values['heap-snapshots'];
  const nodeArgs = [
    ...(values['node-args']?.split(' ') ?? []),
    ...(snapshots ? ['--heapsnapshot-signal=SIGUSR2'] : []),
  ];
  const overlay =
    isMesh && (nodeArgs.length > 0 || build !== undefined)
      ? meshWithNodeArgs(nodeArgs, build)
      : IMPLS[impl as ImplName];
  // A snapshot doubles the heap for a while, so it is taken after the reading and given time to finish.
  const snapshot = async (): Promise<void> => {
    if (!snapshots) return;
    process.kill(target.pid, 'SIGUSR2');
    await sleep(8000);
  };
  const target = await startNode(lab, a, overlay, join(dir, 'target.yml'), {
    logFile: join(dir, `target-${impl}.log`),
  });
  const row: Row = { impl, idleMb: 0, idleCpuMsPerS: 0, withTunnels: [] };
  try {
    // Start-up CPU is left out: idle CPU is read over the last two thirds of the settle time.
    await sleep(settleMs / 3);
    const cpu0 = cpuSeconds(target.pid);
    await sleep((settleMs * 2) / 3);
    row.idleCpuMsPerS = ((cpuSeconds(target.pid) - cpu0) * 1000) / ((settleMs * 2) / 3 / 1000);
    row.idleMb = rssMb(target.pid);
    console.error(`  ${impl}: idle ${row.idleMb.toFixed(1)} MiB, ${row.idleCpuMsPerS.toFixed(1)} ms CPU per second`);
    await snapshot();
    // CPU per tunnel set up: the target's CPU time while the peers handshake (each tunnel also carries one test
    // request), less its idle rate over the same time. The issue-19 figure (us per handshake), load-independent.
    let cpuAt = cpuSeconds(target.pid);
    let timeAt = performance.now();
    let upBefore = 0;
    const gen = await lab.spawn(b, process.execPath, [new URL('./load-peers.js', import.meta.url).pathname, specPath]);
    try {
      let offset = gen.logStart;
      for (let i = 0; i < steps.length; i++) {
        const m = await gen.waitForLog(/^up (\d+)$/m, 600_000, offset);
        offset = gen.log().indexOf(m[0], offset) + m[0].length;
        const tunnels = Number(m[1]);
        const busyS =
          cpuSeconds(target.pid) - cpuAt - (row.idleCpuMsPerS / 1000) * ((performance.now() - timeAt) / 1000);
        if (tunnels > upBefore) {
          const cpuUs = (busyS * 1e6) / (tunnels - upBefore);
          console.error(
            `  ${impl}: ${upBefore} -> ${tunnels} tunnels: ${cpuUs.toFixed(0)} us CPU per tunnel set up (${execSync(
              'uptime',
            )
              .toString()
              .trim()
              .replace(/^.*load/, 'load')})`,
          );
        }
        await sleep(settleMs);
        const mb = rssMb(target.pid);
        const anonMb = anonRssMb(target.pid);
        row.withTunnels.push({ tunnels, mb, anonMb });
        console.error(`  ${impl}: ${tunnels} tunnels ${mb.toFixed(1)} MiB (anonymous ${anonMb.toFixed(1)} MiB)`);
        await snapshot();
        upBefore = tunnels;
        cpuAt = cpuSeconds(target.pid);
        timeAt = performance.now();
        gen.signal('SIGUSR2');
      }
    } finally {
      await gen.kill(2000);
    }
  } finally {
    await target.kill(5000);
  }
  return row;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root: the lab needs network namespaces');
  const lab = await Lab.create();
  try {
    const a = await lab.addHost('a');
    const b = await lab.addHost('b');
    await lab.link(a, b, { addrA: `${UNDERLAY.a}/24`, addrB: `${UNDERLAY.b}/24`, ifA: 'eth0', ifB: 'eth0' });
    const dir = lab.path('res');
    mkdirSync(dir, { recursive: true });
    const ca = makeTestCa('bench CA');
    const host = makeHostCert(ca, { name: 'target', ip: `${TARGET_VPN}/${PREFIX}` });
    writeFileSync(join(dir, 'ca.crt'), ca.pem);
    writeFileSync(join(dir, 'target.crt'), host.certPem);
    writeFileSync(join(dir, 'target.key'), host.keyPem, { mode: 0o600 });
    const config = overlayConfig({
      pki: { ca: join(dir, 'ca.crt'), cert: join(dir, 'target.crt'), key: join(dir, 'target.key') },
      tunDev: 'benchres',
      punchy: { punch: false },
    });
    writeOverlayConfig(join(dir, 'target.yml'), config);
    const specPath = join(dir, 'peers.json');
    const spec = {
      caPem: ca.pem,
      caKeyHex: Buffer.from(ca.privateKey).toString('hex'),
      target: { vpnIp: TARGET_VPN, addr: `${UNDERLAY.a}:4242` },
      firstIp: '10.100.1.0',
      prefix: PREFIX,
      steps,
    };
    writeFileSync(specPath, JSON.stringify(spec), { mode: 0o600 });

    console.error(`resources: tunnels ${steps.join(', ')}, ${settleMs} ms settle before each reading`);
    const rows: Row[] = [];
    for (const impl of impls) rows.push(await measure(lab, impl, dir, specPath));

    // Two figures per tunnel: the whole resident set from idle to the last step (includes one-time costs, such as
    // the handshake's code being paged in), and the anonymous memory each additional tunnel adds between the first
    // and the last step (the marginal cost; needs two steps).
    const [first, last] = [steps[0], steps.at(-1)];
    const head = `| impl | idle CPU ms/s | idle RSS MiB | ${steps.map((s) => `RSS with ${s} tunnels MiB`).join(' | ')} | KiB per tunnel (RSS, idle -> ${last}) | KiB per additional tunnel (anonymous, ${first} -> ${last}) |`;
    const lines = [head, `|---|---|---|${steps.map(() => '---').join('|')}|---|---|`];
    for (const r of rows) {
      const [lo, hi] = [r.withTunnels[0], r.withTunnels.at(-1)];
      const perTunnel = hi ? ((hi.mb - r.idleMb) * 1024) / hi.tunnels : NaN;
      const marginal =
        lo && hi && hi.tunnels > lo.tunnels ? ((hi.anonMb - lo.anonMb) * 1024) / (hi.tunnels - lo.tunnels) : NaN;
      lines.push(
        `| ${r.impl} | ${r.idleCpuMsPerS.toFixed(1)} | ${r.idleMb.toFixed(1)} | ${r.withTunnels.map((w) => `${w.mb.toFixed(1)} (${w.tunnels} up)`).join(' | ')} | ${perTunnel.toFixed(2)} | ${marginal.toFixed(2)} |`,
      );
    }
    console.log(lines.join('\n'));
  } finally {
    await lab.destroy();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
