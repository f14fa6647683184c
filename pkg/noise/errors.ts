// Every way a Noise handshake can fail, as one error class with a stable code. The handshake layer drops
// the packet on any of them; the code only feeds logs and metrics.

export type NoiseErrorCode =
  /** A message is shorter than its pattern's keys and tags. */
  | 'ENOISESHORT'
  /** A message or payload would exceed 65535 bytes. */
  | 'ENOISETOOLONG'
  /** An encrypted static key or payload failed authentication (tampered, or a different cipher/prologue). */
  | 'ENOISEAUTH'
  /** A peer's public key is of low order, so the DH result would be predictable. */
  | 'ENOISEKEY'
  /** A method was called out of order (for example reading message 2 twice). */
  | 'ENOISESTATE';

export class NoiseError extends Error {
  override name = 'NoiseError';
  constructor(
    readonly code: NoiseErrorCode,
    message: string,
  ) {
    super(message);
  }
}
