import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { execIn } from './exec.js';

// Certificates for lab overlays, made with the reference `nebula-cert` (override the binary with NEBULA_CERT_BIN).
// It runs in the root namespace: it only writes files.
//
// Lab overlays mix mesh with nebula 1.6.1, which reads v1 certificates only, so the CA is always v1: a tool that
// knows -version (mesh-cert, nebula-cert 1.10+, both v2 by default) is told `-version 1`; 1.6.1 has no such flag
// and writes v1. `sign` follows the CA's version.
//
// IPv6 overlay addresses need v2 certificates (docs/certificates-v2.md): signHostCertV2 has mesh-cert sign a v2
// certificate with several networks under the same (v1) CA, and optionally a v1 certificate on the same key next to
// it (a v1+v2 bundle, for a network that also has nebula 1.6.1 nodes, which read v1 only).

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
  /** Every overlay network of the certificate(s) with its prefix, in certificate order ('10.99.0.2/24', 'fd..::2/64'). */
  networks: string[];
  /** The overlay addresses of `networks`, without prefix; the first is the host's primary address. */
  vpnIps: string[];
  /** 1, 2, or both (a v1+v2 bundle in one file). */
  version: 1 | 2 | '1+2';
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
  const args = [
    'sign',
    '-ca-crt',
    ca.crt,
    '-ca-key',
    ca.key,
    '-name',
    options.name,
    '-ip',
    options.vpnCidr,
    '-out-crt',
    crt,
    '-out-key',
    key,
  ];
  pushList(args, '-groups', options.groups);
  pushList(args, '-subnets', options.subnets);
  if (options.duration !== undefined) args.push('-duration', options.duration);
  await execIn(null, nebulaCert(), args);
  const vpnIp = options.vpnCidr.split('/')[0] as string;
  return {
    name: options.name,
    vpnCidr: options.vpnCidr,
    vpnIp,
    networks: [options.vpnCidr],
    vpnIps: [vpnIp],
    version: 1,
    crt,
    key,
  };
}

export interface SignV2Options {
  name: string;
  /** IPv4 and/or IPv6 networks with prefix ('10.99.0.2/24', 'fd12::2/64'); the first is the primary address. */
  networks: string[];
  groups?: string[];
  unsafeNetworks?: string[];
  duration?: string;
  /** Also a v1 certificate (IPv4 networks only) on the same key, both in one file: a v1+v2 bundle. */
  withV1?: boolean;
}

/** The mesh-cert executable `make build` writes (override with MESH_CERT_BIN). */
export const meshCert = (): string =>
  process.env.MESH_CERT_BIN ?? fileURLToPath(new URL('../../../bin/mesh-cert.cjs', import.meta.url));

/** A v2 host certificate (and with withV1 a v1 one on the same key, bundled) made by mesh-cert under `ca`. */
export async function signHostCertV2(dir: string, ca: CaFiles, options: SignV2Options): Promise<HostCertFiles> {
  const [primary] = options.networks;
  if (primary === undefined) throw new Error(`certificate ${options.name}: no networks`);
  const crt = join(dir, `${options.name}.crt`);
  const key = join(dir, `${options.name}.key`);
  const pub = join(dir, `${options.name}.pub`);
  await execIn(null, meshCert(), ['keygen', '-out-key', key, '-out-pub', pub]);
  const versions: Array<{ version: 1 | 2; networks: string[]; out: string }> = [
    { version: 2, networks: options.networks, out: join(dir, `${options.name}.v2.crt`) },
  ];
  if (options.withV1 === true) {
    const v4 = options.networks.filter((n) => !n.includes(':'));
    if (v4.length === 0) throw new Error(`certificate ${options.name}: a v1 certificate needs an IPv4 network`);
    versions.push({ version: 1, networks: v4.slice(0, 1), out: join(dir, `${options.name}.v1.crt`) });
  }
  for (const v of versions) {
    const args = [
      'sign',
      '-version',
      String(v.version),
      '-ca-crt',
      ca.crt,
      '-ca-key',
      ca.key,
      '-name',
      options.name,
      '-networks',
      v.networks.join(','),
      '-in-pub',
      pub,
      '-out-crt',
      v.out,
    ];
    pushList(args, '-groups', options.groups);
    pushList(
      args,
      '-unsafe-networks',
      v.version === 2 ? options.unsafeNetworks : options.unsafeNetworks?.filter((n) => !n.includes(':')),
    );
    if (options.duration !== undefined) args.push('-duration', options.duration);
    await execIn(null, meshCert(), args);
  }
  writeFileSync(crt, versions.map((v) => readFileSync(v.out, 'utf8')).join(''));
  const vpnIps = options.networks.map((n) => n.split('/')[0] as string);
  return {
    name: options.name,
    vpnCidr: primary,
    vpnIp: vpnIps[0] as string,
    networks: options.networks,
    vpnIps,
    version: options.withV1 === true ? '1+2' : 2,
    crt,
    key,
  };
}

const v1FlagsByTool = new Map<string, Promise<string[]>>();

/** `-version 1` when `tool ca -h` lists a -version flag; nothing for nebula-cert 1.6.1. */
function v1Flags(tool: string): Promise<string[]> {
  let flags = v1FlagsByTool.get(tool);
  if (flags === undefined) {
    flags = execIn(null, tool, ['ca', '-h'], { check: false }).then((r) =>
      /^ {2}-version\b/m.test(r.stdout + r.stderr) ? ['-version', '1'] : [],
    );
    v1FlagsByTool.set(tool, flags);
  }
  return flags;
}

function pushList(args: string[], flag: string, values: string[] | undefined): void {
  if (values !== undefined && values.length > 0) args.push(flag, values.join(','));
}
