// How a tunnel keeps its peer's certificate (see PeerCertBytes).

import { X25519_KEY_LEN } from '../noise/x25519.js';
import { isCertificateV2, type AnyCertificate } from './cert-any.js';
import { unmarshalHandshakeCertificate } from './cert-unmarshal.js';
import { ipv4ViewOfV2 } from './cert-v2-ipv4-view.js';
import { unmarshalCertificateV2 } from './cert-v2-unmarshal.js';
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

  constructor(
    certBytes: Uint8Array,
    remoteStatic: Uint8Array,
    /** The version of the handshake form in `certBytes`. */
    readonly version: 1 | 2 = 1,
  ) {
    this.#bytes = Buffer.concat([remoteStatic, certBytes]).toString('latin1');
  }

  /** Decodes the certificate again (already verified once, so it decodes); a v2 one in its IPv4 view. */
  decode(): NebulaCertificate {
    const c = this.decodeAny();
    return isCertificateV2(c) ? ipv4ViewOfV2(c) : c;
  }

  /** The certificate as the peer presented it, of either version: for verification and fingerprints. */
  decodeAny(): AnyCertificate {
    const buf = Buffer.from(this.#bytes, 'latin1');
    // A plain Uint8Array view, so the decoded byte fields are Uint8Arrays like any other decoded certificate's.
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    const key = bytes.subarray(0, X25519_KEY_LEN);
    const cert = bytes.subarray(X25519_KEY_LEN);
    return this.version === 2 ? unmarshalCertificateV2(cert, key) : unmarshalHandshakeCertificate(cert, key);
  }
}
