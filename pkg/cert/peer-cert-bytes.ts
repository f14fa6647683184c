// How a tunnel keeps its peer's certificate (see PeerCertBytes).

import { X25519_KEY_LEN } from '../noise/x25519.js';
import { unmarshalHandshakeCertificate } from './cert-unmarshal.js';
import type { NebulaCertificate } from './types.js';

/**
 * A verified peer certificate as a tunnel keeps it: the peer's static key followed by the certificate bytes from
 * the handshake, in one latin-1 string, decoded again when asked for. A decoded certificate (an object, arrays of
 * nets, two byte arrays for key and signature) took about 1.2 KiB a tunnel; the string takes its byte length plus
 * a header, and V8 keeps it in its own heap with nothing native beside it. Only the control plane, a config reload
 * and log lines read a tunnel's whole certificate; the data path reads the firewall's view (FirewallPeer).
 */
export class PeerCertBytes {
  readonly #bytes: string;

  constructor(certBytes: Uint8Array, remoteStatic: Uint8Array) {
    this.#bytes = Buffer.concat([remoteStatic, certBytes]).toString('latin1');
  }

  /** Decodes the certificate again (already verified once, so it decodes). */
  decode(): NebulaCertificate {
    const buf = Buffer.from(this.#bytes, 'latin1');
    // A plain Uint8Array view, so the decoded byte fields are Uint8Arrays like any other decoded certificate's.
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    return unmarshalHandshakeCertificate(bytes.subarray(X25519_KEY_LEN), bytes.subarray(0, X25519_KEY_LEN));
  }
}
