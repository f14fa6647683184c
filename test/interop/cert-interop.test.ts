// Certificates cross-checked with the reference implementation: /usr/bin/nebula-cert and /usr/bin/nebula 1.6.1.
// Both directions of signing and verifying, identical fingerprints and print output, identical refusal reasons
// for every verification rule, and `nebula -test` accepting a key and certificate made by mesh-cert.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { runMeshCert } from '../../cmd/mesh-cert/dispatch.js';
import { CaPool } from '../../pkg/cert/ca-pool.js';
import { certificateToPem, parseCertificatesPem } from '../../pkg/cert/cert-pem.js';
import { ED25519_PRIVATE_KEY_BANNER, X25519_PRIVATE_KEY_BANNER, generateX25519KeyPair } from '../../pkg/cert/keys.js';
import { encodePem } from '../../pkg/cert/pem.js';
import { formatCertificateJson } from '../../pkg/cert/print.js';
import { fingerprint, signCertificate } from '../../pkg/cert/signature.js';
import type { NebulaCertificate } from '../../pkg/cert/types.js';
import { DAY, hostDetails, makeCa, makeHost, type TestCa } from '../fixtures/cert/make-certs.js';

const NEBULA_CERT = '/usr/bin/nebula-cert';
const NEBULA = '/usr/bin/nebula';
// The shipped executable: the esbuild bundle `make build` writes.
const MESH_CERT_BIN = fileURLToPath(new URL('../../bin/mesh-cert.cjs', import.meta.url));
const skip = existsSync(NEBULA_CERT) ? false : `${NEBULA_CERT} is not installed (apt-get install nebula)`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function spawnTool(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Run {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, TZ: 'UTC', ...env },
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('certificate interop with nebula-cert 1.6.1', { skip }, () => {
  let dir = '';
  const nc = (...args: string[]): Run => spawnTool(NEBULA_CERT, args, dir);
  const mesh = async (...argv: string[]): Promise<Run> => {
    const r: Run = { code: -1, stdout: '', stderr: '' };
    r.code = await runMeshCert(argv, { stdout: (s) => (r.stdout += s), stderr: (s) => (r.stderr += s), cwd: dir });
    return r;
  };
  const file = (name: string): string => readFileSync(join(dir, name), 'utf8');
  const cert = (name: string): NebulaCertificate => parseCertificatesPem(file(name))[0];
  const write = (name: string, text: string): void => writeFileSync(join(dir, name), text, { mode: 0o600 });

  before(() => {
    dir = mkdtempSync(join(tmpdir(), `mesh-cert-interop-${process.pid}-`));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('nebula-cert verifies a CA and host certificate made by mesh-cert, and reports our fingerprint', async () => {
    assert.equal(
      (
        await mesh(
          'ca',
          '-version',
          '1',
          '-name',
          'Mesh CA',
          '-groups',
          'a,b',
          '-ips',
          '10.0.0.0/8',
          '-subnets',
          '192.168.0.0/16',
        )
      ).code,
      0,
    );
    const r = await mesh('sign', '-name', 'm1', '-ip', '10.1.2.3/16', '-groups', 'a', '-subnets', '192.168.7.0/24');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(nc('verify', '-ca', 'ca.crt', '-crt', 'm1.crt'), { code: 0, stdout: '', stderr: '' });
    for (const name of ['ca.crt', 'm1.crt']) {
      const printed = nc('print', '-json', '-path', name);
      assert.equal(printed.code, 0, printed.stderr);
      assert.equal(printed.stdout, formatCertificateJson(cert(name)) + '\n');
      assert.equal((JSON.parse(printed.stdout) as { fingerprint: string }).fingerprint, fingerprint(cert(name)));
    }
  });

  it('nebula-cert verifies a certificate mesh-cert signed for a public key from keygen (-in-pub)', async () => {
    assert.equal((await mesh('keygen', '-out-key', 'k.key', '-out-pub', 'k.pub')).code, 0);
    assert.equal((await mesh('sign', '-name', 'm2', '-ip', '10.2.0.1/16', '-in-pub', 'k.pub')).code, 0);
    assert.equal(nc('verify', '-ca', 'ca.crt', '-crt', 'm2.crt').code, 0);
  });

  it('mesh-cert verifies certificates made by nebula-cert, with the same fingerprint and print output', async () => {
    assert.equal(
      nc('ca', '-name', 'Go CA', '-groups', 'x,y', '-out-crt', 'go-ca.crt', '-out-key', 'go-ca.key').code,
      0,
    );
    const s = nc(
      'sign',
      '-ca-crt',
      'go-ca.crt',
      '-ca-key',
      'go-ca.key',
      '-name',
      'g1',
      '-ip',
      '10.5.0.1/24',
      '-groups',
      'x',
    );
    assert.equal(s.code, 0, s.stderr);
    assert.deepEqual(await mesh('verify', '-ca', 'go-ca.crt', '-crt', 'g1.crt'), { code: 0, stdout: '', stderr: '' });
    CaPool.fromPem(file('go-ca.crt')).verify(cert('g1.crt'), Date.now() / 1000);
    for (const name of ['go-ca.crt', 'g1.crt']) {
      assert.equal((await mesh('print', '-json', '-path', name)).stdout, nc('print', '-json', '-path', name).stdout);
      assert.equal((await mesh('print', '-path', name)).stdout, nc('print', '-path', name).stdout);
    }
  });

  it('each tool signs with the other tool’s CA and the other tool accepts the result', async () => {
    assert.equal(
      (await mesh('sign', '-ca-crt', 'go-ca.crt', '-ca-key', 'go-ca.key', '-name', 'x1', '-ip', '10.6.0.1/24')).code,
      0,
    );
    assert.equal(nc('verify', '-ca', 'go-ca.crt', '-crt', 'x1.crt').code, 0);
    assert.equal(
      nc('sign', '-ca-crt', 'ca.crt', '-ca-key', 'ca.key', '-name', 'x2', '-ip', '10.7.0.1/24', '-groups', 'b').code,
      0,
    );
    assert.equal((await mesh('verify', '-ca', 'ca.crt', '-crt', 'x2.crt')).code, 0);
  });

  it('every mode answers -h with nebula-cert’s help, flag for flag (the tool’s name aside), and exits 0', async () => {
    // Go's flag.PrintDefaults: "  -name type" then "    \tusage", flags sorted by name.
    const blocks = (help: string): string[] =>
      help
        .split(/\n(?= {2}-)/)
        .slice(1)
        .map((b) => b.trimEnd());
    for (const mode of ['ca', 'keygen', 'sign', 'print', 'verify']) {
      const theirs = nc(mode, '-h');
      const ours = await mesh(mode, '-h');
      assert.equal(theirs.code, 0);
      assert.equal(ours.code, 0);
      // nebula-cert prints help on stderr (Go's flag package does); mesh-cert has always printed it on stdout.
      const expected = theirs.stderr.replace(/(?:\/usr\/bin\/)?nebula-cert/g, 'mesh-cert');
      assert.equal(ours.stdout.split('\n')[0], expected.split('\n')[0], mode);
      // Every flag of nebula-cert 1.6.1 reads the same; flags of later Nebula releases may come in between.
      const ourBlocks = blocks(ours.stdout);
      for (const block of blocks(expected))
        assert.ok(ourBlocks.includes(block), `${mode}: ${JSON.stringify(block)} in\n${ours.stdout}`);
      const names = ourBlocks.map((b) => /^ {2}-(\S+)/.exec(b)?.[1] ?? '');
      assert.deepEqual(names, [...names].sort(), `${mode}: sorted as Go sorts`);
    }
    const topTheirs = nc('-h');
    const topOurs = await mesh('-h');
    assert.equal(
      topOurs.stdout.trimEnd(),
      (topTheirs.stdout + topTheirs.stderr).replace(/(?:\/usr\/bin\/)?nebula-cert/g, 'mesh-cert').trimEnd(),
    );
  });

  it('the mesh-cert executable runs as a program (shebang entry point) and ignores NODE_EXTRA_CA_CERTS', () => {
    assert.ok(
      readFileSync(MESH_CERT_BIN, 'utf8').startsWith(
        '#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS MALLOC_ARENA_MAX=1 node\n',
      ),
    );
    // node warns on stderr when it tries to load this file; the executable drops the variable before node starts.
    const r = spawnTool(MESH_CERT_BIN, ['verify', '-ca', 'go-ca.crt', '-crt', 'g1.crt'], dir, {
      NODE_EXTRA_CA_CERTS: join(dir, 'absent.pem'),
    });
    assert.deepEqual(r, { code: 0, stdout: '', stderr: '' });
  });

  describe('every verification rule is refused by both tools with the same reason', () => {
    const now = Math.floor(Date.now() / 1000);
    let ca: TestCa;
    before(() => {
      ca = makeCa({
        name: 'Rules CA',
        notBefore: now - 10 * DAY,
        notAfter: now + 10 * DAY,
        groups: ['g1', 'g2'],
        ips: ['10.0.0.0/16'],
        subnets: ['172.16.0.0/12'],
      });
      write('rules-ca.crt', certificateToPem(ca.cert));
    });

    const host = (o: Parameters<typeof makeHost>[1]) =>
      makeHost(ca, { ips: ['10.0.5.5/24'], notBefore: now - DAY, notAfter: now + DAY, ...o });
    const cases: [string, () => { ca: string; crt: NebulaCertificate }, string][] = [
      [
        'a certificate past NotAfter',
        () => ({ ca: 'rules-ca.crt', crt: host({ notAfter: now - 60 }) }),
        'certificate is expired',
      ],
      [
        'a certificate before NotBefore',
        () => ({ ca: 'rules-ca.crt', crt: host({ notBefore: now + 60 }) }),
        'certificate is expired',
      ],
      [
        'a tampered certificate',
        () => {
          const c = host({});
          return { ca: 'rules-ca.crt', crt: { ...c, details: { ...c.details, name: 'evil' } } };
        },
        'certificate signature did not match',
      ],
      [
        'a certificate of an unknown CA',
        () => ({ ca: 'rules-ca.crt', crt: makeHost(makeCa(), { notBefore: now - DAY, notAfter: now + DAY }) }),
        'could not find ca for the certificate',
      ],
      ['a CA certificate (no issuer)', () => ({ ca: 'rules-ca.crt', crt: ca.cert }), 'no issuer in certificate'],
      [
        'a group outside the CA groups',
        () => ({ ca: 'rules-ca.crt', crt: host({ groups: ['g1', 'nope'] }) }),
        'certificate contained a group not present on the signing ca: nope',
      ],
      [
        'an IP outside the CA networks',
        () => ({ ca: 'rules-ca.crt', crt: host({ ips: ['10.1.0.1/16'] }) }),
        'certificate contained an ip assignment outside the limitations of the signing ca: 10.1.0.1/16',
      ],
      [
        'an IP with a wider mask than the CA network',
        () => ({ ca: 'rules-ca.crt', crt: host({ ips: ['10.0.0.1/8'] }) }),
        'certificate contained an ip assignment outside the limitations of the signing ca: 10.0.0.1/8',
      ],
      [
        'a subnet outside the CA subnets',
        () => ({ ca: 'rules-ca.crt', crt: host({ subnets: ['10.9.0.0/16'] }) }),
        'certificate contained a subnet assignment outside the limitations of the signing ca: 10.9.0.0/16',
      ],
      [
        'a certificate outliving its CA',
        () => ({ ca: 'rules-ca.crt', crt: host({ notAfter: now + 11 * DAY }) }),
        'certificate expires after signing certificate',
      ],
      [
        'a certificate starting before its CA',
        () => ({ ca: 'rules-ca.crt', crt: host({ notBefore: now - 11 * DAY }) }),
        'certificate is valid before the signing certificate',
      ],
    ];
    cases.forEach(([what, make, reason], i) => {
      it(`refuses ${what}: "${reason}"`, async () => {
        const { ca: caFile, crt } = make();
        const name = `rule-${i}.crt`;
        write(name, certificateToPem(crt));
        const theirs = nc('verify', '-ca', caFile, '-crt', name);
        const ours = await mesh('verify', '-ca', caFile, '-crt', name);
        assert.equal(theirs.code, 1);
        assert.equal(theirs.stderr.split('\n')[0], `Error: ${reason}`);
        assert.equal(ours.code, 1);
        assert.equal(ours.stderr, `Error: ${reason}\n`);
      });
    });

    it('refuses a bundle holding an expired CA with the same reason', async () => {
      const old = makeCa({ name: 'Old CA', notBefore: now - 10 * DAY, notAfter: now - DAY });
      write('old-ca.crt', certificateToPem(old.cert) + file('rules-ca.crt'));
      write('fresh.crt', certificateToPem(host({})));
      const theirs = nc('verify', '-ca', 'old-ca.crt', '-crt', 'fresh.crt');
      const ours = await mesh('verify', '-ca', 'old-ca.crt', '-crt', 'fresh.crt');
      assert.equal(
        theirs.stderr.split('\n')[0],
        'Error: error while adding ca cert to pool: Old CA: certificate is expired',
      );
      assert.equal(ours.stderr, theirs.stderr.split('\n')[0] + '\n');
    });

    it('refuses a CA that is not self-signed with the same reason', async () => {
      const crossSigned = signCertificate(ca.cert.details, makeCa().keys.privateKey);
      write('cross-ca.crt', certificateToPem(crossSigned));
      const theirs = nc('verify', '-ca', 'cross-ca.crt', '-crt', 'fresh.crt');
      const ours = await mesh('verify', '-ca', 'cross-ca.crt', '-crt', 'fresh.crt');
      assert.equal(
        theirs.stderr.split('\n')[0],
        'Error: error while adding ca cert to pool: Rules CA: certificate is not self-signed',
      );
      assert.equal(ours.stderr, theirs.stderr.split('\n')[0] + '\n');
    });
  });

  describe(
    'nebula -test with a mesh-cert key and certificate',
    { skip: existsSync(NEBULA) ? false : `${NEBULA} is not installed` },
    () => {
      const config = (key: string, crt: string): string =>
        [
          'pki:',
          `  ca: ${join(dir, 'ca.crt')}`,
          `  cert: ${join(dir, crt)}`,
          `  key: ${join(dir, key)}`,
          'static_host_map: {}',
          'lighthouse:',
          '  am_lighthouse: false',
          'listen:',
          '  host: 127.0.0.1',
          '  port: 0',
          'tun:',
          '  disabled: true',
          'firewall:',
          '  outbound: [{port: any, proto: any, host: any}]',
          '  inbound: []',
          '',
        ].join('\n');

      it('accepts the pair (nebula checks X25519(key) equals the certificate key)', () => {
        write('good.yml', config('m1.key', 'm1.crt'));
        const r = spawnTool(NEBULA, ['-test', '-config', join(dir, 'good.yml')], dir);
        assert.equal(r.code, 0, r.stdout + r.stderr);
      });

      it('refuses a certificate with a key that is not its pair', () => {
        write('other.key', encodePem(X25519_PRIVATE_KEY_BANNER, generateX25519KeyPair().privateKey));
        write('bad.yml', config('other.key', 'm1.crt'));
        const r = spawnTool(NEBULA, ['-test', '-config', join(dir, 'bad.yml')], dir);
        assert.notEqual(r.code, 0);
        assert.match(r.stdout + r.stderr, /private key is not a pair with public key in nebula cert/);
      });

      it('accepts a TypeScript-signed certificate under a TypeScript CA written as files', () => {
        const tsCa = makeCa({
          notBefore: Math.floor(Date.now() / 1000) - DAY,
          notAfter: Math.floor(Date.now() / 1000) + DAY,
        });
        const keys = generateX25519KeyPair();
        const tsHost = signCertificate(
          hostDetails(tsCa, {
            publicKey: keys.publicKey,
            notBefore: tsCa.cert.details.notBefore,
            notAfter: tsCa.cert.details.notAfter,
          }),
          tsCa.keys.privateKey,
        );
        write('ts-ca.crt', certificateToPem(tsCa.cert));
        write('ts-ca.key', encodePem(ED25519_PRIVATE_KEY_BANNER, tsCa.keys.privateKey));
        write('ts.crt', certificateToPem(tsHost));
        write('ts.key', encodePem(X25519_PRIVATE_KEY_BANNER, keys.privateKey));
        write('ts.yml', config('ts.key', 'ts.crt').replace(join(dir, 'ca.crt'), join(dir, 'ts-ca.crt')));
        assert.equal(nc('verify', '-ca', 'ts-ca.crt', '-crt', 'ts.crt').code, 0);
        const r = spawnTool(NEBULA, ['-test', '-config', join(dir, 'ts.yml')], dir);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        // and nebula-cert can sign with a CA key written by TypeScript
        assert.equal(
          nc('sign', '-ca-crt', 'ts-ca.crt', '-ca-key', 'ts-ca.key', '-name', 'y', '-ip', '10.1.0.9/16').code,
          0,
        );
      });
    },
  );
});
