import { fileURLToPath } from 'node:url';
import type { Host, Lab } from './lab.js';
import { startNode, type OverlayImpl, type StartNodeOptions } from './overlay-node.js';
import type { LabProcess } from './process.js';

// mesh as an overlay implementation of the lab: the shipped executable (dist/bin/mesh.cjs, the esbuild bundle that
// `make build` writes and package.json's "bin" points at), run as an executable, the way users and systemd start it.

export const MESH_MAIN = fileURLToPath(new URL('../../../bin/mesh.cjs', import.meta.url));

export const meshImpl: OverlayImpl = {
  name: 'mesh',
  command: (configPath) => ({ cmd: MESH_MAIN, args: ['-config', configPath] }),
  ready: /Mesh node started/,
};

export function startMesh(lab: Lab, host: Host, configPath: string, options?: StartNodeOptions): Promise<LabProcess> {
  return startNode(lab, host, meshImpl, configPath, options);
}
