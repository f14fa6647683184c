// Everything a test needs to run Nebula-style overlays in the lab, from one import.
//   nebula-impl.ts     nebulaImpl, startNebula (the reference binary)
//   overlay-node.ts    OverlayImpl, startNode (the seam where mesh plugs in)
//   pki.ts             createCa, signHostCert (nebula-cert)
//   overlay-config.ts  overlayConfig, writeOverlayConfig (config.yml with lab defaults)
//   overlay-net.ts     OverlayNet: CA + numbered nodes + lighthouses/relays wired together

export { nebulaImpl, startNebula } from './nebula-impl.js';
export { startNode } from './overlay-node.js';
export type { OverlayImpl, StartNodeOptions } from './overlay-node.js';
export { createCa, signHostCert } from './pki.js';
export type { CaFiles, CaOptions, HostCertFiles, SignOptions } from './pki.js';
export { ALLOW_ALL_FIREWALL, deepMerge, overlayConfig, writeOverlayConfig } from './overlay-config.js';
export type { Cipher, LighthouseRef, LogLevel, OverlayConfigInput } from './overlay-config.js';
export { OverlayNet, OverlayNode } from './overlay-net.js';
export type { OverlayNetOptions, OverlayNodeOptions } from './overlay-net.js';
