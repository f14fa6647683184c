// `mesh-cert keygen`: create an X25519 key pair whose public half can be signed later with `sign -in-pub`.

import { X25519_PRIVATE_KEY_BANNER, X25519_PUBLIC_KEY_BANNER, generateX25519KeyPair } from '../../pkg/cert/keys.js';
import { encodePem } from '../../pkg/cert/pem.js';
import { writeOutputs, type CliIo } from './cli-io.js';
import { requiredString, type FlagSpec } from './flags.js';
import { runCommand } from './run-command.js';

export const keygenSummary =
  'create a public/private key pair. the public key can be passed to `mesh-cert sign`';

const specs: Record<string, FlagSpec> = {
  'out-key': { type: 'string', describe: 'Required: path to write the private key to' },
  'out-pub': { type: 'string', describe: 'Required: path to write the public key to' },
};

export async function keygenCommand(argv: string[], io: CliIo): Promise<number> {
  return runCommand('keygen', keygenSummary, specs, argv, io, async (v) => {
    const outKey = requiredString(v, 'out-key');
    const outPub = requiredString(v, 'out-pub');
    const keys = generateX25519KeyPair();
    await writeOutputs(io, [
      { flag: 'out-key', path: outKey, data: encodePem(X25519_PRIVATE_KEY_BANNER, keys.privateKey), what: 'key' },
      { flag: 'out-pub', path: outPub, data: encodePem(X25519_PUBLIC_KEY_BANNER, keys.publicKey), what: 'public key' },
    ]);
  });
}
