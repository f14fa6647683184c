// The two roles of Nebula's handshake, as the handshake layer uses them:
//
//   initiator                                   responder
//   writeMessage1(payload) ── stage 1 ──────▶   readMessage1(msg)  → payload, remoteStatic
//   readMessage2(msg)      ◀────── stage 2 ──   writeMessage2(payload) → message, keys
//     → payload, remoteStatic, keys
//
// Messages are the bytes after the 16-byte Nebula header (the header is not part of the Noise transcript).
// Keys come out of Split: k1 carries initiator-to-responder traffic and k2 the reverse, so the initiator
// sends with k1 and receives with k2 and the responder does the opposite (docs/wire-format.md, "Handshake").
// Each becomes a session Aead (session-aead.ts: the addon's OpenSSL context when it loads) and is wiped here.

import type { Aead, AeadCipher } from './aead.js';
import type { EphemeralKeySource } from './ephemeral-keys.js';
import { NoiseError } from './errors.js';
import { HandshakeState } from './handshake-state.js';
import { createSessionAead } from './session-aead.js';
import type { X25519Secret } from './x25519.js';

export interface IxOptions {
  cipher: AeadCipher;
  /**
   * Our static key, once: imported (a daemon's identity, imported once by staticKeyOf) or its raw 32 private bytes
   * (imported on first use and kept while the caller keeps the array, staticSecret). The public key the handshake
   * presents is always the import's, so no separately passed public key can disagree with it.
   */
  staticKey: X25519Secret | Uint8Array;
  /** Nebula uses the empty prologue (the default); published test vectors use others. */
  prologue?: Uint8Array;
  /** Fixed ephemeral private key, for test vectors only. */
  ephemeralPrivate?: Uint8Array;
  /** Where the ephemeral key comes from (a node's EphemeralKeys); absent means made on the spot. */
  ephemeralKeys?: EphemeralKeySource;
}

/** The transport keys of one tunnel, as AEADs: the raw keys never leave this package. */
export interface SessionKeys {
  readonly send: Aead;
  readonly recv: Aead;
}

export interface PeerHello {
  payload: Uint8Array;
  /** The peer's X25519 static public key, as authenticated by the handshake. */
  remoteStatic: Uint8Array;
}

export interface InitiatorResult extends PeerHello {
  keys: SessionKeys;
  /** The Noise handshake hash h: identical on both sides, not secret. */
  handshakeHash: Uint8Array;
}

export interface ResponderResult {
  message: Uint8Array;
  keys: SessionKeys;
  handshakeHash: Uint8Array;
}

export class IxInitiator {
  private readonly hs: HandshakeState;

  constructor(
    private readonly opts: IxOptions,
    /** Only `fork` passes one. */
    hs?: HandshakeState,
  ) {
    this.hs = hs ?? newHandshakeState(opts, true);
  }

  /**
   * A copy that reads message 2 without touching this one: the handshake layer reads every stage 2 on a fork, so
   * that a reply it refuses (another host answered from a stale address, or a blocklisted one) does not use up the
   * state the real peer's reply needs.
   */
  fork(): IxInitiator {
    return new IxInitiator(this.opts, this.hs.fork());
  }

  /** e ‖ s ‖ payload, all cleartext. Call once; Nebula retransmits the same bytes on retry. */
  writeMessage1(payload: Uint8Array): Uint8Array {
    return this.hs.writeMessage(payload);
  }

  /**
   * Throws NoiseError on a truncated or forged message; the state is then unchanged, so a later genuine
   * message 2 still completes the handshake.
   */
  readMessage2(msg: Uint8Array): InitiatorResult {
    const payload = this.hs.readMessage(msg);
    const { keys, handshakeHash } = finish(this.hs, this.opts.cipher);
    return { payload, remoteStatic: remoteStaticOf(this.hs), keys, handshakeHash };
  }
}

export class IxResponder {
  private readonly hs: HandshakeState;

  constructor(private readonly opts: IxOptions) {
    this.hs = newHandshakeState(opts, false);
  }

  readMessage1(msg: Uint8Array): PeerHello {
    const payload = this.hs.readMessage(msg);
    return { payload, remoteStatic: remoteStaticOf(this.hs) };
  }

  /** Throws NoiseError('ENOISEKEY') when the initiator's keys were of low order. */
  writeMessage2(payload: Uint8Array): ResponderResult {
    const message = this.hs.writeMessage(payload);
    const { keys, handshakeHash } = finish(this.hs, this.opts.cipher);
    return { message, keys, handshakeHash };
  }
}

function newHandshakeState(opts: IxOptions, initiator: boolean): HandshakeState {
  return new HandshakeState({
    cipher: opts.cipher,
    initiator,
    s: opts.staticKey,
    prologue: opts.prologue,
    e: opts.ephemeralPrivate,
    ephemeralKeys: opts.ephemeralKeys,
  });
}

function remoteStaticOf(hs: HandshakeState): Uint8Array {
  const rs = hs.remoteStatic();
  if (rs === null) throw new NoiseError('ENOISESTATE', 'remote static key missing after its message');
  return rs;
}

function finish(hs: HandshakeState, cipher: AeadCipher): { keys: SessionKeys; handshakeHash: Uint8Array } {
  const handshakeHash = hs.handshakeHash();
  const [k1, k2] = hs.split();
  const initiatorToResponder = createSessionAead(cipher, k1);
  const responderToInitiator = createSessionAead(cipher, k2);
  k1.fill(0);
  k2.fill(0);
  const keys: SessionKeys = hs.initiator
    ? { send: initiatorToResponder, recv: responderToInitiator }
    : { send: responderToInitiator, recv: initiatorToResponder };
  return { keys, handshakeHash };
}
