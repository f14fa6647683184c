// A handshake stage 1 as a node puts it on the wire (docs/wire-format.md, "Handshake"): the header (type 0,
// subtype IXPSK0, counter 1) then Noise IX message 1 carrying the handshake payload. One builder for the tests that
// send one by hand (a too-old Time, a forgery, a lighthouse's stage 2s) and for the benches that play a fleet of
// nodes (bench/handshake-cost.ts, bench/lh-load-fleet.ts).

import { generateX25519KeyPair, marshalCertificateForHandshake } from '../../../pkg/cert/index.js';
import { encodeHandshakePayload } from '../../../pkg/handshake/payload.js';
import { encodeHeader, HandshakeSubType, HEADER_LEN, MessageType } from '../../../pkg/header/header.js';
import type { AeadCipher } from '../../../pkg/noise/aead.js';
import { IxInitiator, type IxOptions } from '../../../pkg/noise/ix.js';
import type { TestHostCert } from './pki.js';

export interface Stage1Options {
  /** Default 'aes', Nebula's default. */
  cipher?: AeadCipher;
  /** The sender's static key, as IxInitiator takes it (imported, or the raw private bytes). */
  staticKey: IxOptions['staticKey'];
  /** The certificate as a handshake carries it (marshalCertificateForHandshake, or LocalIdentity.handshakeCert). */
  cert: Uint8Array;
  initiatorIndex: number;
  /** Unix nanoseconds; default now. */
  time?: bigint;
}

/** The packet, and the initiator that wrote it (to read the stage 2 that answers it). */
export interface Stage1 {
  packet: Uint8Array;
  initiator: IxInitiator;
}

export function writeStage1(o: Stage1Options): Stage1 {
  const initiator = new IxInitiator({ cipher: o.cipher ?? 'aes', staticKey: o.staticKey });
  const msg = initiator.writeMessage1(
    encodeHandshakePayload({
      cert: o.cert,
      initiatorIndex: o.initiatorIndex,
      responderIndex: 0,
      time: o.time ?? BigInt(Date.now()) * 1_000_000n,
    }),
  );
  const packet = new Uint8Array(HEADER_LEN + msg.length);
  encodeHeader(packet, 0, MessageType.Handshake, HandshakeSubType.IXPSK0, 0, 1);
  packet.set(msg, HEADER_LEN);
  return { packet, initiator };
}

/** A new node's stage 1 (AES, Time now), as a lighthouse receives it. */
export function stage1Packet(node: TestHostCert, initiatorIndex: number): Uint8Array {
  return writeStage1({
    staticKey: node.privateKey,
    cert: marshalCertificateForHandshake(node.cert),
    initiatorIndex,
  }).packet;
}

/** Whose stage 1 a forgery claims to be: what every stage 1 of that host shows in clear. */
export interface ForgeryVictim {
  handshakeCert: Uint8Array;
  publicKey: Uint8Array;
}

/**
 * A stage 1 claiming to come from `victim`: its handshake certificate and public static key, the forger's own
 * ephemeral key. Written with a fresh key pair of the forger's, then the static key (message 1's bytes 32-63, after
 * the ephemeral key) swapped for the victim's, which message 1 allows because nothing in it is authenticated.
 */
export function forgedStage1(victim: ForgeryVictim, time: bigint, cipher: AeadCipher = 'aes'): Uint8Array {
  const { packet } = writeStage1({
    cipher,
    staticKey: generateX25519KeyPair().privateKey,
    cert: victim.handshakeCert,
    initiatorIndex: 0x5eed,
    time,
  });
  packet.set(victim.publicKey, HEADER_LEN + 32);
  return packet;
}
