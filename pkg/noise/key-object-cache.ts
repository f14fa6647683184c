// Raw keys imported into node:crypto once per array (a JWK import costs ~8 us for a public key, ~45 us for a private
// one): a handshake side meets each remote key twice, and the CA pool and the static key hand over the same array
// for every handshake. Keyed by the array, so an entry goes when the array does; but an array's bytes can change
// (a reused scratch buffer, a key wiped in place), so each entry remembers what it imported and a hit whose bytes
// differ imports again (docs/security-model.md: a key is used only for the bytes it was imported from).

import { hash } from 'node:crypto';

import { sameBytes } from '../bytes/same-bytes.js';

interface Entry<T> {
  /** The imported bytes, or for a secret key their SHA-256: no second copy of a private key to outlive it. */
  readonly seen: Uint8Array;
  readonly value: T;
}

export class KeyObjectCache<T> {
  private readonly entries = new WeakMap<Uint8Array, Entry<T>>();

  /** `secret`: the keys are private, so entries keep a digest of them rather than a copy. */
  constructor(
    private readonly importKey: (raw: Uint8Array) => T,
    private readonly secret: boolean,
  ) {}

  /** The import of `raw`'s current bytes, from the cache when this array was imported with the same bytes. */
  get(raw: Uint8Array): T {
    const seen = this.secret ? hash('sha256', raw, 'buffer') : raw;
    const entry = this.entries.get(raw);
    if (entry !== undefined && sameBytes(entry.seen, seen)) return entry.value;
    const value = this.importKey(raw);
    this.entries.set(raw, { seen: this.secret ? seen : Uint8Array.from(raw), value });
    return value;
  }
}
