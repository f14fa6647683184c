// The HandshakeEnv of a lighthouse that only answers stage 1s (the stage 1s a new node sends it: stage1.ts): no
// candidates of its own, no lighthouse to ask, every remote allowed, sends and tunnel events ignored unless the caller
// hooks them. Shared by the stage 2 flush test and bench/handshake-cost.ts (which passes another build's classes in
// `parts`, so this file names no class of its own).

import type { HandshakeEnv } from '../../../pkg/handshake/manager.js';

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
