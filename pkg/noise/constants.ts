// Sizes and names fixed by the Noise spec (revision 34) for Noise_IX_25519_{AESGCM,ChaChaPoly}_SHA256.

import type { AeadCipher } from './aead.js';

/** X25519 public keys, private keys and shared secrets. */
export const DHLEN = 32;
/** SHA-256 output: the size of h, ck and every derived key. */
export const HASHLEN = 32;
/** flynn/noise (what Nebula uses) refuses longer handshake messages, so we neither send nor accept them. */
export const MAX_MESSAGE_LEN = 65535;

/** No "psk0" suffix: Nebula's subtype is called ix_psk0 but it passes an empty PSK. */
export const PROTOCOL_NAME: Record<AeadCipher, string> = {
  aes: 'Noise_IX_25519_AESGCM_SHA256',
  chachapoly: 'Noise_IX_25519_ChaChaPoly_SHA256',
};
