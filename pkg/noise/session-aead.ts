// The Aead for a tunnel's session keys (the split after the handshake): the addon's per-key OpenSSL context when
// the addon loads, node:crypto otherwise; chosen once per process (native-aead.ts nativeAeadAddon). The handshake's
// own one-shot keys stay on node:crypto (cipher-state.ts): a native context per handshake message would only be
// one more thing to free.

import { createAead, type Aead, type AeadCipher } from './aead.js';
import { nativeAeadAddon, NativeAead } from './native-aead.js';

export function createSessionAead(cipher: AeadCipher, key: Uint8Array): Aead {
  const addon = nativeAeadAddon();
  return addon ? new NativeAead(addon, cipher, key) : createAead(cipher, key);
}
