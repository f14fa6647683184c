// `mesh-cert print`: print every certificate in a file, as text or JSON. A file of v1 certificates prints as
// nebula-cert 1.6.1 prints it (one JSON object per line with -json). A file holding a v2 certificate prints as
// 1.10 does: v2 certificates as tab-indented JSON, and -json as one array of every certificate in 1.10's shape.

import { anyCertificateToPem, isCertificateV2 } from '../../pkg/cert/cert-any.js';
import { parseAnyCertificatesPem } from '../../pkg/cert/cert-pem-any.js';
import { formatCertificateJson, formatCertificateText } from '../../pkg/cert/print.js';
import { formatCertificatesJsonArray, formatCertificateTextV2 } from '../../pkg/cert/print-v2.js';
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
    const certs = await loadFlagFile(io, 'path', path, parseAnyCertificatesPem);
    if (outQr !== '') {
      const pem = certs.map(anyCertificateToPem).join('');
      await writeOutputs(io, [{ flag: 'out-qr', path: outQr, data: qrPngForFlag(pem), what: 'qr code' }]);
    }
    const anyV2 = certs.some(isCertificateV2);
    if (v.json === true && anyV2) {
      io.stdout(formatCertificatesJsonArray(certs) + '\n');
      return;
    }
    const lines = certs.map((c) => {
      if (isCertificateV2(c)) return formatCertificateTextV2(c);
      return v.json === true ? formatCertificateJson(c) : formatCertificateText(c);
    });
    io.stdout(lines.map((l) => l + '\n').join(''));
  });
}
