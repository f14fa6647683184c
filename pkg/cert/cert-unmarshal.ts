// protobuf bytes -> Nebula v1 certificate. Layout diagram and the canonical-form rules: cert-marshal.ts.
// Decoding follows Go's protobuf rules: fields in any order, unknown fields and fields with an unexpected wire
// type skipped, a repeated message field merged, proto3 strings required to be UTF-8. Nothing but CertError
// escapes, whatever the input.

import type { Ipv4Net } from '../ip/ipv4.js';
import { CertError } from './errors.js';
import { ProtoReader, WIRE_BYTES, WIRE_VARINT } from './proto-wire.js';
import type { NebulaCertificate } from './types.js';

const MIN_PUBLIC_KEY_LEN = 32;

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

interface RawDetails {
  name: string;
  ips: number[];
  subnets: number[];
  groups: string[];
  notBefore: number;
  notAfter: number;
  publicKey: Uint8Array;
  isCA: boolean;
  issuer: Uint8Array;
}

function decodeString(bytes: Uint8Array): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    // proto3 string fields must be UTF-8; Go's decoder refuses them too.
    throw new CertError('ECERTDECODE', 'malformed certificate protobuf: string field contains invalid UTF-8');
  }
}

function readPackedOrSingle(r: ProtoReader, wireType: number, into: number[]): void {
  if (wireType === WIRE_VARINT) {
    into.push(r.uint32());
    return;
  }
  const payload = r.bytes();
  const inner = new ProtoReader(payload);
  while (!inner.done()) into.push(inner.uint32());
}

// Parsing into an existing record gives protobuf's merge semantics when Details appears more than once:
// scalars from the later copy win, repeated fields accumulate. Fields with an unexpected wire type are unknown
// fields, as in Go, and are skipped.
function mergeDetails(bytes: Uint8Array, d: RawDetails): void {
  const r = new ProtoReader(bytes);
  while (!r.done()) {
    const [field, wt] = r.tag();
    const isBytes = wt === WIRE_BYTES;
    const isVarint = wt === WIRE_VARINT;
    if (field === 1 && isBytes) d.name = decodeString(r.bytes());
    else if (field === 2 && (isBytes || isVarint)) readPackedOrSingle(r, wt, d.ips);
    else if (field === 3 && (isBytes || isVarint)) readPackedOrSingle(r, wt, d.subnets);
    else if (field === 4 && isBytes) d.groups.push(decodeString(r.bytes()));
    else if (field === 5 && isVarint) d.notBefore = r.int64();
    else if (field === 6 && isVarint) d.notAfter = r.int64();
    else if (field === 7 && isBytes) d.publicKey = r.bytes();
    else if (field === 8 && isVarint) d.isCA = r.bool();
    else if (field === 9 && isBytes) d.issuer = r.bytes();
    else r.skip(field, wt);
  }
}

function emptyRawDetails(): RawDetails {
  return {
    name: '',
    ips: [],
    subnets: [],
    groups: [],
    notBefore: 0,
    notAfter: 0,
    publicKey: new Uint8Array(0),
    isCA: false,
    issuer: new Uint8Array(0),
  };
}

function parseRaw(bytes: Uint8Array): { details: RawDetails | null; signature: Uint8Array } {
  if (bytes.length === 0) throw new CertError('ECERTDECODE', 'certificate bytes are empty');
  const r = new ProtoReader(bytes);
  let details: RawDetails | null = null;
  let signature: Uint8Array = new Uint8Array(0);
  while (!r.done()) {
    const [field, wt] = r.tag();
    if (field === 1 && wt === WIRE_BYTES) {
      details ??= emptyRawDetails();
      mergeDetails(r.bytes(), details);
    } else if (field === 2 && wt === WIRE_BYTES) signature = r.bytes();
    else r.skip(field, wt);
  }
  return { details, signature };
}

function pairsToNets(values: number[], what: string): Ipv4Net[] {
  if (values.length % 2 !== 0) {
    throw new CertError('ECERTDECODE', `encoded ${what} should be in pairs, an odd number was found`);
  }
  const nets: Ipv4Net[] = [];
  for (let i = 0; i < values.length; i += 2) nets.push({ ip: values[i], mask: values[i + 1] });
  return nets;
}

function toCertificate(raw: { details: RawDetails | null; signature: Uint8Array }): NebulaCertificate {
  const d = raw.details;
  if (d === null) throw new CertError('ECERTDECODE', 'encoded Details was nil');
  const ips = pairsToNets(d.ips, 'IPs');
  const subnets = pairsToNets(d.subnets, 'Subnets');
  if (d.publicKey.length < MIN_PUBLIC_KEY_LEN) {
    throw new CertError('ECERTDECODE', `public key was fewer than 32 bytes; ${d.publicKey.length}`);
  }
  return {
    details: {
      name: d.name,
      ips,
      subnets,
      groups: d.groups,
      notBefore: d.notBefore,
      notAfter: d.notAfter,
      publicKey: d.publicKey.slice(),
      isCA: d.isCA,
      issuer: Buffer.from(d.issuer).toString('hex'),
    },
    signature: raw.signature.slice(),
  };
}

// Arbitrary bytes arrive from the network: whatever goes wrong inside must surface as a CertError.
function guarded<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof CertError) throw err;
    throw new CertError('ECERTDECODE', `malformed certificate protobuf: ${(err as Error)?.message ?? String(err)}`);
  }
}

/** Decodes `RawNebulaCertificate` bytes. Throws only CertError. Unknown fields are skipped. */
export function unmarshalCertificate(bytes: Uint8Array): NebulaCertificate {
  return guarded(() => toCertificate(parseRaw(bytes)));
}

/**
 * Decodes the certificate a peer sent in its handshake (which omits PublicKey) and puts `peerStaticKey` (the
 * X25519 key authenticated by Noise) in its place, as Nebula does before verifying. Throws only CertError.
 */
export function unmarshalHandshakeCertificate(bytes: Uint8Array, peerStaticKey: Uint8Array): NebulaCertificate {
  return guarded(() => {
    const raw = parseRaw(bytes);
    if (raw.details === null) throw new CertError('ECERTDECODE', 'certificate did not contain any details');
    raw.details.publicKey = peerStaticKey;
    return toCertificate(raw);
  });
}
