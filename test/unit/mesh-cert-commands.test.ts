import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { CaPool } from '../../pkg/cert/ca-pool.js';
import { parseCertificatesPem } from '../../pkg/cert/cert-pem.js';
import {
  certMatchesPrivateKey,
  parseEd25519PrivateKeyPem,
  parseX25519PrivateKeyPem,
  parseX25519PublicKeyPem,
} from '../../pkg/cert/keys.js';
import { formatCertificateJson, formatCertificateText } from '../../pkg/cert/print.js';
import { fingerprint } from '../../pkg/cert/signature.js';
import type { NebulaCertificate } from '../../pkg/cert/types.js';
import { formatNet } from '../../pkg/cert/net-text.js';
import { Scratch } from '../fixtures/cert/cli-harness.js';

function read(s: Scratch, name: string): string {
  return readFileSync(s.path(name), 'utf8');
}

function certIn(s: Scratch, name: string): NebulaCertificate {
  return parseCertificatesPem(read(s, name))[0];
}

function mode(s: Scratch, name: string): number {
  return statSync(s.path(name)).mode & 0o777;
}

describe('mesh-cert ca', () => {
  const s = new Scratch();
  after(() => s.remove());

  it('writes a self-signed CA valid for one year by default, with files readable only by the owner', async () => {
    const r = await s.run('ca', '-version', '1', '-name', 'Lab CA');
    assert.deepEqual(r, { code: 0, stdout: '', stderr: '' });
    const ca = certIn(s, 'ca.crt');
    assert.equal(ca.details.name, 'Lab CA');
    assert.equal(ca.details.isCA, true);
    assert.equal(ca.details.issuer, '');
    assert.ok(Math.abs(ca.details.notAfter - ca.details.notBefore - 8760 * 3600) <= 1);
    assert.ok(Math.abs(ca.details.notBefore - Date.now() / 1000) < 5);
    assert.ok(certMatchesPrivateKey(ca, parseEd25519PrivateKeyPem(read(s, 'ca.key'))));
    CaPool.fromPem(read(s, 'ca.crt'));
    assert.equal(mode(s, 'ca.key'), 0o600);
    assert.equal(mode(s, 'ca.crt'), 0o600);
  });

  it('stores constraints: groups trimmed, -ips as typed, -subnets as network addresses', async () => {
    const r = await s.run(
      'ca',
      '-version',
      '1',
      '-name',
      'C',
      '-duration',
      '1h30m',
      '-groups',
      ' ops, web,,',
      '-ips',
      '10.1.2.3/16, 192.168.0.0/24',
      '-subnets',
      '172.16.9.9/12',
      '-out-crt',
      'c.crt',
      '-out-key',
      'c.key',
    );
    assert.equal(r.code, 0, r.stderr);
    const d = certIn(s, 'c.crt').details;
    assert.deepEqual(d.groups, ['ops', 'web']);
    assert.deepEqual(d.ips.map(formatNet), ['10.1.2.3/16', '192.168.0.0/24']);
    assert.deepEqual(d.subnets.map(formatNet), ['172.16.0.0/12']);
    assert.equal(d.notAfter - d.notBefore, 5400);
  });

  it('accepts the Go "=" flag form and two-dash flags', async () => {
    const r = await s.run('ca', '-version', '1', '-name=Eq', '--out-crt=eq.crt', '-out-key', 'eq.key');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(certIn(s, 'eq.crt').details.name, 'Eq');
  });
});

describe('mesh-cert keygen and sign', () => {
  const s = new Scratch();
  let ca: NebulaCertificate;
  before(async () => {
    assert.equal(
      (
        await s.run(
          'ca',
          '-version',
          '1',
          '-name',
          'CA',
          '-groups',
          'a,b,c',
          '-ips',
          '10.0.0.0/8',
          '-subnets',
          '192.168.0.0/16',
        )
      ).code,
      0,
    );
    ca = certIn(s, 'ca.crt');
  });
  after(() => s.remove());

  it('keygen writes an X25519 key pair with owner-only permissions', async () => {
    const r = await s.run('keygen', '-out-key', 'k.key', '-out-pub', 'k.pub');
    assert.deepEqual(r, { code: 0, stdout: '', stderr: '' });
    const priv = parseX25519PrivateKeyPem(read(s, 'k.key'));
    const pub = parseX25519PublicKeyPem(read(s, 'k.pub'));
    assert.equal(priv.length, 32);
    assert.equal(pub.length, 32);
    assert.equal(mode(s, 'k.key'), 0o600);
  });

  it('sign writes <name>.crt and <name>.key signed by ca.crt, valid until 1 s before the CA expires', async () => {
    const r = await s.run(
      'sign',
      '-name',
      'host1',
      '-ip',
      '10.1.2.3/16',
      '-groups',
      'a, b',
      '-subnets',
      '192.168.5.77/24',
    );
    assert.deepEqual(r, { code: 0, stdout: '', stderr: '' });
    const host = certIn(s, 'host1.crt');
    assert.equal(host.details.name, 'host1');
    assert.deepEqual(host.details.ips.map(formatNet), ['10.1.2.3/16']);
    assert.deepEqual(host.details.subnets.map(formatNet), ['192.168.5.0/24']);
    assert.deepEqual(host.details.groups, ['a', 'b']);
    assert.equal(host.details.isCA, false);
    assert.equal(host.details.issuer, fingerprint(ca));
    assert.equal(host.details.notAfter, ca.details.notAfter - 1);
    assert.ok(certMatchesPrivateKey(host, parseX25519PrivateKeyPem(read(s, 'host1.key'))));
    assert.equal(mode(s, 'host1.key'), 0o600);
    CaPool.fromPem(read(s, 'ca.crt')).verify(host, Date.now() / 1000);
  });

  it('sign -duration sets the validity and -out-crt/-out-key choose the paths', async () => {
    const r = await s.run(
      'sign',
      '-name',
      'h2',
      '-ip',
      '10.9.0.1/24',
      '-duration',
      '24h',
      '-out-crt',
      'x.crt',
      '-out-key',
      'x.key',
    );
    assert.equal(r.code, 0, r.stderr);
    const d = certIn(s, 'x.crt').details;
    assert.equal(d.notAfter - d.notBefore, 86400);
    assert.ok(s.files().includes('x.key'));
  });

  it('sign with a non-positive -duration falls back to the CA expiry, as nebula-cert does', async () => {
    const r = await s.run('sign', '-name', 'h0', '-ip', '10.9.0.2/24', '-duration', '-1h');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(certIn(s, 'h0.crt').details.notAfter, ca.details.notAfter - 1);
  });

  it('sign -in-pub certifies an existing public key and writes no private key', async () => {
    await s.run('keygen', '-out-key', 'p.key', '-out-pub', 'p.pub');
    const before = s.files();
    const r = await s.run('sign', '-name', 'pubhost', '-ip', '10.7.7.7/8', '-in-pub', 'p.pub');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(s.files(), [...before, 'pubhost.crt'].sort());
    const host = certIn(s, 'pubhost.crt');
    assert.ok(certMatchesPrivateKey(host, parseX25519PrivateKeyPem(read(s, 'p.key'))));
  });

  it('sign reads the CA from -ca-crt/-ca-key', async () => {
    await s.run('ca', '-version', '1', '-name', 'Other', '-out-crt', 'o.crt', '-out-key', 'o.key');
    const r = await s.run('sign', '-ca-crt', 'o.crt', '-ca-key', 'o.key', '-name', 'oh', '-ip', '172.16.0.1/12');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(certIn(s, 'oh.crt').details.issuer, fingerprint(certIn(s, 'o.crt')));
  });
});

describe('mesh-cert print and verify', () => {
  const s = new Scratch();
  before(async () => {
    await s.run('ca', '-version', '1', '-name', 'CA');
    await s.run('ca', '-version', '1', '-name', 'CA2', '-out-crt', 'ca2.crt', '-out-key', 'ca2.key');
    await s.run('sign', '-name', 'h', '-ip', '10.0.0.1/24', '-groups', 'g');
  });
  after(() => s.remove());

  it('print shows every certificate in the file as text', async () => {
    const bundle = read(s, 'ca.crt') + read(s, 'h.crt');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(s.path('bundle.crt'), bundle);
    const r = await s.run('print', '-path', 'bundle.crt');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      parseCertificatesPem(bundle)
        .map((c) => formatCertificateText(c) + '\n')
        .join(''),
    );
  });

  it('print -json writes one JSON object per line with the fingerprint', async () => {
    const r = await s.run('print', '-json', '-path', 'h.crt');
    assert.equal(r.code, 0, r.stderr);
    const host = certIn(s, 'h.crt');
    assert.equal(r.stdout, formatCertificateJson(host) + '\n');
    assert.equal((JSON.parse(r.stdout) as { fingerprint: string }).fingerprint, fingerprint(host));
  });

  it('verify succeeds silently for a certificate of a CA in the bundle', async () => {
    assert.deepEqual(await s.run('verify', '-ca', 'ca.crt', '-crt', 'h.crt'), { code: 0, stdout: '', stderr: '' });
  });

  it('verify fails with Nebula’s reason for a certificate of another CA', async () => {
    const r = await s.run('verify', '-ca', 'ca2.crt', '-crt', 'h.crt');
    assert.deepEqual(r, { code: 1, stdout: '', stderr: 'Error: could not find ca for the certificate\n' });
  });
});

describe('mesh-cert global flags and help', () => {
  const s = new Scratch();
  after(() => s.remove());

  it('-version prints the package version', async () => {
    const r = await s.run('-version');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Version: \d+\.\d+\.\d+/);
  });

  it('-h lists the modes and exits 0', async () => {
    const r = await s.run('-h');
    assert.equal(r.code, 0);
    for (const m of ['ca', 'keygen', 'sign', 'print', 'verify'])
      assert.match(r.stdout, new RegExp(`\\n    ${m} <flags>`));
  });

  it('every subcommand answers -h with its Go-style flags and writes nothing', async () => {
    const expected: Record<string, string[]> = {
      ca: ['-name', '-duration', '-out-crt', '-out-key', '-out-qr', '-groups', '-ips', '-subnets'],
      keygen: ['-out-key', '-out-pub'],
      sign: [
        '-ca-crt',
        '-ca-key',
        '-name',
        '-ip',
        '-duration',
        '-in-pub',
        '-out-key',
        '-out-crt',
        '-out-qr',
        '-groups',
        '-subnets',
      ],
      print: ['-json', '-path', '-out-qr'],
      verify: ['-ca', '-crt'],
    };
    for (const [cmd, flags] of Object.entries(expected)) {
      for (const argv of [
        [cmd, '-h'],
        ['-h', cmd],
        [cmd, '-help'],
      ]) {
        const r = await s.run(...argv);
        assert.equal(r.code, 0, argv.join(' '));
        for (const f of flags) assert.match(r.stdout, new RegExp(`\\s${f}\\s`), `${cmd}: ${f}`);
      }
    }
    assert.deepEqual(s.files(), []);
  });
});
