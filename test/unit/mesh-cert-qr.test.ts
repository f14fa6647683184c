// -out-qr: QR codes of the PEM text. Decoded with zbarimg when it is installed (apt-get install zbar-tools).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { inflateSync } from 'node:zlib';
import { encodeQr } from '../../cmd/mesh-cert/qr/qr-symbol.js';
import { qrToPng } from '../../cmd/mesh-cert/qr/png.js';
import { Scratch } from '../fixtures/cert/cli-harness.js';
import { fixture } from '../fixtures/cert/make-certs.js';

const ZBARIMG = '/usr/bin/zbarimg';
const noZbar = existsSync(ZBARIMG) ? false : `${ZBARIMG} is not installed (apt-get install zbar-tools)`;

function decodePng(path: string): string {
  const r = spawnSync(ZBARIMG, ['-q', '--raw', path], { encoding: 'utf8', timeout: 20_000 });
  // zbarimg ends every decoded symbol with a newline of its own
  return r.stdout.replace(/\n$/, '');
}

/** The rows of a 1-bit PNG (one IDAT, filter 0), each without its filter byte. */
function inflateRows(png: Uint8Array): Uint8Array[] {
  const { width, height } = pngSize(png);
  const v = new DataView(png.buffer, png.byteOffset);
  const idatLen = v.getUint32(33);
  const raw = inflateSync(png.subarray(41, 41 + idatLen));
  const stride = Math.ceil(width / 8) + 1;
  return Array.from({ length: height }, (_, y) => raw.subarray(y * stride + 1, (y + 1) * stride));
}

function pngSize(png: Uint8Array): { width: number; height: number } {
  const v = new DataView(png.buffer, png.byteOffset);
  return { width: v.getUint32(16), height: v.getUint32(20) };
}

describe('QR codes for -out-qr', () => {
  const s = new Scratch();
  after(() => s.remove());

  it('picks the smallest version that holds the bytes at level M', () => {
    assert.equal(encodeQr(new Uint8Array(14)).version, 1);
    assert.equal(encodeQr(new Uint8Array(15)).version, 2);
    assert.equal(encodeQr(new TextEncoder().encode(fixture('host1.crt'))).version, 13);
    assert.equal(encodeQr(new Uint8Array(2331)).version, 40);
    assert.throws(() => encodeQr(new Uint8Array(2332)), { code: 'EQRTOOLONG' });
    // Level M in byte mode, as nebula-cert: digits alone would fit a smaller numeric-mode symbol.
    assert.equal(encodeQr(new TextEncoder().encode('1'.repeat(40))).version, 3);
  });

  it('draws the three finder patterns into the PNG, dark on a light border', () => {
    const qr = encodeQr(new Uint8Array(100));
    const png = qrToPng(qr, 1);
    const rows = inflateRows(png);
    const px = (x: number, y: number): boolean => ((rows[y][x >>> 3] >>> (7 - (x & 7))) & 1) === 0; // 0 = dark
    for (const [x, y] of [
      [0, 0],
      [qr.size - 7, 0],
      [0, qr.size - 7],
    ]) {
      for (let i = 0; i < 7; i++) {
        assert.equal(px(4 + x + i, 4 + y), true);
        assert.equal(px(4 + x, 4 + y + i), true);
      }
      assert.equal(px(4 + x + 1, 4 + y + 1), false);
      assert.equal(px(4 + x + 3, 4 + y + 3), true);
    }
    for (let i = 0; i < qr.size + 8; i++) assert.equal(px(i, 0) || px(0, i) || px(i, 3), false, 'border is light');
    // The always-dark module beside the lower-left finder, whatever the mask (a mirrored symbol has format bits there).
    for (let mask = 0; mask < 8; mask++) {
      const m = encodeQr(new Uint8Array(100), mask);
      const rowsM = inflateRows(qrToPng(m, 1));
      assert.equal(((rowsM[4 + m.size - 8][(4 + 8) >>> 3] >>> (7 - ((4 + 8) & 7))) & 1) === 0, true, `mask ${mask}`);
    }
  });

  it('renders a PNG with 5 pixels per module and a 4-module border', () => {
    const qr = encodeQr(new Uint8Array(10));
    const png = qrToPng(qr);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.deepEqual(pngSize(png), { width: (21 + 8) * 5, height: (21 + 8) * 5 });
  });

  it('every mask and a range of versions decode back to the input', { skip: noZbar }, () => {
    for (const len of [1, 30, 120, 400, 1200, 2331]) {
      for (let mask = 0; mask < 8; mask++) {
        const text = Array.from({ length: len }, (_, i) => String.fromCharCode(0x21 + ((i * 7 + mask) % 90))).join('');
        writeFileSync(s.path('t.png'), qrToPng(encodeQr(new TextEncoder().encode(text), mask), 2));
        assert.equal(decodePng(s.path('t.png')), text, `len ${len} mask ${mask}`);
      }
    }
  });

  it('ca, sign and print -out-qr write a PNG of the PEM they wrote or read', { skip: noZbar }, async () => {
    assert.equal((await s.run('ca', '-name', 'Q', '-out-qr', 'ca.png')).code, 0);
    assert.equal(decodePng(s.path('ca.png')), readFileSync(s.path('ca.crt'), 'utf8'));
    assert.equal((await s.run('sign', '-name', 'h', '-ip', '10.0.0.1/8', '-out-qr', 'h.png')).code, 0);
    assert.equal(decodePng(s.path('h.png')), readFileSync(s.path('h.crt'), 'utf8'));
    writeFileSync(s.path('both.crt'), readFileSync(s.path('ca.crt'), 'utf8') + readFileSync(s.path('h.crt'), 'utf8'));
    assert.equal((await s.run('print', '-path', 'both.crt', '-out-qr', 'both.png')).code, 0);
    assert.equal(decodePng(s.path('both.png')), readFileSync(s.path('both.crt'), 'utf8'));
  });

  it('refuses to overwrite an existing -out-qr file and then writes nothing', async () => {
    writeFileSync(s.path('taken.png'), 'x');
    const before = s.files();
    const r = await s.run('ca', '-name', 'Q2', '-out-crt', 'q2.crt', '-out-key', 'q2.key', '-out-qr', 'taken.png');
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'Error: refusing to overwrite existing qr code: taken.png\n');
    assert.deepEqual(s.files(), before);
  });
});
