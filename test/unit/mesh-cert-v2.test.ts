// mesh-cert with v2 certificates (nebula-cert 1.10's -version, -networks, -unsafe-networks, print and verify of
// mixed bundles). `ca` makes v2 unless told `-version 1`, as nebula-cert 1.10+ does; `sign` follows the CA.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import {
  anyFingerprint,
  CaPool,
  certificateView,
  Curve,
  isCertificateV2,
  parseAnyCertificatesPem,
  parseEd25519PrivateKeyPem,
  type AnyCertificate,
} from '../../pkg/cert/index.js';
import { formatIpPrefix } from '../../pkg/ip/prefix.js';
import { Scratch } from '../fixtures/cert/cli-harness.js';

describe('mesh-cert with v2 certificates', () => {
  const s = new Scratch();
  const read = (name: string): string => readFileSync(s.path(name), 'utf8');
  const cert = (name: string): AnyCertificate => parseAnyCertificatesPem(read(name))[0];
  const nets = (c: AnyCertificate): string[] => certificateView(c).networks.map(formatIpPrefix);
  const ok = async (...argv: string[]) => {
    const r = await s.run(...argv);
    assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
    return r;
  };

  before(async () => {
    await ok('ca', '-version', '1', '-name', 'v1 CA', '-out-crt', 'ca1.crt', '-out-key', 'ca1.key');
    await ok(
      'ca',
      '-version',
      '2',
      '-name',
      'v2 CA',
      '-groups',
      'web, db',
      '-networks',
      '10.0.0.0/8, fd00::/8',
      '-unsafe-networks',
      '192.168.0.0/16',
      '-out-crt',
      'ca2.crt',
      '-out-key',
      'ca2.key',
    );
  });
  after(() => s.remove());

  it('ca -version 1 writes a v1 CA and -version 2 a v2 CA with its constraints', () => {
    assert.match(read('ca1.crt'), /^-----BEGIN NEBULA CERTIFICATE-----\n/);
    assert.match(read('ca2.crt'), /^-----BEGIN NEBULA CERTIFICATE V2-----\n/);
    const ca = cert('ca2.crt');
    assert.ok(isCertificateV2(ca) && ca.details.isCA && ca.details.issuer === '');
    assert.deepEqual(nets(ca), ['10.0.0.0/8', 'fd00::/8']);
    assert.deepEqual(certificateView(ca).unsafeNetworks.map(formatIpPrefix), ['192.168.0.0/16']);
    assert.deepEqual(ca.details.groups, ['web', 'db']);
    assert.match(read('ca2.key'), /^-----BEGIN NEBULA ED25519 PRIVATE KEY-----\n/);
    assert.equal(parseEd25519PrivateKeyPem(read('ca2.key')).length, 64);
    CaPool.fromPem(read('ca2.crt'), Date.now() / 1000, { v2: 'load' });
  });

  it('ca refuses IPv6 in a v1 CA, an unknown version and a zero network, each with one error line', async () => {
    const cases: [string[], string][] = [
      [
        ['-version', '1', '-networks', 'fd00::/8'],
        'Error: invalid -networks definition: v1 certificates can only be ipv4, have fd00::/8\n',
      ],
      [['-version', '3'], 'Error: -version must be either 1 or 2\n'],
      [['-version', 'two'], 'Error: invalid value "two" for flag -version: parse error\n'],
      [['-version', '2', '-networks', '10.0.0.0/33'], 'Error: invalid -networks definition: 10.0.0.0/33\n'],
      [
        ['-version', '2', '-networks', '0.0.0.0/0'],
        'Error: error while signing: non-CA certificates must not use the zero address as a network: 0.0.0.0/0\n',
      ],
    ];
    for (const [flags, stderr] of cases) {
      const r = await s.run('ca', '-name', 'x', '-out-crt', 'x.crt', '-out-key', 'x.key', ...flags);
      assert.deepEqual(r, { code: 1, stdout: '', stderr }, flags.join(' '));
    }
    assert.ok(!s.files().includes('x.crt'));
  });

  it("ca with no -version makes a v2 CA, as nebula-cert 1.10+ does, and sign follows it (the quickstart's -ip form)", async () => {
    await ok('ca', '-name', 'default CA', '-out-crt', 'cad.crt', '-out-key', 'cad.key');
    assert.match(read('cad.crt'), /^-----BEGIN NEBULA CERTIFICATE V2-----\n/);
    const ca = cert('cad.crt');
    assert.ok(isCertificateV2(ca) && ca.curve === Curve.CURVE25519 && ca.details.isCA);
    await ok(
      'sign',
      '-ca-crt',
      'cad.crt',
      '-ca-key',
      'cad.key',
      '-name',
      'hd',
      '-ip',
      '10.3.0.1/16',
      '-groups',
      'admin',
    );
    const host = cert('hd.crt');
    assert.ok(isCertificateV2(host));
    assert.deepEqual(nets(host), ['10.3.0.1/16']);
    assert.equal(host.details.issuer, anyFingerprint(ca));
    assert.deepEqual(await s.run('verify', '-ca', 'cad.crt', '-crt', 'hd.crt'), { code: 0, stdout: '', stderr: '' });
    // -version 1 under it still makes the v1 form, for a host that must talk to Nebula < 1.10.
    await ok('sign', '-ca-crt', 'cad.crt', '-ca-key', 'cad.key', '-name', 'hd1', '-version', '1', '-ip', '10.3.0.2/16');
    assert.match(read('hd1.crt'), /^-----BEGIN NEBULA CERTIFICATE-----\n/);
  });

  it('ca -h and sign -h read as nebula-cert 1.10+ (ca: default 2; sign: follows the CA)', async () => {
    assert.ok(
      (await ok('ca', '-h')).stdout.includes(
        '\n  -version uint\n    \tOptional: version of the certificate format to use (default 2)\n',
      ),
    );
    assert.ok(
      (await ok('sign', '-h')).stdout.includes(
        '\n  -version uint\n    \tOptional: version of the certificate format to use. The default is to match the version of the signing CA\n',
      ),
    );
  });

  it('sign follows a v2 CA: v4 and v6 networks, unsafe networks, groups; verify and print agree', async () => {
    await ok(
      'sign',
      '-ca-crt',
      'ca2.crt',
      '-ca-key',
      'ca2.key',
      '-name',
      'h2',
      '-networks',
      'fd00::5/64, 10.1.0.5/16',
      '-unsafe-networks',
      '192.168.7.0/24',
      '-groups',
      'web',
    );
    const h = cert('h2.crt');
    assert.ok(isCertificateV2(h));
    assert.deepEqual(nets(h), ['10.1.0.5/16', 'fd00::5/64']);
    assert.equal(h.details.issuer, anyFingerprint(cert('ca2.crt')));
    assert.deepEqual(await s.run('verify', '-ca', 'ca2.crt', '-crt', 'h2.crt'), { code: 0, stdout: '', stderr: '' });

    const json = JSON.parse((await ok('print', '-json', '-path', 'h2.crt')).stdout) as Array<Record<string, unknown>>;
    assert.equal(json.length, 1);
    assert.equal(json[0].version, 2);
    assert.equal(json[0].curve, 'CURVE25519');
    assert.equal(json[0].fingerprint, anyFingerprint(h));
    assert.deepEqual((json[0].details as { networks: string[] }).networks, ['10.1.0.5/16', 'fd00::5/64']);
    const text = (await ok('print', '-path', 'h2.crt')).stdout;
    assert.match(text, /^\{\n\t"curve": "CURVE25519",\n\t"details": \{\n\t\t"groups": \[\n\t\t\t"web"\n\t\t\],/);
    assert.deepEqual(JSON.parse(text), json[0]);
  });

  it('sign crosses versions: -version 1 under a v2 CA, -version 2 under a v1 CA; both verify', async () => {
    await ok(
      'sign',
      '-ca-crt',
      'ca2.crt',
      '-ca-key',
      'ca2.key',
      '-name',
      'h1of2',
      '-version',
      '1',
      '-networks',
      '10.2.0.1/16',
    );
    assert.match(read('h1of2.crt'), /^-----BEGIN NEBULA CERTIFICATE-----\n/);
    assert.equal(cert('h1of2.crt').details.issuer, anyFingerprint(cert('ca2.crt')));
    assert.equal((await s.run('verify', '-ca', 'ca2.crt', '-crt', 'h1of2.crt')).code, 0);

    await ok(
      'sign',
      '-ca-crt',
      'ca1.crt',
      '-ca-key',
      'ca1.key',
      '-name',
      'h2of1',
      '-version',
      '2',
      '-ip',
      '10.3.0.1/16',
    );
    assert.ok(isCertificateV2(cert('h2of1.crt')));
    assert.equal((await s.run('verify', '-ca', 'ca1.crt', '-crt', 'h2of1.crt')).code, 0);

    const r = await s.run(
      'sign',
      '-ca-crt',
      'ca2.crt',
      '-ca-key',
      'ca2.key',
      '-name',
      'bad',
      '-version',
      '1',
      '-networks',
      'fd00::9/64',
    );
    assert.deepEqual(r, {
      code: 1,
      stdout: '',
      stderr: 'Error: invalid -networks definition: v1 certificates can only have a single ipv4 address\n',
    });
  });

  it("sign refuses a network outside a v2 CA's networks, in 1.10's words", async () => {
    const r = await s.run(
      'sign',
      '-ca-crt',
      'ca2.crt',
      '-ca-key',
      'ca2.key',
      '-name',
      'out',
      '-networks',
      '172.16.0.1/24',
    );
    assert.deepEqual(r, {
      code: 1,
      stdout: '',
      stderr:
        'Error: refusing to sign, root certificate constraints violated: certificate contained a network assignment outside the limitations of the signing ca: 172.16.0.1/24\n',
    });
    const v1 = await s.run(
      'sign',
      '-ca-crt',
      'ca2.crt',
      '-ca-key',
      'ca2.key',
      '-name',
      'out1',
      '-version',
      '1',
      '-networks',
      '172.16.0.1/24',
    );
    assert.match(
      v1.stderr,
      /^Error: refusing to sign, root certificate constraints violated: certificate contained a network assignment outside/,
    );
    assert.equal(v1.code, 1);
    const wrongKey = await s.run(
      'sign',
      '-ca-crt',
      'ca2.crt',
      '-ca-key',
      'ca1.key',
      '-name',
      'k',
      '-networks',
      '10.0.0.9/8',
    );
    assert.equal(wrongKey.stderr, 'Error: refusing to sign, root certificate does not match private key\n');
  });

  it('verify checks every certificate of mixed v1/v2 bundles and names each failure', async () => {
    await ok('sign', '-ca-crt', 'ca1.crt', '-ca-key', 'ca1.key', '-name', 'h1', '-ip', '10.4.0.1/16');
    writeFileSync(s.path('cas.crt'), read('ca1.crt') + read('ca2.crt'));
    writeFileSync(s.path('hosts.crt'), read('h1.crt') + read('h2.crt') + read('h1of2.crt') + read('h2of1.crt'));
    assert.deepEqual(await s.run('verify', '-ca', 'cas.crt', '-crt', 'hosts.crt'), { code: 0, stdout: '', stderr: '' });

    const r = await s.run('verify', '-ca', 'ca1.crt', '-crt', 'hosts.crt');
    const fp2 = anyFingerprint(cert('ca2.crt'));
    assert.deepEqual(r, {
      code: 1,
      stdout: '',
      stderr:
        `Error: error while verifying certificate v2 h2 with issuer ${fp2}: could not find ca for the certificate\n` +
        `error while verifying certificate v1 h1of2 with issuer ${fp2}: could not find ca for the certificate\n`,
    });

    const printed = JSON.parse((await ok('print', '-json', '-path', 'hosts.crt')).stdout) as Array<{
      version: number;
      details: Record<string, unknown>;
    }>;
    assert.deepEqual(
      printed.map((c) => c.version),
      [1, 2, 1, 2],
    );
    assert.equal(
      (printed[0].details as { curve: string }).curve,
      'CURVE25519',
      "a v1 certificate in 1.10's shape keeps its curve in the details",
    );
  });

  it('P-256: ca -curve P256 (v2 only), sign follows the CA curve, keygen -curve P256 for -in-pub; verify and print agree', async () => {
    await ok('ca', '-version', '2', '-curve', 'P256', '-name', 'P CA', '-out-crt', 'p.crt', '-out-key', 'p.key');
    const ca = cert('p.crt');
    assert.ok(isCertificateV2(ca) && ca.curve === Curve.P256 && ca.publicKey.length === 65);
    assert.match(read('p.key'), /^-----BEGIN NEBULA ECDSA P256 PRIVATE KEY-----\n/);
    await ok('sign', '-ca-crt', 'p.crt', '-ca-key', 'p.key', '-name', 'ph', '-networks', '10.5.0.1/16');
    const host = cert('ph.crt');
    assert.ok(isCertificateV2(host) && host.curve === Curve.P256 && host.publicKey.length === 65);
    assert.match(read('ph.key'), /^-----BEGIN NEBULA P256 PRIVATE KEY-----\n/);
    assert.equal((await s.run('verify', '-ca', 'p.crt', '-crt', 'ph.crt')).code, 0);
    const printed = JSON.parse((await ok('print', '-json', '-path', 'ph.crt')).stdout) as Array<{ curve: string }>;
    assert.equal(printed[0].curve, 'P256');

    await ok('keygen', '-curve', 'P256', '-out-key', 'k.key', '-out-pub', 'k.pub');
    assert.match(read('k.pub'), /^-----BEGIN NEBULA P256 PUBLIC KEY-----\n/);
    await ok(
      'sign',
      '-ca-crt',
      'p.crt',
      '-ca-key',
      'p.key',
      '-name',
      'pk',
      '-networks',
      '10.5.0.2/16',
      '-in-pub',
      'k.pub',
    );
    assert.ok(!s.files().includes('pk.key'));

    const refusals: [string[], string][] = [
      [
        [
          'sign',
          '-ca-crt',
          'ca2.crt',
          '-ca-key',
          'ca2.key',
          '-name',
          'x1',
          '-networks',
          '10.0.0.7/8',
          '-in-pub',
          'k.pub',
        ],
        'Error: curve of in-pub does not match ca\n',
      ],
      [
        ['sign', '-ca-crt', 'p.crt', '-ca-key', 'p.key', '-name', 'x2', '-version', '1', '-networks', '10.5.0.3/16'],
        'Error: -version 1 needs a Curve25519 CA in mesh-cert\n',
      ],
      [
        ['sign', '-ca-crt', 'p.crt', '-ca-key', 'ca2.key', '-name', 'x3', '-networks', '10.5.0.4/16'],
        'Error: refusing to sign, root certificate does not match private key\n',
      ],
      [
        ['ca', '-version', '1', '-name', 'x4', '-curve', 'P256', '-out-crt', 'x4.crt', '-out-key', 'x4.key'],
        'Error: -curve P256 needs -version 2 in mesh-cert\n',
      ],
      [
        ['ca', '-name', 'x5', '-version', '2', '-curve', 'P384', '-out-crt', 'x5.crt', '-out-key', 'x5.key'],
        'Error: invalid curve: P384\n',
      ],
    ];
    for (const [argv, stderr] of refusals)
      assert.deepEqual(await s.run(...argv), { code: 1, stdout: '', stderr }, argv.join(' '));
  });

  it('a v1-only file still prints one 1.6.1 JSON object per line', async () => {
    const out = (await ok('print', '-json', '-path', 'h1.crt')).stdout;
    assert.equal(out.split('\n').length, 2);
    assert.ok('ips' in (JSON.parse(out) as { details: object }).details);
  });
});
