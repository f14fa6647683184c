// SymmetricState (Noise spec section 5.2): the chaining key ck, the handshake hash h and a CipherState.

import type { AeadCipher } from './aead.js';
import { CipherState } from './cipher-state.js';
import { HASHLEN } from './constants.js';
import { hkdf2, sha256 } from './hash.js';

export class SymmetricState {
  private ck: Buffer;
  private h: Buffer;
  private readonly cipherState: CipherState;

  private constructor(ck: Buffer, h: Buffer, cipherState: CipherState) {
    this.ck = ck;
    this.h = h;
    this.cipherState = cipherState;
  }

  /** InitializeSymmetric. */
  static initialize(cipher: AeadCipher, protocolName: string): SymmetricState {
    const name = Buffer.from(protocolName, 'ascii');
    // Names up to 32 bytes are zero-padded, longer ones hashed: Nebula's AESGCM name is 28 bytes, padded.
    const h = name.length <= HASHLEN ? Buffer.concat([name, Buffer.alloc(HASHLEN - name.length)]) : sha256(name);
    return new SymmetricState(Buffer.from(h), h, new CipherState(cipher));
  }

  /**
   * An independent copy to run one message on, so that a message that fails (a forged stage 2 must not
   * spoil the real one that follows it) leaves the original untouched, as flynn/noise's rollback does.
   */
  fork(): SymmetricState {
    return new SymmetricState(Buffer.from(this.ck), this.h, this.cipherState.fork());
  }

  /** Wipes the chaining key of a state that is being dropped. */
  discard(): void {
    this.ck.fill(0);
  }

  mixKey(inputKeyMaterial: Uint8Array): void {
    const [ck, tempK] = hkdf2(this.ck, inputKeyMaterial);
    this.ck.fill(0);
    this.ck = ck;
    this.cipherState.initializeKey(tempK);
    tempK.fill(0);
  }

  mixHash(data: Uint8Array): void {
    this.h = sha256(this.h, data);
  }

  hasKey(): boolean {
    return this.cipherState.hasKey();
  }

  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ciphertext = this.cipherState.encryptWithAd(this.h, plaintext);
    this.mixHash(ciphertext);
    return ciphertext;
  }

  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    const plaintext = this.cipherState.decryptWithAd(this.h, ciphertext);
    this.mixHash(ciphertext);
    return plaintext;
  }

  /** The handshake hash: after the last message it identifies the session (channel binding). */
  handshakeHash(): Uint8Array {
    return Uint8Array.from(this.h);
  }

  /**
   * Returns the two transport keys, k1 for initiator-to-responder and k2 for the reverse, as raw bytes;
   * the caller wraps and wipes them. ck is wiped here: nothing may derive from it afterwards.
   */
  split(): [Buffer, Buffer] {
    const keys = hkdf2(this.ck, new Uint8Array(0));
    this.ck.fill(0);
    return keys;
  }
}
