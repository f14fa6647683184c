// `mesh-cert ca`: create a self-signed certificate authority (nebula-cert 1.6.1 `ca`).

import { certificateToPem } from '../../pkg/cert/cert-pem.js';
import { ED25519_PRIVATE_KEY_BANNER, generateEd25519KeyPair } from '../../pkg/cert/keys.js';
import { encodePem } from '../../pkg/cert/pem.js';
import { signCertificate } from '../../pkg/cert/signature.js';
import { CliError } from '../../pkg/cli/cli-error.js';
import { writeOutputs, type CliIo, type OutputFile } from './cli-io.js';
import { cidrList, commaList, durationFlag, optionalString, requiredString, type FlagSpec } from './flags.js';
import { qrPngForFlag } from './qr-output.js';
import { runCommand } from './run-command.js';

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
    // A CA's -ips keep the address as typed; -subnets are stored as network addresses (as nebula-cert does).
    const ips = cidrList(optionalString(v, 'ips'), 'ips', true);
    const subnets = cidrList(optionalString(v, 'subnets'), 'subnets', false);

    const nowMs = Date.now();
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
