// `mesh-cert print`: print every certificate in a file, as text or one JSON object per line.

import { parseCertificatesPem, certificateToPem } from '../../pkg/cert/cert-pem.js';
import { formatCertificateJson, formatCertificateText } from '../../pkg/cert/print.js';
import { loadFlagFile, writeOutputs, type CliIo } from './cli-io.js';
import { optionalString, requiredString, type FlagSpec } from './flags.js';
import { qrPngForFlag } from './qr-output.js';
import { runCommand } from './run-command.js';

export const printSummary = 'prints details about a certificate';

const specs: Record<string, FlagSpec> = {
  json: { type: 'boolean', describe: 'Optional: outputs certificates in json format' },
  'out-qr': { type: 'string', describe: 'Optional: output a qr code image (png) of the certificate' },
  path: { type: 'string', describe: 'Required: path to the certificate' },
};

export async function printCommand(argv: string[], io: CliIo): Promise<number> {
  return runCommand('print', printSummary, specs, argv, io, async (v) => {
    const path = requiredString(v, 'path');
    const outQr = optionalString(v, 'out-qr');
    const certs = await loadFlagFile(io, 'path', path, parseCertificatesPem);
    const format = v.json === true ? formatCertificateJson : formatCertificateText;
    if (outQr !== '') {
      const pem = certs.map(certificateToPem).join('');
      await writeOutputs(io, [{ flag: 'out-qr', path: outQr, data: qrPngForFlag(pem), what: 'qr code' }]);
    }
    io.stdout(certs.map((c) => format(c) + '\n').join(''));
  });
}
