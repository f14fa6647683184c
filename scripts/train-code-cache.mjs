// Makes the V8 code caches dist/bin/mesh.code-cache and dist/bin/mesh-cert.code-cache (pkg/launch/code-cache.ts)
// by running what a cold start runs. mesh-cert makes a CA and signs three hosts; a lighthouse and two nodes start on
// loopback without a TUN (so the build needs no root), and node a, whose launcher writes the cache when it exits,
// pings b through the lighthouse: the lighthouse handshake, the query, the handshake with b and test messages.
// A cache made this way takes ~13 ms off the cold tunnel; one made before anything ran, ~6.
// Best effort: when anything here fails the build goes on without a cache (the executables then compile from
// source, as they would after a node upgrade). Run by `make build` after scripts/bundle.mjs.

import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WRITE_CODE_CACHE_ENV, compileBundle } from '../dist/pkg/launch/code-cache.js';

const BIN = fileURLToPath(new URL('../dist/bin/', import.meta.url));
const MESH = join(BIN, 'mesh.cjs');
const MESH_CERT = join(BIN, 'mesh-cert.cjs');
const STEP_TIMEOUT_MS = 15_000;

const HOSTS = { lh: '10.255.0.1', a: '10.255.0.2', b: '10.255.0.3' };

function run(cmd, args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), STEP_TIMEOUT_MS);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${stderr.trim()}`));
    });
  });
}

function startDaemon(config, env = {}) {
  const child = spawn(MESH, ['-config', config], { env: { ...process.env, ...env }, stdio: 'ignore' });
  // A daemon that cannot even be spawned fails the training (waitFor), not the build.
  const exited = new Promise((resolve) => {
    child.on('exit', resolve);
    child.on('error', resolve);
  });
  return {
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STEP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitFor(path) {
  for (let waited = 0; waited < STEP_TIMEOUT_MS; waited += 20) {
    if (existsSync(path)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no ${path} after ${STEP_TIMEOUT_MS} ms`);
}

function freeUdpPort() {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.on('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function config(dir, name, lighthousePort) {
  const anyRule = '[{ port: any, proto: any, host: any }]';
  const role =
    name === 'lh'
      ? `lighthouse: { am_lighthouse: true }\nlisten: { host: 127.0.0.1, port: ${lighthousePort} }\n`
      : `static_host_map: { '${HOSTS.lh}': ['127.0.0.1:${lighthousePort}'] }\n` +
        `lighthouse: { hosts: ['${HOSTS.lh}'], interval: 60 }\nlisten: { host: 127.0.0.1, port: 0 }\n`;
  const path = join(dir, `${name}.yml`);
  writeFileSync(
    path,
    `pki: { ca: ca.crt, cert: ${name}.crt, key: ${name}.key }\n${role}tun: { disabled: true }\n` +
      `control: { socket: ${join(dir, `${name}.sock`)} }\nlogging: { level: error }\n` +
      `firewall: { outbound: ${anyRule}, inbound: ${anyRule} }\n`,
  );
  return path;
}

async function train(dir) {
  const certCache = { [WRITE_CODE_CACHE_ENV]: '1' };
  const ca = ['-ca-crt', join(dir, 'ca.crt'), '-ca-key', join(dir, 'ca.key')];
  // v1, the form the benchmarks' networks use (they include nebula 1.6.1); `ca` alone would make v2.
  await run(
    MESH_CERT,
    ['ca', '-version', '1', '-name', 'code-cache training', '-out-crt', ca[1], '-out-key', ca[3]],
    certCache,
  );
  for (const [name, ip] of Object.entries(HOSTS)) {
    const out = ['-out-crt', join(dir, `${name}.crt`), '-out-key', join(dir, `${name}.key`)];
    await run(MESH_CERT, ['sign', ...ca, '-name', name, '-ip', `${ip}/24`, ...out], certCache);
  }

  const port = await freeUdpPort();
  const daemons = [];
  try {
    daemons.push(startDaemon(config(dir, 'lh', port)));
    daemons.push(startDaemon(config(dir, 'b', port)));
    const a = config(dir, 'a', port);
    daemons.push(startDaemon(a, { [WRITE_CODE_CACHE_ENV]: '1' }));
    for (const name of ['lh', 'b', 'a']) await waitFor(join(dir, `${name}.sock`));
    await run(MESH, ['ping', '-config', a, '-count', '3', '-interval', '20ms', HOSTS.b]);
  } finally {
    // a first: its launcher writes the cache as it exits.
    for (const d of daemons.reverse()) await d.stop();
  }
}

function check(name) {
  const cache = join(BIN, `${name}.code-cache`);
  if (!existsSync(cache)) throw new Error(`${cache} was not written`);
  const { cacheRejected } = compileBundle(join(BIN, `${name}.bundle.cjs`), cache);
  if (cacheRejected) throw new Error(`V8 refuses ${cache}`);
  return `${name} ${(statSync(cache).size / 1024).toFixed(0)} KiB`;
}

const dir = mkdtempSync(join(tmpdir(), 'mesh-code-cache-'));
try {
  await train(dir);
  console.log(`code caches: ${['mesh', 'mesh-cert'].map(check).join(', ')}`);
} catch (e) {
  for (const name of ['mesh', 'mesh-cert']) rmSync(join(BIN, `${name}.code-cache`), { force: true });
  console.warn(`warning: no code cache, the executables will start slower: ${e.message}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
