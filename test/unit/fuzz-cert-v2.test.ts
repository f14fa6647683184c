// Fuzzing the v2 certificate decoder (a peer will reach it in a v2 handshake, a config in pki.ca): the DER reader,
// unmarshalling in both forms (with the public key, and the handshake form without it), validation, verification
// against a mixed pool, printing and PEM. Inputs are byte mutations of valid certificates and, to get past the
// framing into the content rules, tree mutations re-encoded with correct lengths. Properties: CertError
// (CertVerifyError for verification) only, and what decodes re-marshals to bytes that decode the same.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  anyCertificateToPem,
  CaPool,
  CertError,
  CertVerifyError,
  Curve,
  fingerprintV2,
  formatCertificateJsonV2,
  formatCertificateTextV2,
  marshalCertificateV2,
  marshalCertificateV2ForHandshake,
  parseAnyCertificatesPem,
  parseHostPublicKeyPem,
  parseSigningPrivateKeyPem,
  parseV1CertificatesSkippingV2,
  generateP256KeyPair,
  encodePem,
  ECDSA_P256_PRIVATE_KEY_BANNER,
  ED25519_PRIVATE_KEY_BANNER,
  P256_PUBLIC_KEY_BANNER,
  signCertificateV2,
  signingPublicKey,
  unmarshalCertificateV2,
  type CertDetailsV2,
  type NebulaCertificateV2,
} from '../../pkg/cert/index.js';
import { DerError, DerReader, derTlv } from '../../pkg/cert/der.js';
import { parseIpPrefix } from '../../pkg/ip/prefix.js';
import { ed25519Key, p256Key } from './helpers/cert-v2-keys.js';
import {
  expectOnly,
  hex,
  INTERESTING_INTS,
  mutate,
  mutateText,
  randomBytes,
  runFuzz,
  type Rand,
} from './helpers/fuzz.js';

const NOW = 1_780_000_000;
const isCertError = (e: unknown): boolean => e instanceof CertError;
const isVerifyError = (e: unknown): boolean => e instanceof CertVerifyError || e instanceof CertError;

function details(over: Partial<CertDetailsV2>): CertDetailsV2 {
  return {
    name: 'n',
    networks: [],
    unsafeNetworks: [],
    groups: [],
    isCA: false,
    notBefore: NOW - 10,
    notAfter: NOW + 1000,
    issuer: '',
    ...over,
  };
}

const caKey = ed25519Key('fuzz ca');
const pKey = p256Key('fuzz p256 ca');
const CA = signCertificateV2(
  {
    details: details({
      name: 'ca',
      isCA: true,
      networks: [parseIpPrefix('10.0.0.0/8'), parseIpPrefix('fd00::/8')],
      groups: ['a', 'b'],
    }),
    curve: Curve.CURVE25519,
    publicKey: signingPublicKey(caKey),
  },
  null,
  caKey,
);
const CA_P = signCertificateV2(
  { details: details({ name: 'p', isCA: true }), curve: Curve.P256, publicKey: signingPublicKey(pKey) },
  null,
  pKey,
);
const HOSTS: NebulaCertificateV2[] = [
  signCertificateV2(
    {
      details: details({ name: 'h1', networks: [parseIpPrefix('10.1.2.3/16')], groups: ['a'] }),
      curve: Curve.CURVE25519,
      publicKey: new Uint8Array(32).fill(1),
    },
    CA,
    caKey,
  ),
  signCertificateV2(
    {
      details: details({
        name: 'h2',
        networks: [parseIpPrefix('10.1.2.4/16'), parseIpPrefix('fd00::4/64')],
        unsafeNetworks: [parseIpPrefix('192.168.0.0/24'), parseIpPrefix('fd01::/64')],
        groups: ['a', 'b'],
      }),
      curve: Curve.CURVE25519,
      publicKey: new Uint8Array(32).fill(2),
    },
    CA,
    caKey,
  ),
  signCertificateV2(
    {
      details: details({ name: 'h3', networks: [parseIpPrefix('10.9.9.9/24')] }),
      curve: Curve.P256,
      publicKey: signingPublicKey(p256Key('fuzz host')),
    },
    CA_P,
    pKey,
  ),
];
const SAMPLES = [CA, CA_P, ...HOSTS].map(marshalCertificateV2);
const POOL = CaPool.fromPem([CA, CA_P].map(anyCertificateToPem).join(''), NOW, { v2: 'load' });
const PEER_KEY = new Uint8Array(32).fill(5);
const TAGS = [
  0x30, 0xa0, 0x81, 0x82, 0x83, 0x80, 0xa1, 0xa2, 0xa3, 0x84, 0x85, 0x86, 0x87, 0x88, 0x04, 0x0c, 0x02, 0x01,
];

const h = (x: string): Uint8Array => new Uint8Array(Buffer.from(x, 'hex'));
const NETWORK_VALUES = [
  h('0000000000'),
  h('0a00000121'),
  h('0a00000120'),
  h('0a010203ff'),
  h('00000000000000000000ffff0a00000178'),
  h('fd000000000000000000000000000001' + '40'),
  h('fd000000000000000000000000000001' + '81'),
  h('18'),
  h('0a01020310'),
];

interface DerNode {
  tag: number;
  content: Uint8Array;
  children: DerNode[] | null;
}

// A certificate as a tree of elements: constructed tags (bit 0x20) hold children when their content parses.
function parseTree(bytes: Uint8Array): DerNode[] {
  const r = new DerReader(bytes);
  const out: DerNode[] = [];
  while (!r.empty()) {
    const e = r.readAny();
    let children: DerNode[] | null = null;
    if (e.tag & 0x20) {
      try {
        children = parseTree(e.content);
      } catch {
        children = null;
      }
    }
    out.push({ tag: e.tag, content: e.content, children });
  }
  return out;
}

function encodeTree(nodes: DerNode[]): Uint8Array {
  return Buffer.concat(nodes.map((n) => derTlv(n.tag, n.children ? encodeTree(n.children) : n.content)));
}

function allNodes(nodes: DerNode[], into: DerNode[][] = []): DerNode[][] {
  into.push(nodes);
  for (const n of nodes) if (n.children) allNodes(n.children, into);
  return into;
}

function interestingInt(r: Rand): Uint8Array {
  const v = BigInt.asIntN(64, r.pick(INTERESTING_INTS));
  const h = (v < 0n ? (1n << 64n) + v : v).toString(16).padStart(16, '0');
  return new Uint8Array(Buffer.from(h, 'hex').subarray(r.int(8)));
}

/** One structural edit somewhere in the tree, re-encoded with correct lengths. */
function mutateTree(r: Rand, sample: Uint8Array): Uint8Array {
  const tree = parseTree(sample);
  const lists = allNodes(tree);
  const list = r.pick(lists);
  if (list.length === 0) return encodeTree(tree);
  const i = r.int(list.length);
  const node = list[i];
  if (node.tag === 0x04 && r.chance(0.5)) {
    // A network: values the content rules must judge (zero, 4in6, too long a prefix, another family, a duplicate).
    node.content = r.pick(NETWORK_VALUES);
    if (r.chance(0.3)) list.push({ ...node });
    return encodeTree(tree);
  }
  switch (r.int(8)) {
    case 0:
      node.tag = r.pick(TAGS);
      break;
    case 1:
      list.splice(i, 1);
      break;
    case 2:
      list.splice(i, 0, { ...node });
      break;
    case 3:
      list.splice(r.int(list.length + 1), 0, { tag: r.pick(TAGS), content: randomBytes(r, 20), children: null });
      break;
    case 4:
      node.children = null;
      node.content = interestingInt(r);
      break;
    case 5:
      node.children = null;
      node.content = r.bytes(r.pick([0, 1, 4, 5, 6, 16, 17, 18, 32, 65, 254]));
      break;
    case 6: {
      const j = r.int(list.length);
      [list[i], list[j]] = [list[j], list[i]];
      break;
    }
    default:
      node.children = null;
      node.content = mutate(r, node.content, [], 2, 300);
  }
  return encodeTree(tree);
}

test('fuzz DER reader: elements walk forward within bounds and fail only with DerError', () => {
  runFuzz('der', { iterations: 20_000, ms: 600, seed: 0xde2 }, (r) => {
    const b = r.chance(0.3) ? randomBytes(r, 64) : mutate(r, r.pick(SAMPLES), SAMPLES);
    try {
      const reader = new DerReader(b);
      let steps = 0;
      while (!reader.empty()) {
        const e = reader.readAny();
        assert.ok(e.element.length >= 2 && e.element.length <= b.length);
        assert.ok(++steps <= b.length / 2);
      }
    } catch (e) {
      if (!(e instanceof DerError)) throw new Error(`foreign error on ${hex(b)}: ${String(e)}`, { cause: e });
    }
  });
});

test('fuzz v2 certificates: mutated certificates decode or fail with CertError; what decodes verifies, prints and re-marshals', () => {
  let decoded = 0;
  let refusedByContent = 0;
  runFuzz('certificate-v2', { iterations: 6_000, minIterations: 1500, ms: 1500, seed: 0xce2f }, (r) => {
    const sample = r.pick(SAMPLES);
    const b = r.chance(0.6) ? mutateTree(r, sample) : mutate(r, sample, SAMPLES);
    const handshake = r.chance(0.3);
    const input = handshake ? marshalForHandshakeOrSelf(b) : b;
    const c = expectOnly(() => unmarshalCertificateV2(input, handshake ? PEER_KEY : undefined), isCertError, input);
    if (!c.ok) {
      if ((c.error as CertError).code === 'ECERTPROPERTIES') refusedByContent++;
      return;
    }
    decoded++;
    const cert = c.value;
    const again = unmarshalCertificateV2(marshalCertificateV2(cert));
    assert.deepEqual(again, cert, `re-marshal of ${hex(input)}`);
    assert.equal(fingerprintV2(again), fingerprintV2(cert));
    expectOnly(() => POOL.verifyAny(cert, NOW), isVerifyError, input);
    assert.doesNotThrow(() => JSON.parse(formatCertificateJsonV2(cert)), `JSON of ${hex(input)}`);
    assert.doesNotThrow(() => JSON.parse(formatCertificateTextV2(cert)), `text of ${hex(input)}`);
    assert.equal(parseAnyCertificatesPem(anyCertificateToPem(cert)).length, 1);
  });
  assert.ok(decoded > 300, `only ${decoded} mutated certificates decoded: the mutations do not reach deep`);
  assert.ok(refusedByContent > 10, `only ${refusedByContent} reached the content rules`);
});

// The handshake form of a mutated certificate when it still decodes, else the bytes themselves.
function marshalForHandshakeOrSelf(b: Uint8Array): Uint8Array {
  try {
    return marshalCertificateV2ForHandshake(unmarshalCertificateV2(b));
  } catch {
    return b;
  }
}

test('fuzz v2 PEM bundles and key files: mutated mixed CA files and P-256/25519 keys fail only with CertError', () => {
  const p256 = generateP256KeyPair();
  const texts = [
    [CA, CA_P].map(anyCertificateToPem).join(''),
    HOSTS.map(anyCertificateToPem).join(''),
    encodePem(ECDSA_P256_PRIVATE_KEY_BANNER, pKey.privateKey),
    encodePem(P256_PUBLIC_KEY_BANNER, p256.publicKey),
    encodePem(ED25519_PRIVATE_KEY_BANNER, caKey.privateKey),
  ];
  runFuzz('pem-v2', { iterations: 3_000, ms: 800, seed: 0x9e5 }, (r) => {
    const text = mutateText(r, r.pick(texts));
    expectOnly(() => parseAnyCertificatesPem(text), isCertError, text);
    expectOnly(() => parseV1CertificatesSkippingV2(text), isCertError, text);
    expectOnly(() => CaPool.fromPem(text, NOW, { v2: 'load' }), isCertError, text);
    expectOnly(() => CaPool.fromPem(text, NOW), isCertError, text);
    const key = expectOnly(() => parseSigningPrivateKeyPem(text), isCertError, text);
    if (key.ok) expectOnly(() => signingPublicKey(key.value), isCertError, text);
    expectOnly(() => parseHostPublicKeyPem(text), isCertError, text);
  });
});
