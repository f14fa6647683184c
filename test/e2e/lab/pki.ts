import { join } from 'node:path';

import { execIn } from './exec.js';

// Certificates for lab overlays, made with the reference `nebula-cert` (override the binary with NEBULA_CERT_BIN).
// It runs in the root namespace: it only writes files.
//
// Lab overlays mix mesh with nebula 1.6.1, which reads v1 certificates only, so the CA is always v1: a tool that
// knows -version (mesh-cert, nebula-cert 1.10+, both v2 by default) is told `-version 1`; 1.6.1 has no such flag
// and writes v1. `sign` follows the CA's version.

export interface CaFiles {
  name: string;
  crt: string;
  key: string;
}

export interface HostCertFiles {
  name: string;
  /** The overlay address with its prefix, as signed: '10.99.0.2/24'. */
  vpnCidr: string;
  vpnIp: string;
  crt: string;
  key: string;
}

export interface CaOptions {
  name?: string;
  /** Go duration, e.g. '1h'; default nebula-cert's (one year). */
  duration?: string;
  groups?: string[];
  ips?: string[];
  subnets?: string[];
}

export interface SignOptions {
  name: string;
  vpnCidr: string;
  groups?: string[];
  subnets?: string[];
  duration?: string;
}

const nebulaCert = (): string => process.env.NEBULA_CERT_BIN ?? 'nebula-cert';

export async function createCa(dir: string, options: CaOptions = {}): Promise<CaFiles> {
  const name = options.name ?? 'Lab CA';
  const files = { name, crt: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
  const args = ['ca', ...(await v1Flags(nebulaCert())), '-name', name, '-out-crt', files.crt, '-out-key', files.key];
  pushList(args, '-groups', options.groups);
  pushList(args, '-ips', options.ips);
  pushList(args, '-subnets', options.subnets);
  if (options.duration !== undefined) args.push('-duration', options.duration);
  await execIn(null, nebulaCert(), args);
  return files;
}

export async function signHostCert(dir: string, ca: CaFiles, options: SignOptions): Promise<HostCertFiles> {
  const crt = join(dir, `${options.name}.crt`);
  const key = join(dir, `${options.name}.key`);
  const args = ['sign', '-ca-crt', ca.crt, '-ca-key', ca.key, '-name', options.name, '-ip', options.vpnCidr, '-out-crt', crt, '-out-key', key];
  pushList(args, '-groups', options.groups);
  pushList(args, '-subnets', options.subnets);
  if (options.duration !== undefined) args.push('-duration', options.duration);
  await execIn(null, nebulaCert(), args);
  return { name: options.name, vpnCidr: options.vpnCidr, vpnIp: options.vpnCidr.split('/')[0] as string, crt, key };
}

const v1FlagsByTool = new Map<string, Promise<string[]>>();

/** `-version 1` when `tool ca -h` lists a -version flag; nothing for nebula-cert 1.6.1. */
function v1Flags(tool: string): Promise<string[]> {
  let flags = v1FlagsByTool.get(tool);
  if (flags === undefined) {
    flags = execIn(null, tool, ['ca', '-h'], { check: false }).then((r) => (/^ {2}-version\b/m.test(r.stdout + r.stderr) ? ['-version', '1'] : []));
    v1FlagsByTool.set(tool, flags);
  }
  return flags;
}

function pushList(args: string[], flag: string, values: string[] | undefined): void {
  if (values !== undefined && values.length > 0) args.push(flag, values.join(','));
}
