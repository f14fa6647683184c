import { join } from 'node:path';

import { execIn } from './exec.js';

// Certificates for lab overlays, made with the reference `nebula-cert` (override the binary with NEBULA_CERT_BIN).
// It runs in the root namespace: it only writes files.

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
  const args = ['ca', '-name', name, '-out-crt', files.crt, '-out-key', files.key];
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

function pushList(args: string[], flag: string, values: string[] | undefined): void {
  if (values !== undefined && values.length > 0) args.push(flag, values.join(','));
}
