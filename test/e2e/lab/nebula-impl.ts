import type { Host, Lab } from './lab.js';
import { startNode } from './overlay-node.js';
import type { OverlayImpl, StartNodeOptions } from './overlay-node.js';
import type { LabProcess } from './process.js';

// The reference implementation: Debian's nebula 1.6.1 (override the binary with NEBULA_BIN).

export const nebulaImpl: OverlayImpl = {
  name: 'nebula',
  command: (configPath) => ({ cmd: process.env.NEBULA_BIN ?? 'nebula', args: ['-config', configPath] }),
  ready: /Nebula interface is active/,
};

export function startNebula(lab: Lab, host: Host, configPath: string, options?: StartNodeOptions): Promise<LabProcess> {
  return startNode(lab, host, nebulaImpl, configPath, options);
}
