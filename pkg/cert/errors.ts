// Two error kinds, each with a stable `code` that callers switch on (the CLI maps codes to one line and an exit
// status; the handshake counts verification failures by code). Messages for verification failures are Nebula's own
// wording, so logs read the same on both sides of a tunnel.

export type CertErrorCode =
  | 'ECERTDECODE' // protobuf bytes are not a valid certificate
  | 'ECERTENCODE' // a certificate record cannot be encoded (bad issuer hex, out-of-range time)
  | 'ECERTPEM' // PEM framing, banner or base64 is wrong
  | 'ECERTKEY' // key material has the wrong size or does not match
  | 'ECERTNOTCA' // a CA bundle holds a certificate that is not a CA
  | 'ECERTNOTSELFSIGNED' // a CA bundle holds a CA whose signature does not verify with its own key
  | 'ECERTNOVALIDCA' // a CA bundle is empty or every CA in it is expired
  | 'ECERTPROPERTIES' // a v2 certificate decodes but its contents are invalid (duplicate or zero networks, ...)
  | 'ECERTPUBKEYPRESENT' // a v2 handshake certificate carries a public key where the handshake supplies it
  | 'ECERTCURVE'; // an unknown curve, or a key of another curve than the certificate's

export class CertError extends Error {
  override name = 'CertError';
  constructor(
    readonly code: CertErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * One code per rule of Nebula's `Verify`, in the order the rules run (docs/wire-format.md, "CA bundles and
 * verification").
 */
export type CertVerifyCode =
  | 'ECERTBLOCKED'
  | 'ECERTNOISSUER'
  | 'ECERTUNKNOWNCA'
  | 'ECERTCAEXPIRED'
  | 'ECERTEXPIRED'
  | 'ECERTSIGNATURE'
  | 'ECERTEXPIRESAFTERCA'
  | 'ECERTVALIDBEFORECA'
  | 'ECERTGROUP'
  | 'ECERTIP'
  | 'ECERTSUBNET'
  | 'ECERTCURVEMISMATCH' // v2 era: the certificate's curve is not its CA's
  | 'ECERTNETWORK' // v2 era: a network outside the CA's networks
  | 'ECERTUNSAFENETWORK'; // v2 era: an unsafe network outside the CA's unsafe networks

export class CertVerifyError extends Error {
  override name = 'CertVerifyError';
  constructor(
    readonly code: CertVerifyCode,
    message: string,
  ) {
    super(message);
  }
}
