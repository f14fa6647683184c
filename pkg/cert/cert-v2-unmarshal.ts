// Decoding of Nebula v2 certificates, accepting exactly what Nebula accepts (layout in cert-v2-marshal.ts):
// every structural fault is "bad wire format" (ECERTDECODE), then the contents are validated as Nebula validates
// them (cert-v2-validate.ts). Known leniencies are Nebula's own and kept on purpose, so both sides agree on which
// certificates exist: bytes after the outer SEQUENCE or after the signature are ignored, unknown fields at the end
// of the details are ignored (the signature still covers them), and isCA is true for any non-zero byte.

import { ipv4Addr, ipv6Addr, type IpPrefix } from '../ip/prefix.js';
import { DerError, DerReader } from './der.js';
import { CertError } from './errors.js';
import {
  MAX_CERTIFICATE_V2_SIZE,
  MAX_NAME_LENGTH,
  MAX_NETWORK_LENGTH,
  TAG_CERT_CURVE,
  TAG_CERT_DETAILS,
  TAG_CERT_PUBLIC_KEY,
  TAG_CERT_SIGNATURE,
  TAG_DETAILS_GROUPS,
  TAG_DETAILS_IS_CA,
  TAG_DETAILS_ISSUER,
  TAG_DETAILS_NAME,
  TAG_DETAILS_NETWORKS,
  TAG_DETAILS_NOT_AFTER,
  TAG_DETAILS_NOT_BEFORE,
  TAG_DETAILS_UNSAFE_NETWORKS,
  TAG_OCTET_STRING,
  TAG_SEQUENCE,
  TAG_UTF8_STRING,
} from './cert-v2-marshal.js';
import { Curve, type CertDetailsV2, type NebulaCertificateV2 } from './cert-v2-types.js';
import { validateCertificateV2 } from './cert-v2-validate.js';

const utf8 = new TextDecoder('utf-8');

function badFormat(): CertError {
  return new CertError('ECERTDECODE', 'bad wire format');
}

/** A network's wire bytes; a length that is neither 5 nor 17 cannot be an address and is a wire fault. */
function decodeNetwork(b: Uint8Array): IpPrefix {
  const addrBytes = b.subarray(0, b.length - 1);
  const bits = b[b.length - 1];
  // A lone length byte has no address; Nebula decodes it as an invalid prefix, refused by validation.
  if (addrBytes.length === 0) return { addr: { family: 4, bytes: new Uint8Array(0) }, bits: -1 };
  if (addrBytes.length === 4) return { addr: ipv4Addr(addrBytes), bits };
  if (addrBytes.length === 16) return { addr: ipv6Addr(addrBytes), bits };
  throw new DerError('network is neither 5 nor 17 bytes');
}

function networkList(r: DerReader, tag: number): IpPrefix[] {
  const content = r.readOptional(tag);
  if (content === undefined) return [];
  const list = new DerReader(content);
  const out: IpPrefix[] = [];
  while (!list.empty()) {
    const v = list.read(TAG_OCTET_STRING);
    if (v.length === 0 || v.length > MAX_NETWORK_LENGTH) throw new DerError('network length out of range');
    out.push(decodeNetwork(v));
  }
  return out;
}

/** Unix seconds; times beyond JavaScript's exact integers (~285 million years) are refused. */
function seconds(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new DerError('time out of range');
  }
  return Number(v);
}

function decodeDetails(rawDetails: Uint8Array): CertDetailsV2 {
  const r = new DerReader(new DerReader(rawDetails).read(TAG_CERT_DETAILS));
  if (r.empty()) throw new DerError('empty details');
  const name = r.read(TAG_DETAILS_NAME);
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) throw new DerError('name length out of range');
  const networks = networkList(r, TAG_DETAILS_NETWORKS);
  const unsafeNetworks = networkList(r, TAG_DETAILS_UNSAFE_NETWORKS);
  const groups: string[] = [];
  const groupList = r.readOptional(TAG_DETAILS_GROUPS);
  if (groupList !== undefined) {
    const g = new DerReader(groupList);
    while (!g.empty()) {
      const v = g.read(TAG_UTF8_STRING);
      if (v.length === 0) throw new DerError('empty group');
      groups.push(utf8.decode(v));
    }
  }
  const isCa = r.readOptional(TAG_DETAILS_IS_CA);
  if (isCa !== undefined && isCa.length !== 1) throw new DerError('isCA must be one byte');
  const notBefore = seconds(r.readInt64(TAG_DETAILS_NOT_BEFORE));
  const notAfter = seconds(r.readInt64(TAG_DETAILS_NOT_AFTER));
  const issuer = r.readOptional(TAG_DETAILS_ISSUER);
  return {
    name: utf8.decode(name),
    networks,
    unsafeNetworks,
    groups,
    isCA: isCa !== undefined && isCa[0] > 0,
    notBefore,
    notAfter,
    issuer: issuer === undefined ? '' : Buffer.from(issuer).toString('hex'),
  };
}

/**
 * Decodes and validates a v2 certificate. `handshakePublicKey`, when given, is the key the handshake carried: the
 * bytes must then not hold one (ECERTPUBKEYPRESENT). `defaultCurve` is the curve when the bytes name none.
 */
export function unmarshalCertificateV2(
  bytes: Uint8Array,
  handshakePublicKey?: Uint8Array,
  defaultCurve: number = Curve.CURVE25519,
): NebulaCertificateV2 {
  if (bytes.length === 0 || bytes.length > MAX_CERTIFICATE_V2_SIZE) throw badFormat();
  let cert: NebulaCertificateV2;
  try {
    const input = new DerReader(new DerReader(bytes).read(TAG_SEQUENCE));
    if (input.empty()) throw new DerError('empty certificate');
    // Copies, as plain Uint8Arrays whatever the input's class (a Buffer's slice is a Buffer).
    const rawDetails = new Uint8Array(input.readElement(TAG_CERT_DETAILS));
    const curveByte = input.readOptional(TAG_CERT_CURVE);
    if (curveByte !== undefined && curveByte.length !== 1) throw new DerError('curve must be one byte');
    const curve = curveByte === undefined ? defaultCurve : curveByte[0];
    let publicKey: Uint8Array;
    if (handshakePublicKey !== undefined && handshakePublicKey.length > 0) {
      if (input.peekTag(TAG_CERT_PUBLIC_KEY)) {
        throw new CertError('ECERTPUBKEYPRESENT', 'certificate has unexpected pubkey present');
      }
      publicKey = new Uint8Array(handshakePublicKey);
    } else {
      publicKey = new Uint8Array(input.readOptional(TAG_CERT_PUBLIC_KEY) ?? new Uint8Array(0));
    }
    if (publicKey.length === 0) throw new DerError('no public key');
    const signature = new Uint8Array(input.read(TAG_CERT_SIGNATURE));
    if (signature.length === 0) throw new DerError('empty signature');
    cert = { version: 2, details: decodeDetails(rawDetails), rawDetails, curve, publicKey, signature };
  } catch (err) {
    if (err instanceof DerError) throw badFormat();
    throw err;
  }
  validateCertificateV2(cert.details, cert.publicKey);
  return cert;
}
