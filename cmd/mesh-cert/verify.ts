// `mesh-cert verify`: check the first certificate in -crt against the CAs in -ca at the current time. Like
// nebula-cert (and stricter than the daemon), any expired CA in the bundle is an error.

import { CaPool } from '../../pkg/cert/ca-pool.js';
import { parseCertificatesPem } from '../../pkg/cert/cert-pem.js';
import { CertError } from '../../pkg/cert/errors.js';
import { isCertExpired } from '../../pkg/cert/root-constraints.js';
import { CliError } from '../../pkg/cli/cli-error.js';
import { loadFlagFile, type CliIo } from './cli-io.js';
import { requiredString, type FlagSpec } from './flags.js';
import { runCommand } from './run-command.js';

export const verifySummary = "verifies a certificate isn't expired and was signed by a trusted authority.";

const specs: Record<string, FlagSpec> = {
  ca: { type: 'string', describe: 'Required: path to a file containing one or more ca certificates' },
  crt: { type: 'string', describe: 'Required: path to a file containing a single certificate' },
};

export async function verifyCommand(argv: string[], io: CliIo): Promise<number> {
  return runCommand('verify', verifySummary, specs, argv, io, async (v) => {
    const caPath = requiredString(v, 'ca');
    const crtPath = requiredString(v, 'crt');
    const cas = await loadFlagFile(io, 'ca', caPath, parseCertificatesPem);
    const [cert] = await loadFlagFile(io, 'crt', crtPath, parseCertificatesPem);
    const now = Date.now() / 1000;
    const pool = new CaPool();
    for (const ca of cas) {
      try {
        pool.addCa(ca);
      } catch (err) {
        if (err instanceof CertError) throw new CliError(`error while adding ca cert to pool: ${err.message}`);
        throw err;
      }
      if (isCertExpired(ca, now)) {
        throw new CliError(`error while adding ca cert to pool: ${ca.details.name}: certificate is expired`);
      }
    }
    pool.verify(cert, now);
  });
}
