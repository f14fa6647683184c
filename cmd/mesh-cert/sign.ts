// `mesh-cert sign`: create and sign a host certificate with a CA (nebula-cert 1.6.1 `sign`). Every check runs
// before anything is written: CA key/cert pairing, CA expiry, flag values, root constraints, existing outputs.
// A v2 certificate, or any certificate under a v2 CA, is signed by sign-v2.ts (nebula-cert 1.10).

import { certificateToPem } from '../../pkg/cert/cert-pem.js';
import { generateHostKeyPair, parseHostPublicKeyPem, parseSigningPrivateKeyPem } from '../../pkg/cert/curve-keys.js';
import { certificateView } from '../../pkg/cert/cert-any.js';
import { encodePem } from '../../pkg/cert/pem.js';
import { checkRootConstraints } from '../../pkg/cert/root-constraints.js';
import { fingerprint, signCertificate } from '../../pkg/cert/signature.js';
import type { CertDetails, NebulaCertificate } from '../../pkg/cert/types.js';
import { networkOf, type Ipv4Net } from '../../pkg/ip/ipv4.js';
import { CliError } from '../../pkg/cli/cli-error.js';
import { loadFlagFile, writeOutputs, type CliIo, type OutputFile } from './cli-io.js';
import {
  cidrList,
  commaList,
  durationFlag,
  hostCidr,
  optionalString,
  requiredString,
  type FlagSpec,
  type FlagValues,
} from './flags.js';
import { qrPngForFlag } from './qr-output.js';
import { runCommand } from './run-command.js';
import { caMatchesKey, signAcrossVersions } from './sign-v2.js';
import {
  prefixListFlag,
  requireIpv4,
  SIGN_VERSION_HELP,
  toIpv4Net,
  versionFlag,
  versionSpec,
} from './version-flags.js';
import { isCertificateV2 } from '../../pkg/cert/cert-any.js';
import { parseAnyCertificatesPem } from '../../pkg/cert/cert-pem-any.js';

export const signSummary = 'create and sign a certificate';

const specs: Record<string, FlagSpec> = {
  'ca-key': { type: 'string', default: 'ca.key', describe: 'Optional: path to the signing CA key' },
  'ca-crt': { type: 'string', default: 'ca.crt', describe: 'Optional: path to the signing CA cert' },
  name: { type: 'string', describe: 'Required: name of the cert, usually a hostname' },
  ip: { type: 'string', describe: 'Required: ipv4 address and network in CIDR notation to assign the cert' },
  duration: {
    type: 'string',
    value: 'duration',
    describe:
      'Optional: how long the cert should be valid for. The default is 1 second before the signing cert expires. Valid time units are seconds: "s", minutes: "m", hours: "h"',
  },
  'in-pub': {
    type: 'string',
    describe: 'Optional (if out-key not set): path to read a previously generated public key',
  },
  'out-key': { type: 'string', describe: 'Optional (if in-pub not set): path to write the private key to' },
  'out-crt': { type: 'string', describe: 'Optional: path to write the certificate to' },
  'out-qr': { type: 'string', describe: 'Optional: output a qr code image (png) of the certificate' },
  groups: { type: 'string', describe: 'Optional: comma separated list of groups' },
  subnets: {
    type: 'string',
    describe:
      'Optional: comma separated list of ipv4 address and network in CIDR notation. Subnets this cert can serve for',
  },
  // Nebula 1.10's flags; -ip and -subnets stay their v1 spellings.
  version: versionSpec(SIGN_VERSION_HELP),
  networks: {
    type: 'string',
    describe:
      'Required (or -ip): comma separated list of ip address and network in CIDR notation to assign to this cert',
  },
  'unsafe-networks': {
    type: 'string',
    describe:
      'Optional: comma separated list of ip address and network in CIDR notation. Unsafe networks this cert can route for',
  },
};

export async function signCommand(argv: string[], io: CliIo): Promise<number> {
  return runCommand('sign', signSummary, specs, argv, io, async (v) => {
    const caKeyPath = requiredString(v, 'ca-key');
    const caCrtPath = requiredString(v, 'ca-crt');
    const name = requiredString(v, 'name');
    const askedVersion = versionFlag(v, true) ?? 0;
    const newNetworks = optionalString(v, 'networks') !== '';
    if (!newNetworks && optionalString(v, 'ip') === '') {
      throw new CliError(askedVersion === 2 ? '-networks is required' : '-ip is required');
    }
    const inPub = optionalString(v, 'in-pub');
    let outKey = optionalString(v, 'out-key');
    if (inPub !== '' && outKey !== '') throw new CliError('cannot set both -in-pub and -out-key');
    const duration = durationFlag(v, 'duration');

    const caKey = await loadFlagFile(io, 'ca-key', caKeyPath, parseSigningPrivateKeyPem);
    const [anyCa] = await loadFlagFile(io, 'ca-crt', caCrtPath, parseAnyCertificatesPem);
    if (!anyCa.details.isCA) throw new CliError(`-ca-crt ${caCrtPath} is not a CA certificate`);
    if (!caMatchesKey(anyCa, caKey)) {
      throw new CliError('refusing to sign, root certificate does not match private key');
    }
    const nowMs = Date.now();
    if (anyCa.details.notBefore > nowMs / 1000 || anyCa.details.notAfter < nowMs / 1000) {
      throw new CliError('ca certificate is expired');
    }
    // With no -version the certificate follows its CA's version (nebula-cert 1.10).
    const version = askedVersion === 0 ? (isCertificateV2(anyCa) ? 2 : 1) : askedVersion;
    const groups = commaList(optionalString(v, 'groups'));

    // The host key is of the CA's curve (a P-256 CA certifies P-256 keys).
    const curve = certificateView(anyCa).curve;
    let publicKey: Uint8Array;
    let privateKey: { bytes: Uint8Array; banner: string } | null = null;
    if (inPub !== '') {
      const pub = await loadFlagFile(io, 'in-pub', inPub, parseHostPublicKeyPem);
      if (pub.curve !== curve) throw new CliError('curve of in-pub does not match ca');
      publicKey = pub.publicKey;
    } else {
      const keys = generateHostKeyPair(curve);
      publicKey = keys.publicKey;
      privateKey = { bytes: keys.privateKey, banner: keys.privateBanner };
    }

    const notBefore = Math.floor(nowMs / 1000);
    // Like nebula-cert, a missing or non-positive -duration means "until 1 s before the CA expires".
    const notAfter =
      duration !== undefined && duration > 0
        ? Math.floor((nowMs + duration * 1000) / 1000)
        : anyCa.details.notAfter - 1;

    if (outKey === '') outKey = `${name}.key`;
    const outCrt = optionalString(v, 'out-crt') || `${name}.crt`;
    const outQr = optionalString(v, 'out-qr');
    let certPem: string;
    if (version === 2 || isCertificateV2(anyCa)) {
      certPem = signAcrossVersions(anyCa, caKey, {
        version,
        name,
        networks: prefixListFlag(v, 'networks', 'ip'),
        unsafeNetworks: prefixListFlag(v, 'unsafe-networks', 'subnets'),
        groups,
        publicKey,
        notBefore,
        notAfter,
      });
    } else {
      certPem = signV1UnderV1(anyCa, caKey.privateKey, v, { name, groups, publicKey, notBefore, notAfter });
    }
    const files: OutputFile[] = [];
    if (privateKey !== null) {
      files.push({ flag: 'out-key', path: outKey, data: encodePem(privateKey.banner, privateKey.bytes), what: 'key' });
    }
    files.push({ flag: 'out-crt', path: outCrt, data: certPem, what: 'cert' });
    if (outQr !== '') files.push({ flag: 'out-qr', path: outQr, data: qrPngForFlag(certPem), what: 'qr code' });
    await writeOutputs(io, files);
  });
}

interface V1Request {
  name: string;
  groups: string[];
  publicKey: Uint8Array;
  notBefore: number;
  notAfter: number;
}

// A v1 certificate under a v1 CA: nebula-cert 1.6.1's path, output byte for byte as before. -networks may stand
// in for -ip (one IPv4 network), -unsafe-networks for -subnets.
function signV1UnderV1(caCert: NebulaCertificate, caKey: Uint8Array, v: FlagValues, r: V1Request): string {
  const { name, groups, publicKey, notBefore, notAfter } = r;
  let ip: Ipv4Net;
  if (optionalString(v, 'networks') !== '') {
    const networks = prefixListFlag(v, 'networks', null);
    if (networks.length !== 1 || networks[0].addr.family !== 4) {
      throw new CliError('invalid -networks definition: v1 certificates can only have a single ipv4 address');
    }
    ip = toIpv4Net(networks[0]);
  } else ip = hostCidr(optionalString(v, 'ip'), 'ip');
  const unsafe = prefixListFlag(v, 'unsafe-networks', null);
  requireIpv4(unsafe, 'unsafe-networks');
  const subnets =
    unsafe.length > 0
      ? unsafe.map((p) => networkOf(toIpv4Net(p)))
      : cidrList(optionalString(v, 'subnets'), 'subnets', false);
  const details: CertDetails = {
    name,
    ips: [ip],
    subnets,
    groups,
    notBefore,
    notAfter,
    publicKey,
    isCA: false,
    issuer: fingerprint(caCert),
  };
  const broken = checkRootConstraints({ details, signature: new Uint8Array(0) }, caCert);
  if (broken !== null) throw new CliError(`refusing to sign, root certificate constraints violated: ${broken.message}`);
  return certificateToPem(signCertificate(details, caKey));
}
