import { fileURLToPath } from 'node:url';
import type { Host, Lab } from './lab.js';
import { startNode, type OverlayImpl, type StartNodeOptions } from './overlay-node.js';
import type { LabProcess } from './process.js';

// mesh as an overlay implementation of the lab: the built daemon, run with the node binary running the tests.

export const MESH_MAIN = fileURLToPath(new URL('../../../cmd/mesh/main.js', import.meta.url));

export const meshImpl: OverlayImpl = {
  name: 'mesh',
  command: (configPath) => ({ cmd: process.execPath, args: [MESH_MAIN, '-config', configPath] }),
  ready: /Mesh node started/,
};

export function startMesh(lab: Lab, host: Host, configPath: string, options?: StartNodeOptions): Promise<LabProcess> {
  return startNode(lab, host, meshImpl, configPath, options);
}
