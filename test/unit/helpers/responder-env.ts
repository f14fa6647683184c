// The HandshakeEnv of a lighthouse that only answers stage 1s, and the stage 1 a new node sends it: no candidates of its own, no lighthouse to ask, every
// remote allowed, sends and tunnel events ignored unless the caller hooks them. Shared by the stage 2 flush test and
// bench/handshake-cost.ts (which passes another build's classes in `parts`, so this file names no class of its own).

import { marshalCertificateForHandshake } from '../../../pkg/cert/index.js';
import { encodeHeader, HandshakeSubType, HEADER_LEN, MessageType } from '../../../pkg/header/header.js';
import type { HandshakeEnv } from '../../../pkg/handshake/manager.js';
import { encodeHandshakePayload } from '../../../pkg/handshake/payload.js';
import { IxInitiator } from '../../../pkg/noise/ix.js';
import type { TestHostCert } from './pki.js';

/** What a responder needs from its caller; anything else of HandshakeEnv may be given to override the no-ops. */
export type ResponderParts = Pick<HandshakeEnv, 'hostmap' | 'clock' | 'log' | 'counters' | 'identity' | 'caPool'> &
  Partial<HandshakeEnv>;

export function responderEnv(parts: ResponderParts): HandshakeEnv {
  return {
    cipher: 'aes',
    tryIntervalMs: 100,
    retries: 10,
    candidates: () => [],
    send: () => {},
    remoteAllowed: () => true,
    openMapping: () => {},
    punchSettleMs: 100,
    splitByPunch: (_vpnIp, addrs) => ({ direct: [...addrs], punched: [] }),
    queryLighthouse: () => {},
    established: () => {},
    sendTestRequest: () => {},
    sendClose: () => {},
    ...parts,
  };
}

/** A new node's stage 1 (AES, header included), as a lighthouse receives it. */
export function stage1Packet(node: TestHostCert, initiatorIndex: number): Uint8Array {
  const msg = new IxInitiator({ cipher: 'aes', staticKey: node.privateKey }).writeMessage1(
    encodeHandshakePayload({
      cert: marshalCertificateForHandshake(node.cert),
      initiatorIndex,
      responderIndex: 0,
      time: BigInt(Date.now()) * 1_000_000n,
    }),
  );
  const out = new Uint8Array(HEADER_LEN + msg.length);
  encodeHeader(out, 0, MessageType.Handshake, HandshakeSubType.IXPSK0, 0, 1);
  out.set(msg, HEADER_LEN);
  return out;
}
