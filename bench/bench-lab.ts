// The benchmark lab: two hosts, a and b, joined by one veth pair (no bridge, no router: the underlay is as fast
// as this kernel can be), one CA, one certificate and one config file per host. The same files run either
// implementation, so mesh and nebula are compared on identical inputs:
//
//   a 198.18.0.1 ──veth── 198.18.0.2 b        overlay 10.99.0.1 ── 10.99.0.2, tun MTU 1300
//
// With `ipv6`, a second pair of files gives mesh dual-stack v2 certificates (10.99.0.n/24 and <ULA>::n/64, a ULA
// /64 random per run), so one tunnel carries both families and IPv6 is measured against IPv4 on the same daemons
// (nebula 1.6.1 has no IPv6 overlay and reads v1 certificates only: it keeps the v1 files).
//
// Everything lives in lab namespaces (test/e2e/lab), torn down by destroy() or on exit.

import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Lab } from '../test/e2e/lab/lab.js';
import type { Host } from '../test/e2e/lab/lab.js';
import { MESH_MAIN, meshImpl } from '../test/e2e/lab/mesh-impl.js';
import { nebulaImpl } from '../test/e2e/lab/nebula-impl.js';
import { overlayConfig, writeOverlayConfig } from '../test/e2e/lab/overlay-config.js';
import type { Cipher } from '../test/e2e/lab/overlay-config.js';
import { startNode } from '../test/e2e/lab/overlay-node.js';
import type { OverlayImpl } from '../test/e2e/lab/overlay-node.js';
import { randomUlaPrefix } from '../test/e2e/lab/overlay-net.js';
import { createCa, signHostCert, signHostCertV2 } from '../test/e2e/lab/pki.js';
import type { LabProcess } from '../test/e2e/lab/process.js';
import { waitFor } from '../test/e2e/lab/wait.js';

export const IMPLS: Record<'mesh' | 'nebula', OverlayImpl> = { mesh: meshImpl, nebula: nebulaImpl };
export type ImplName = keyof typeof IMPLS;

export const UNDERLAY = { a: '198.18.0.1', b: '198.18.0.2' } as const;
export const OVERLAY = { a: '10.99.0.1', b: '10.99.0.2' } as const;
export const OVERLAY_MTU = 1300;

export interface PairOptions {
  cipher?: Cipher;
  logLevel?: 'info' | 'debug';
  /** Extra environment for the daemons (MESH_UDP=dgram, NODE_OPTIONS=--cpu-prof, …). */
  env?: NodeJS.ProcessEnv;
  /** Also dual-stack (IPv4 + IPv6) v2 files for mesh: start(..., { dualStack: true }). */
  ipv6?: boolean;
}

export interface RunningPair {
  impl: ImplName;
  a: LabProcess;
  b: LabProcess;
}

export class PairLab {
  private running: RunningPair | null = null;

  private constructor(
    readonly lab: Lab,
    readonly a: Host,
    readonly b: Host,
    readonly configs: { a: string; b: string },
    private readonly env: NodeJS.ProcessEnv | undefined,
    /** The dual-stack files and IPv6 overlay addresses, with `ipv6`. */
    readonly dual: { configs: { a: string; b: string }; overlay6: { a: string; b: string } } | null,
  ) {}

  static async create(options: PairOptions = {}): Promise<PairLab> {
    const lab = await Lab.create();
    try {
      const a = await lab.addHost('a');
      const b = await lab.addHost('b');
      await lab.link(a, b, { addrA: `${UNDERLAY.a}/24`, addrB: `${UNDERLAY.b}/24`, ifA: 'eth0', ifB: 'eth0' });
      const dir = lab.path('pki');
      mkdirSync(dir, { recursive: true });
      const ca = await createCa(dir, { name: 'bench CA' });
      const configs = { a: join(dir, 'a.yml'), b: join(dir, 'b.yml') };
      for (const [me, peer] of [
        ['a', 'b'],
        ['b', 'a'],
      ] as const) {
        const cert = await signHostCert(dir, ca, { name: me, vpnCidr: `${OVERLAY[me]}/24` });
        const config = overlayConfig({
          pki: { ca: ca.crt, cert: cert.crt, key: cert.key },
          tunDev: `bench${me}`,
          cipher: options.cipher ?? 'aes',
          logLevel: options.logLevel ?? 'info',
          staticHosts: { [OVERLAY[peer]]: [`${UNDERLAY[peer]}:4242`] },
        });
        writeOverlayConfig(configs[me], config);
      }
      const dual = options.ipv6 === true ? await dualStackFiles(lab, dir, ca, [a, b], options) : null;
      return new PairLab(lab, a, b, configs, options.env, dual);
    } catch (err) {
      await lab.destroy();
      throw err;
    }
  }

  /**
   * Starts `impl` on both hosts with the shared files and waits until a ping crosses the tunnel. Two keys of `env`
   * change how mesh runs rather than its environment: NODE_ARGS (node's own flags; --cpu-prof is refused in
   * NODE_OPTIONS) and MESH_MAIN (another build's dist/bin/mesh.cjs, to compare builds in one run).
   */
  async start(impl: ImplName, env = this.env, options: { dualStack?: boolean } = {}): Promise<RunningPair> {
    const configs = options.dualStack === true ? this.dual?.configs : this.configs;
    if (configs === undefined) throw new Error('dual-stack files need PairLab.create({ ipv6: true })');
    await this.stop();
    const { NODE_ARGS: nodeArgs, MESH_MAIN: main, ...rest } = env ?? {};
    const spawnEnv = env === undefined ? undefined : { ...process.env, ...rest };
    const overlay =
      impl === 'mesh' && (nodeArgs || main) ? meshWithNodeArgs(nodeArgs ? nodeArgs.split(' ') : [], main) : IMPLS[impl];
    const a = await startNode(this.lab, this.a, overlay, configs.a, { env: spawnEnv });
    const b = await startNode(this.lab, this.b, overlay, configs.b, { env: spawnEnv });
    this.running = { impl, a, b };
    await waitFor(async () => (await this.lab.ping(this.a, OVERLAY.b, { count: 1, timeoutSec: 1 })).ok, {
      timeoutMs: 15_000,
      intervalMs: 0,
      what: `a ${impl} tunnel a -> b\n${this.lab.logTails()}`,
    });
    const b6 = this.dual?.overlay6.b;
    if (options.dualStack === true && b6 !== undefined) {
      await waitFor(async () => (await this.lab.ping(this.a, b6, { count: 1, timeoutSec: 1 })).ok, {
        timeoutMs: 15_000,
        intervalMs: 0,
        what: `a ${impl} tunnel a -> b over IPv6 (${b6})\n${this.lab.logTails()}`,
      });
    }
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.running === null) return;
    const { a, b } = this.running;
    this.running = null;
    await Promise.all([a.kill(5000), b.kill(5000)]);
  }

  async destroy(): Promise<void> {
    await this.stop();
    await this.lab.destroy();
  }
}

/** v2 certificates with both families and their config files; IPv6 turned on for the TUNs (and lo) of a and b. */
async function dualStackFiles(
  lab: Lab,
  dir: string,
  ca: Awaited<ReturnType<typeof createCa>>,
  hosts: [Host, Host],
  options: PairOptions,
): Promise<{ configs: { a: string; b: string }; overlay6: { a: string; b: string } }> {
  const prefix = randomUlaPrefix().split('::/')[0];
  const overlay6 = { a: `${prefix}::1`, b: `${prefix}::2` };
  const configs = { a: join(dir, 'a-dual.yml'), b: join(dir, 'b-dual.yml') };
  for (const host of hosts)
    await lab.exec(host, 'sysctl', [
      '-q',
      '-w',
      'net.ipv6.conf.default.disable_ipv6=0',
      'net.ipv6.conf.lo.disable_ipv6=0',
    ]);
  for (const [me, peer] of [
    ['a', 'b'],
    ['b', 'a'],
  ] as const) {
    const cert = await signHostCertV2(dir, ca, {
      name: `${me}-dual`,
      networks: [`${OVERLAY[me]}/24`, `${overlay6[me]}/64`],
    });
    const config = overlayConfig({
      pki: { ca: ca.crt, cert: cert.crt, key: cert.key },
      tunDev: `bench${me}`,
      cipher: options.cipher ?? 'aes',
      logLevel: options.logLevel ?? 'info',
      staticHosts: { [OVERLAY[peer]]: [`${UNDERLAY[peer]}:4242`] },
    });
    writeOverlayConfig(configs[me], config);
  }
  return { configs, overlay6 };
}

/**
 * mesh run with extra node flags (--cpu-prof, --heapsnapshot-signal=SIGUSR2, …), optionally from another build. The
 * executable's own `#!/usr/bin/env -S …` line is kept (its env options and node flags), so such a run differs from
 * the plain one only by the extra flags.
 */
export function meshWithNodeArgs(nodeArgs: string[], main = MESH_MAIN): OverlayImpl {
  const shebang = readFileSync(main, 'utf8').split('\n', 1)[0].split(/\s+/);
  const words = shebang.includes('-S') ? shebang.slice(shebang.indexOf('-S') + 1) : ['node'];
  const node = words.indexOf('node');
  if (node < 0) throw new Error(`${main}: no node in its #! line`);
  const args = [...words.slice(0, node), process.execPath, ...words.slice(node + 1), ...nodeArgs, main];
  return { ...meshImpl, command: (configPath) => ({ cmd: 'env', args: [...args, '-config', configPath] }) };
}

/**
 * A benchmark's `--variant name:KEY=VAL[,KEY=VAL]` option: an extra mesh run labelled `name` with that environment
 * (MESH_MAIN=<other build>/dist/bin/mesh.cjs compares builds).
 */
export function parseVariant(spec: string): [string, NodeJS.ProcessEnv] {
  const colon = spec.indexOf(':');
  const pairs =
    colon < 0
      ? []
      : spec
          .slice(colon + 1)
          .split(',')
          .filter(Boolean);
  const env = Object.fromEntries(pairs.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  return [colon < 0 ? spec : spec.slice(0, colon), env];
}
