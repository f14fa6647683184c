// HandshakeState (Noise spec section 5.3) for the IX pattern, the only one Nebula uses:
//
//   IX:
//     -> e, s
//     <- e, ee, se, s, es
//
// Message 1 is all cleartext (no key exists yet): e ‖ s ‖ payload.
// Message 2 is e ‖ encrypted s (32 + 16 tag) ‖ encrypted payload (+ 16 tag).
//
// A pure state machine: no sockets, no timers; its only randomness is the ephemeral key, which tests fix.
// Each message runs on a draft of the state that is committed only when the whole message succeeded, so a
// forged or truncated message changes nothing and the genuine one can still be processed after it.

import { AEAD_TAG_LEN, type AeadCipher } from './aead.js';
import { DHLEN, MAX_MESSAGE_LEN, PROTOCOL_NAME } from './constants.js';
import type { EphemeralKeySource } from './ephemeral-keys.js';
import { NoiseError } from './errors.js';
import { SymmetricState } from './symmetric-state.js';
import {
  generateX25519Secret,
  importX25519Secret,
  staticSecret,
  x25519SharedSecret,
  type X25519Secret,
} from './x25519.js';

type Token = 'e' | 's' | 'ee' | 'es' | 'se';

export const IX_MESSAGE_PATTERNS: readonly (readonly Token[])[] = [
  ['e', 's'],
  ['e', 'ee', 'se', 's', 'es'],
];

export interface HandshakeStateOptions {
  cipher: AeadCipher;
  initiator: boolean;
  /**
   * Our static key: imported, or raw private bytes that are imported once and cached for as long as the caller keeps
   * the array (staticSecret). Its public half is the import's.
   */
  s: X25519Secret | Uint8Array;
  prologue?: Uint8Array;
  /** Fixed ephemeral private key, for test vectors only; normally a fresh random key is drawn. */
  e?: Uint8Array;
  /** Where a fresh ephemeral key comes from (one made ahead: ephemeral-keys.ts); absent means made on the spot. */
  ephemeralKeys?: EphemeralKeySource;
}

/** The mutable part of the state, copied for each message and committed on success. */
interface Draft {
  ss: SymmetricState;
  e: X25519Secret | null;
  re: Uint8Array | null;
  rs: Uint8Array | null;
}

export class HandshakeState {
  readonly initiator: boolean;
  private readonly s: X25519Secret;
  private readonly fixedEphemeral: X25519Secret | undefined;
  private readonly ephemeralKeys: EphemeralKeySource | undefined;
  private state: Draft;
  private messageIndex = 0;
  private splitDone = false;

  constructor(opts: HandshakeStateOptions) {
    this.initiator = opts.initiator;
    if (opts.s instanceof Uint8Array && opts.s.length !== DHLEN)
      throw new NoiseError('ENOISEKEY', `static private key must be ${DHLEN} bytes`);
    if (opts.e !== undefined && opts.e.length !== DHLEN)
      throw new NoiseError('ENOISEKEY', `ephemeral key must be ${DHLEN} bytes`);
    this.s = opts.s instanceof Uint8Array ? staticSecret(opts.s) : opts.s;
    this.fixedEphemeral = opts.e === undefined ? undefined : importX25519Secret(opts.e);
    this.ephemeralKeys = opts.ephemeralKeys;
    const ss = SymmetricState.initialize(opts.cipher, PROTOCOL_NAME[opts.cipher]);
    // Mixed even when empty (Nebula's case), which makes h = SHA256(h).
    ss.mixHash(opts.prologue ?? new Uint8Array(0));
    this.state = { ss, e: null, re: null, rs: null };
  }

  /**
   * An independent copy: what is read or written on one leaves the other as it was. An initiator's message 1 goes
   * to several addresses and any host there may answer; each answer is read on a copy, so an answer the caller
   * refuses (another host's certificate) leaves the state ready for the right one.
   */
  fork(): HandshakeState {
    const copy = Object.create(HandshakeState.prototype) as HandshakeState;
    Object.assign(copy, this);
    copy.state = this.copyState();
    return copy;
  }

  /** The keys, hashes and cipher state as a copy that can change without touching this one. */
  private copyState(): Draft {
    return { ...this.state, ss: this.state.ss.fork() };
  }

  /** True once both messages are done; then `split` and `handshakeHash` are meaningful. */
  isComplete(): boolean {
    return this.messageIndex === IX_MESSAGE_PATTERNS.length;
  }

  writeMessage(payload: Uint8Array): Uint8Array {
    return this.step(true, (draft, tokens) => {
      const parts: Uint8Array[] = [];
      for (const token of tokens) {
        if (token === 'e') {
          draft.e = this.fixedEphemeral ?? this.ephemeralKeys?.take() ?? generateX25519Secret();
          parts.push(draft.e.publicKey);
          draft.ss.mixHash(draft.e.publicKey);
        } else if (token === 's') {
          parts.push(draft.ss.encryptAndHash(this.s.publicKey));
        } else {
          this.mixDh(draft, token);
        }
      }
      parts.push(draft.ss.encryptAndHash(payload));
      const message = concat(parts);
      if (message.length > MAX_MESSAGE_LEN) {
        throw new NoiseError(
          'ENOISETOOLONG',
          `handshake message of ${message.length} bytes exceeds ${MAX_MESSAGE_LEN}`,
        );
      }
      return message;
    });
  }

  /** Returns the decrypted payload as a copy: `message` may be a reused receive buffer. */
  readMessage(message: Uint8Array): Uint8Array {
    return this.step(false, (draft, tokens) => {
      if (message.length > MAX_MESSAGE_LEN) {
        throw new NoiseError(
          'ENOISETOOLONG',
          `handshake message of ${message.length} bytes exceeds ${MAX_MESSAGE_LEN}`,
        );
      }
      let at = 0;
      const take = (len: number): Uint8Array => {
        if (message.length - at < len)
          throw new NoiseError('ENOISESHORT', `handshake message ${this.messageIndex + 1} is truncated`);
        at += len;
        return message.subarray(at - len, at);
      };
      for (const token of tokens) {
        if (token === 'e') {
          draft.re = Uint8Array.from(take(DHLEN));
          draft.ss.mixHash(draft.re);
        } else if (token === 's') {
          const len = draft.ss.hasKey() ? DHLEN + AEAD_TAG_LEN : DHLEN;
          draft.rs = Uint8Array.from(draft.ss.decryptAndHash(take(len)));
        } else {
          this.mixDh(draft, token);
        }
      }
      const payloadStart = at;
      take(draft.ss.hasKey() ? AEAD_TAG_LEN : 0);
      return Uint8Array.from(draft.ss.decryptAndHash(message.subarray(payloadStart)));
    });
  }

  /** The peer's static public key, known after reading its `s` token. */
  remoteStatic(): Uint8Array | null {
    return this.state.rs === null ? null : Uint8Array.from(this.state.rs);
  }

  handshakeHash(): Uint8Array {
    if (!this.isComplete()) throw new NoiseError('ENOISESTATE', 'handshake hash requested before completion');
    return this.state.ss.handshakeHash();
  }

  /** Raw (k1, k2) after the last message. */
  split(): [Buffer, Buffer] {
    if (!this.isComplete()) throw new NoiseError('ENOISESTATE', 'split requested before completion');
    // Split wipes ck, so a second call would derive keys from zeros.
    if (this.splitDone) throw new NoiseError('ENOISESTATE', 'keys were already split');
    this.splitDone = true;
    // Nothing needs the ephemeral key any more; dropping it lets OpenSSL free it (KeyObjects cannot be wiped).
    this.state = { ...this.state, e: null };
    return this.state.ss.split();
  }

  private step<T>(writing: boolean, run: (draft: Draft, tokens: readonly Token[]) => T): T {
    if (this.isComplete()) throw new NoiseError('ENOISESTATE', 'handshake already complete');
    const ourTurnToWrite = (this.messageIndex % 2 === 0) === this.initiator;
    if (ourTurnToWrite !== writing) {
      throw new NoiseError(
        'ENOISESTATE',
        `not this side's turn to ${writing ? 'write' : 'read'} message ${this.messageIndex + 1}`,
      );
    }
    const draft = this.copyState();
    let result: T;
    try {
      result = run(draft, IX_MESSAGE_PATTERNS[this.messageIndex]);
    } catch (err) {
      draft.ss.discard();
      throw err;
    }
    this.state.ss.discard();
    this.state = draft;
    this.messageIndex++;
    return result;
  }

  // The first letter of ee/es/se names the initiator's key, the second the responder's; which of our
  // keys meets which of theirs therefore depends on our role.
  private mixDh(draft: Draft, token: 'ee' | 'es' | 'se'): void {
    const initiatorKeyIsOurs = this.initiator;
    let local: X25519Secret | null;
    let remote: Uint8Array | null;
    if (token === 'ee') {
      [local, remote] = [draft.e, draft.re];
    } else if ((token === 'es') === initiatorKeyIsOurs) {
      // es as initiator, se as responder: our ephemeral with their static.
      [local, remote] = [draft.e, draft.rs];
    } else {
      // se as initiator, es as responder: our static with their ephemeral.
      [local, remote] = [this.s, draft.re];
    }
    if (local === null || remote === null) throw new NoiseError('ENOISESTATE', `${token} before both keys are known`);
    const shared = x25519SharedSecret(local, remote);
    draft.ss.mixKey(shared);
    shared.fill(0);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
