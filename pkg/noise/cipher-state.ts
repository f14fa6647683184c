// CipherState (Noise spec section 5.1): a key k, or none, and the nonce n that counts its encryptions.
// During the IX handshake every key encrypts exactly once, so n is always 0 when used; the counter is kept
// anyway so that this reads as the spec does.

import { createAead, type Aead, type AeadCipher } from './aead.js';
import { NoiseError } from './errors.js';

export class CipherState {
  private k: Aead | null = null;
  private n = 0;

  constructor(private readonly cipher: AeadCipher) {}

  /** A copy with the same key and nonce; the Aead itself is immutable, so sharing it is safe. */
  fork(): CipherState {
    const copy = new CipherState(this.cipher);
    copy.k = this.k;
    copy.n = this.n;
    return copy;
  }

  initializeKey(key: Uint8Array): void {
    this.k = createAead(this.cipher, key);
    this.n = 0;
  }

  hasKey(): boolean {
    return this.k !== null;
  }

  /** Without a key the plaintext passes through unchanged (message 1 of IX is all cleartext). */
  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (this.k === null) return plaintext;
    const ciphertext = this.k.seal(this.n, plaintext, ad);
    this.n++;
    return ciphertext;
  }

  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    if (this.k === null) return ciphertext;
    const plaintext = this.k.open(this.n, ciphertext, ad);
    if (plaintext === null) throw new NoiseError('ENOISEAUTH', 'handshake message failed authentication');
    this.n++;
    return plaintext;
  }
}
