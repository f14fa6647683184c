// `mesh-cert keygen`: create an X25519 key pair (or P-256 with `-curve P256`, as nebula-cert 1.7+) whose public
// half can be signed later with `sign -in-pub`.

import { generateHostKeyPair } from '../../pkg/cert/curve-keys.js';
import { encodePem } from '../../pkg/cert/pem.js';
import { parseCurveFlag } from './version-flags.js';
import { writeOutputs, type CliIo } from './cli-io.js';
import { optionalString, requiredString, type FlagSpec } from './flags.js';
import { runCommand } from './run-command.js';

export const keygenSummary = 'create a public/private key pair. the public key can be passed to `mesh-cert sign`';

const specs: Record<string, FlagSpec> = {
  'out-key': { type: 'string', describe: 'Required: path to write the private key to' },
  'out-pub': { type: 'string', describe: 'Required: path to write the public key to' },
  curve: { type: 'string', default: '25519', describe: 'ECDH Curve (25519, P256)' },
};

export async function keygenCommand(argv: string[], io: CliIo): Promise<number> {
  return runCommand('keygen', keygenSummary, specs, argv, io, async (v) => {
    const outKey = requiredString(v, 'out-key');
    const outPub = requiredString(v, 'out-pub');
    const keys = generateHostKeyPair(parseCurveFlag(optionalString(v, 'curve')));
    await writeOutputs(io, [
      { flag: 'out-key', path: outKey, data: encodePem(keys.privateBanner, keys.privateKey), what: 'key' },
      { flag: 'out-pub', path: outPub, data: encodePem(keys.publicBanner, keys.publicKey), what: 'public key' },
    ]);
  });
}
