// `mesh-cert ca`: create a self-signed certificate authority: v2 by default (nebula-cert 1.10+), v1 with
// `-version 1` (nebula-cert 1.6.1's `ca`, byte for byte).

import { certificateToPem } from '../../pkg/cert/cert-pem.js';
import { ED25519_PRIVATE_KEY_BANNER, generateEd25519KeyPair } from '../../pkg/cert/keys.js';
import { encodePem } from '../../pkg/cert/pem.js';
import { signCertificate } from '../../pkg/cert/signature.js';
import { CliError } from '../../pkg/cli/cli-error.js';
import { networkOf } from '../../pkg/ip/ipv4.js';
import { writeOutputs, type CliIo, type OutputFile } from './cli-io.js';
import { cidrList, commaList, durationFlag, optionalString, requiredString, type FlagSpec } from './flags.js';
import { qrPngForFlag } from './qr-output.js';
import { runCommand } from './run-command.js';
import { makeCaV2 } from './ca-v2.js';
import { Curve } from '../../pkg/cert/cert-v2-types.js';
import {
  CA_DEFAULT_VERSION,
  CA_VERSION_HELP,
  parseCurveFlag,
  prefixListFlag,
  requireIpv4,
  toIpv4Net,
  versionFlag,
  versionSpec,
} from './version-flags.js';

export const caSummary = 'create a self signed certificate authority';

const DEFAULT_DURATION_SECONDS = 8760 * 3600;

const specs: Record<string, FlagSpec> = {
  name: { type: 'string', describe: 'Required: name of the certificate authority' },
  duration: {
    type: 'string',
    value: 'duration',
    describe:
      'Optional: amount of time the certificate should be valid for. Valid time units are seconds: "s", minutes: "m", hours: "h" (default 8760h0m0s)',
  },
  'out-key': { type: 'string', default: 'ca.key', describe: 'Optional: path to write the private key to' },
  'out-crt': { type: 'string', default: 'ca.crt', describe: 'Optional: path to write the certificate to' },
  'out-qr': { type: 'string', describe: 'Optional: output a qr code image (png) of the certificate' },
  groups: {
    type: 'string',
    describe: 'Optional: comma separated list of groups. This will limit which groups subordinate certs can use',
  },
  ips: {
    type: 'string',
    describe:
      'Optional: comma separated list of ipv4 address and network in CIDR notation. This will limit which ipv4 addresses and networks subordinate certs can use for ip addresses',
  },
  subnets: {
    type: 'string',
    describe:
      'Optional: comma separated list of ipv4 address and network in CIDR notation. This will limit which ipv4 addresses and networks subordinate certs can use in subnets',
  },
  // Nebula 1.10's flags; -ips and -subnets stay their v1 spellings.
  version: versionSpec(CA_VERSION_HELP),
  curve: { type: 'string', default: '25519', describe: 'EdDSA/ECDSA Curve (25519, P256)' },
  networks: {
    type: 'string',
    describe:
      'Optional: comma separated list of ip address and network in CIDR notation. This will limit which ip addresses and networks subordinate certs can use in networks',
  },
  'unsafe-networks': {
    type: 'string',
    describe:
      'Optional: comma separated list of ip address and network in CIDR notation. This will limit which ip addresses and networks subordinate certs can use in unsafe networks',
  },
};

export async function caCommand(argv: string[], io: CliIo): Promise<number> {
  return runCommand('ca', caSummary, specs, argv, io, async (v) => {
    const name = requiredString(v, 'name');
    const outKey = requiredString(v, 'out-key');
    const outCrt = requiredString(v, 'out-crt');
    const outQr = optionalString(v, 'out-qr');
    const duration = durationFlag(v, 'duration') ?? DEFAULT_DURATION_SECONDS;
    if (duration <= 0) throw new CliError('-duration must be greater than 0');
    const groups = commaList(optionalString(v, 'groups'));
    const version = versionFlag(v, false) ?? CA_DEFAULT_VERSION;
    const v2 = version === 2;
    const curve = parseCurveFlag(optionalString(v, 'curve'));
    // mesh's v1 codec is Nebula 1.6's, which has no curve field.
    if (!v2 && curve !== Curve.CURVE25519) throw new CliError('-curve P256 needs -version 2 in mesh-cert');
    const networks = prefixListFlag(v, 'networks', v2 ? 'ips' : null);
    const unsafeNetworks = prefixListFlag(v, 'unsafe-networks', v2 ? 'subnets' : null);
    const nowMs = Date.now();
    if (v2) {
      const { certPem, keyPem } = makeCaV2({
        name,
        groups,
        networks,
        unsafeNetworks,
        notBefore: Math.floor(nowMs / 1000),
        notAfter: Math.floor((nowMs + duration * 1000) / 1000),
        curve,
      });
      const v2Files: OutputFile[] = [
        { flag: 'out-key', path: outKey, data: keyPem, what: 'CA key' },
        { flag: 'out-crt', path: outCrt, data: certPem, what: 'CA cert' },
      ];
      if (outQr !== '') v2Files.push({ flag: 'out-qr', path: outQr, data: qrPngForFlag(certPem), what: 'qr code' });
      return writeOutputs(io, v2Files);
    }
    // v1, as nebula-cert 1.6.1: a CA's -ips keep the address as typed; -subnets are stored as network addresses.
    // -networks/-unsafe-networks, when given, are read the same way but may not hold IPv6.
    requireIpv4(networks, 'networks');
    requireIpv4(unsafeNetworks, 'unsafe-networks');
    const ips = networks.length > 0 ? networks.map(toIpv4Net) : cidrList(optionalString(v, 'ips'), 'ips', true);
    const subnets =
      unsafeNetworks.length > 0
        ? unsafeNetworks.map((p) => networkOf(toIpv4Net(p)))
        : cidrList(optionalString(v, 'subnets'), 'subnets', false);

    const keys = generateEd25519KeyPair();
    const cert = signCertificate(
      {
        name,
        ips,
        subnets,
        groups,
        notBefore: Math.floor(nowMs / 1000),
        notAfter: Math.floor((nowMs + duration * 1000) / 1000),
        publicKey: keys.publicKey,
        isCA: true,
        issuer: '',
      },
      keys.privateKey,
    );
    const certPem = certificateToPem(cert);
    const files: OutputFile[] = [
      { flag: 'out-key', path: outKey, data: encodePem(ED25519_PRIVATE_KEY_BANNER, keys.privateKey), what: 'CA key' },
      { flag: 'out-crt', path: outCrt, data: certPem, what: 'CA cert' },
    ];
    if (outQr !== '') files.push({ flag: 'out-qr', path: outQr, data: qrPngForFlag(certPem), what: 'qr code' });
    await writeOutputs(io, files);
  });
}
