// Our next handshake message's ephemeral key, made before it is needed (issue 19: a running node's first contact).
//
// Each side of a handshake makes one fresh X25519 key (generateX25519Secret, ~47 us warm and more in a process that
// has made few) between a packet in and its handshake message out: the initiator between its TUN read and stage
// 1, the responder between stage 1 in and stage 2 out. One key made ahead takes that off both paths; the next is
// made REFILL_AFTER_MS after one is taken, when the contact that took it has usually finished (a first contact
// takes 2-6 ms), so the refill does not land in a contact's own busy stretch. A burst (a lighthouse after a restart)
// finds no key ready after the first and makes each one on the spot, as before: one key per handshake either way.
//
// What it keeps is one key: never handed out twice (take() forgets it before returning it), made only from fresh
// random bytes, and dropped when the node stops or reloads (drop()); like every ephemeral key, it is a KeyObject
// that OpenSSL frees once collected (x25519.ts: KeyObjects cannot be wiped from JavaScript). docs/security-model.md.
//
// A key waiting unused is a forward-secrecy window: whoever reads the process memory once (static key + waiting
// ephemeral) can decrypt the next session passively. So a key made ahead lives at most MAX_AGE_MS: then it is
// replaced by a fresh one, and take() never hands out one that old even when the timer ran late. Replacing rather
// than only dropping keeps the lever for the common first contact, the one after a long idle (where making a key on
// the spot took ~230 us, against ~55 warm), for ~55 us of CPU a minute on an idle node (docs/security-model.md
// "Session keys").

import { after, type Clock } from '../clock/clock.js';
import { generateX25519Secret, type X25519Secret } from './x25519.js';

/** Where a handshake takes its ephemeral key from (HandshakeState's `e` token). */
export interface EphemeralKeySource {
  /** A key no one was given before. */
  take(): X25519Secret;
}

/** How long after a key is taken the next is made. */
export const REFILL_AFTER_MS = 20;

/** How long a key made ahead may wait unused before it is replaced (the forward-secrecy window). */
export const MAX_AGE_MS = 60_000;

export class EphemeralKeys implements EphemeralKeySource {
  private ready: X25519Secret | null = null;
  /** When `ready` was made, on the clock. */
  private madeAt = 0;
  /** The one timer: the refill while no key is ready, the key's replacement at MAX_AGE_MS while one is. */
  private cancelTimer: (() => void) | null = null;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly make: () => X25519Secret = generateX25519Secret,
  ) {
    this.refillLater();
  }

  take(): X25519Secret {
    const fresh = this.ready !== null && this.clock.now() - this.madeAt < MAX_AGE_MS ? this.ready : null;
    this.forget();
    this.refillLater();
    return fresh ?? this.make();
  }

  /** The public half of the key made ahead, or null when none is ready (tests: which message carried it). */
  get readyPublicKey(): Uint8Array | null {
    return this.ready?.publicKey ?? null;
  }

  /** Forgets the key made ahead (a reload); the next is made later, as after a take. */
  drop(): void {
    this.forget();
    this.refillLater();
  }

  /** Forgets the key made ahead and makes no more ahead (the node stops); take() still makes one on the spot. */
  stop(): void {
    this.stopped = true;
    this.forget();
    this.cancelTimer?.();
    this.cancelTimer = null;
  }

  /** Drops the ready key and its replacement timer (a refill already armed stays: a burst gets one refill). */
  private forget(): void {
    if (this.ready === null) return;
    this.ready = null;
    this.cancelTimer?.();
    this.cancelTimer = null;
  }

  private refillLater(): void {
    if (this.stopped || this.cancelTimer !== null) return;
    this.cancelTimer = after(this.clock, REFILL_AFTER_MS, () => {
      this.cancelTimer = null;
      this.makeAhead();
    });
  }

  /** Makes the key ahead and arms its replacement MAX_AGE_MS later (the old one is forgotten before it). */
  private makeAhead(): void {
    if (this.stopped) return;
    this.ready = null;
    this.ready = this.make();
    this.madeAt = this.clock.now();
    this.cancelTimer = after(this.clock, MAX_AGE_MS, () => {
      this.cancelTimer = null;
      this.makeAhead();
    });
  }
}
