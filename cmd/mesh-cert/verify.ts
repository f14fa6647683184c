// `mesh-cert verify`: check certificates in -crt against the CAs in -ca at the current time. Like nebula-cert
// (and stricter than the daemon), any expired CA in the bundle is an error. With v1 files only, the first
// certificate is checked and a failure prints Nebula 1.6.1's reason alone. When either file holds a v2 certificate,
// every certificate in -crt is checked against CAs of both versions, as nebula-cert 1.10 does, and each failure is
// one line naming the certificate (1.10 prints the whole certificate for reasons other than an unknown CA).

import { CaPool } from '../../pkg/cert/ca-pool.js';
import { isCertificateV2, type AnyCertificate } from '../../pkg/cert/cert-any.js';
import { parseAnyCertificatesPem } from '../../pkg/cert/cert-pem-any.js';
import { CertError, CertVerifyError } from '../../pkg/cert/errors.js';
import { CliError } from '../../pkg/cli/cli-error.js';
import { loadFlagFile, type CliIo } from './cli-io.js';
import { requiredString, type FlagSpec } from './flags.js';
import { runCommand } from './run-command.js';

export const verifySummary = "verifies a certificate isn't expired and was signed by a trusted authority.";

const specs: Record<string, FlagSpec> = {
  ca: { type: 'string', describe: 'Required: path to a file containing one or more ca certificates' },
  crt: { type: 'string', describe: 'Required: path to a file containing a single certificate' },
};

function failure(c: AnyCertificate, err: CertVerifyError): string {
  const version = isCertificateV2(c) ? 2 : 1;
  return `error while verifying certificate v${version} ${c.details.name} with issuer ${c.details.issuer}: ${err.message}`;
}

export async function verifyCommand(argv: string[], io: CliIo): Promise<number> {
  return runCommand('verify', verifySummary, specs, argv, io, async (v) => {
    const caPath = requiredString(v, 'ca');
    const crtPath = requiredString(v, 'crt');
    const cas = await loadFlagFile(io, 'ca', caPath, parseAnyCertificatesPem);
    const certs = await loadFlagFile(io, 'crt', crtPath, parseAnyCertificatesPem);
    const now = Date.now() / 1000;
    const pool = new CaPool();
    for (const ca of cas) {
      try {
        pool.addAnyCa(ca);
      } catch (err) {
        if (err instanceof CertError) throw new CliError(`error while adding ca cert to pool: ${err.message}`);
        throw err;
      }
      if (ca.details.notBefore > now || ca.details.notAfter < now) {
        throw new CliError(`error while adding ca cert to pool: ${ca.details.name}: certificate is expired`);
      }
    }
    const [first] = certs;
    if (!cas.some(isCertificateV2) && !certs.some(isCertificateV2) && !isCertificateV2(first)) {
      pool.verify(first, now);
      return;
    }
    const failures: string[] = [];
    for (const c of certs) {
      try {
        pool.verifyAny(c, now);
      } catch (err) {
        if (!(err instanceof CertVerifyError)) throw err;
        failures.push(failure(c, err));
      }
    }
    if (failures.length > 0) throw new CliError(failures.join('\n'));
  });
}
