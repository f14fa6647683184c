// The cold-tunnel lab: a lighthouse and two nodes on one switch (lab.flat), one CA, one config per host. a and b
// know only the lighthouse (static_host_map + lighthouse.hosts), so a's first packet to b needs a lighthouse
// query, a handshake, and then the packet. The same files run either implementation.
//
//   lh 198.18.0.1 / 10.99.0.1      a 198.18.0.2 / 10.99.0.2      b 198.18.0.3 / 10.99.0.3
//   c 198.18.0.4 / 10.99.0.4 (a second peer a never contacted: latency.ts first --second)

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { Lab } from '../test/e2e/lab/lab.js';
import type { Host } from '../test/e2e/lab/lab.js';
import { overlayConfig, writeOverlayConfig } from '../test/e2e/lab/overlay-config.js';
import { startNode } from '../test/e2e/lab/overlay-node.js';
import { createCa, signHostCert } from '../test/e2e/lab/pki.js';
import type { LabProcess } from '../test/e2e/lab/process.js';
import { IMPLS, meshWithNodeArgs, type ImplName } from './bench-lab.js';

export const LH_OVERLAY = { lh: '10.99.0.1', a: '10.99.0.2', b: '10.99.0.3', c: '10.99.0.4' } as const;
type Role = keyof typeof LH_OVERLAY;

export class LighthouseLab {
  private readonly running: LabProcess[] = [];

  private constructor(
    readonly lab: Lab,
    readonly hosts: Record<Role, Host>,
    readonly configs: Record<Role, string>,
  ) {}

  static async create(): Promise<LighthouseLab> {
    const lab = await Lab.create();
    try {
      const [lh, a, b, c] = await lab.flat(4, ['lh', 'a', 'b', 'c']);
      const hosts = { lh, a, b, c };
      const dir = lab.path('pki');
      mkdirSync(dir, { recursive: true });
      const ca = await createCa(dir, { name: 'bench CA' });
      const configs = {} as Record<Role, string>;
      for (const role of ['lh', 'a', 'b', 'c'] as const) {
        const cert = await signHostCert(dir, ca, { name: role, vpnCidr: `${LH_OVERLAY[role]}/24` });
        const config = overlayConfig({
          pki: { ca: ca.crt, cert: cert.crt, key: cert.key },
          tunDev: `bench${role}`,
          amLighthouse: role === 'lh',
          lighthouses: role === 'lh' ? [] : [{ vpnIp: LH_OVERLAY.lh, endpoints: [`${lh.ip}:4242`] }],
        });
        configs[role] = join(dir, `${role}.yml`);
        writeOverlayConfig(configs[role], config);
      }
      return new LighthouseLab(lab, hosts, configs);
    } catch (err) {
      await lab.destroy();
      throw err;
    }
  }

  /**
   * Starts `impl` on `role`; `wait: false` returns as soon as the process runs. `env` as PairLab.start's: NODE_ARGS
   * and MESH_MAIN (another build) change how mesh runs, the rest is added to its environment.
   */
  async start(impl: ImplName, role: Role, wait = true, env?: NodeJS.ProcessEnv): Promise<LabProcess> {
    const { NODE_ARGS: nodeArgs, MESH_MAIN: main, ...rest } = env ?? {};
    const overlay =
      impl === 'mesh' && (nodeArgs || main) ? meshWithNodeArgs(nodeArgs ? nodeArgs.split(' ') : [], main) : IMPLS[impl];
    const spawnEnv = env === undefined ? undefined : { ...process.env, ...rest };
    const proc = await startNode(this.lab, this.hosts[role], overlay, this.configs[role], { wait, env: spawnEnv });
    this.running.push(proc);
    return proc;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.running.splice(0).map((p) => p.kill(5000)));
  }

  async destroy(): Promise<void> {
    await this.stopAll();
    await this.lab.destroy();
  }
}
