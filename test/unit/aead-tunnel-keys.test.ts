// A tunnel's session keys are the addon's OpenSSL contexts when the addon is built, and closing the tunnel wipes
// them at once (pkg/noise/native-aead.ts): after closeTunnel nothing can seal with them and late packets for the
// tunnel only fail to open.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { HEADER_LEN, MessageType } from '../../pkg/header/header.js';
import { sealForTunnel } from '../../pkg/datapath/tunnel-sender.js';
import { createAead, type Aead } from '../../pkg/noise/aead.js';
import { AeadClosedError, NativeAead, nativeAeadAddon } from '../../pkg/noise/native-aead.js';
import { connect, TestMesh } from './helpers/mesh.js';

const built = existsSync(fileURLToPath(new URL('../../../build/Release/mesh_native.node', import.meta.url)));
const skip = built ? false : 'the addon is not built (npx node-gyp rebuild)';

test('tunnels carry data on native session keys, and closeTunnel closes both', { skip }, async (t) => {
  const mesh = new TestMesh(t);
  const a = await mesh.node({ vpnIp: '10.1.0.1', name: 'a', peers: ['10.1.0.2'] });
  const b = await mesh.node({ vpnIp: '10.1.0.2', name: 'b', peers: ['10.1.0.1'] });
  await connect(a, b);
  const ab = a.tunnelTo(b)!;
  assert.ok(ab.keys.send instanceof NativeAead && ab.keys.recv instanceof NativeAead);
  const late = sealForTunnel(b.tunnelTo(a)!, MessageType.Test, 0, new Uint8Array(4));

  a.node.closeTunnel(ab, 'test', false);
  assert.equal((ab.keys.send as NativeAead).closed, true);
  assert.equal((ab.keys.recv as NativeAead).closed, true);
  assert.throws(() => sealForTunnel(ab, MessageType.Test, 0, new Uint8Array(4)), AeadClosedError);
  const h = late.subarray(0, HEADER_LEN);
  assert.equal(ab.keys.recv.open(3, late.subarray(HEADER_LEN), h), null);
  await connect(a, b, 'a new tunnel after the close');
});

test('a control packet is sealed in place from a copy: it opens to the payload, which is left as it was', async (t) => {
  const mesh = new TestMesh(t);
  const a = await mesh.node({ vpnIp: '10.1.0.1', name: 'a', peers: ['10.1.0.2'] });
  const b = await mesh.node({ vpnIp: '10.1.0.2', name: 'b', peers: ['10.1.0.1'] });
  await connect(a, b);
  const ab = a.tunnelTo(b)!;
  const ba = b.tunnelTo(a)!;
  // Small payloads live on the JS heap, larger ones in a Buffer's memory; the empty one is a test request.
  for (const size of [0, 9, 64, 65, 1200]) {
    const payload = Uint8Array.from({ length: size }, (_, i) => (i * 7 + size) & 0xff);
    const copy = Uint8Array.from(payload);
    const packet = sealForTunnel(ab, MessageType.LightHouse, 0, payload);
    assert.equal(packet.length, HEADER_LEN + size + 16);
    assert.deepEqual(payload, copy, `payload of ${size} bytes untouched`);
    const counter = Number(packet.readBigUInt64BE(8));
    const opened = ba.keys.recv.open(counter, packet.subarray(HEADER_LEN), packet.subarray(0, HEADER_LEN));
    assert.deepEqual(opened === null ? null : Uint8Array.from(opened), copy, `payload of ${size} bytes`);
  }
});

test('both AEAD backends seal in place (plaintext exactly where the ciphertext goes) as they seal from elsewhere', () => {
  const addon = nativeAeadAddon();
  const key = Uint8Array.from({ length: 32 }, (_, i) => i * 5 + 1);
  const ad = Uint8Array.from({ length: HEADER_LEN }, (_, i) => i);
  for (const cipher of ['aes', 'chachapoly'] as const) {
    const backends: Array<[string, Aead]> = [['node:crypto', createAead(cipher, key)]];
    if (addon) backends.push(['addon', new NativeAead(addon, cipher, key)]);
    for (const [name, aead] of backends) {
      for (const size of [0, 1, 64, 65, 1300]) {
        const payload = Uint8Array.from({ length: size }, (_, i) => (i * 13 + size) & 0xff);
        const expected = Uint8Array.from(aead.seal(7, payload, ad));
        const out = Buffer.alloc(HEADER_LEN + size + 16, 0xaa);
        out.set(payload, HEADER_LEN);
        const sealed = aead.seal(7, out.subarray(HEADER_LEN, HEADER_LEN + size), ad, out, HEADER_LEN);
        assert.deepEqual(Uint8Array.from(sealed), expected, `${name} ${cipher}, ${size} bytes`);
      }
      aead.close();
    }
  }
});
