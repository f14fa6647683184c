// Bad input never writes anything: non-zero exit, exactly one `Error:` line on stderr naming the flag or file.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { certificateToPem } from '../../pkg/cert/cert-pem.js';
import { ED25519_PRIVATE_KEY_BANNER } from '../../pkg/cert/keys.js';
import { encodePem } from '../../pkg/cert/pem.js';
import { Scratch } from '../fixtures/cert/cli-harness.js';
import { DAY, makeCa } from '../fixtures/cert/make-certs.js';

async function assertRefused(s: Scratch, argv: string[], message: RegExp): Promise<void> {
  const before = s.files();
  const r = await s.run(...argv);
  const label = argv.join(' ');
  assert.notEqual(r.code, 0, `${label}: exit status`);
  assert.equal(r.stdout, '', `${label}: stdout`);
  assert.match(r.stderr, /^Error: [^\n]+\n$/, `${label}: one line: ${JSON.stringify(r.stderr)}`);
  assert.match(r.stderr, message, label);
  assert.deepEqual(s.files(), before, `${label}: files changed`);
}

describe('mesh-cert refuses bad input without writing anything', () => {
  const s = new Scratch();
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
          'a,b',
          '-ips',
          '10.0.0.0/8',
          '-subnets',
          '192.168.0.0/16',
        )
      ).code,
      0,
    );
    assert.equal(
      (await s.run('ca', '-version', '1', '-name', 'Other', '-out-crt', 'other.crt', '-out-key', 'other.key')).code,
      0,
    );
    assert.equal((await s.run('keygen', '-out-key', 'k.key', '-out-pub', 'k.pub')).code, 0);
    assert.equal((await s.run('sign', '-name', 'h', '-ip', '10.0.0.1/8')).code, 0);
    const now = Math.floor(Date.now() / 1000);
    const old = makeCa({ name: 'Old', notBefore: now - 10 * DAY, notAfter: now - DAY });
    writeFileSync(s.path('old.crt'), certificateToPem(old.cert));
    writeFileSync(s.path('old.key'), encodePem(ED25519_PRIVATE_KEY_BANNER, old.keys.privateKey));
    writeFileSync(s.path('junk.txt'), 'not a pem file\n');
  });
  after(() => s.remove());

  const cases: [string, string[], RegExp][] = [
    ['ca without -name', ['ca'], /-name is required/],
    ['ca with an empty -name', ['ca', '-name', ''], /-name is required/],
    [
      'ca with a zero -duration',
      ['ca', '-name', 'x', '-out-crt', 'n.crt', '-out-key', 'n.key', '-duration', '0s'],
      /-duration must be greater than 0/,
    ],
    [
      'ca with a negative -duration',
      ['ca', '-name', 'x', '-out-crt', 'n.crt', '-out-key', 'n.key', '-duration', '-1h'],
      /-duration must be greater than 0/,
    ],
    [
      'ca with a malformed -duration',
      ['ca', '-name', 'x', '-out-crt', 'n.crt', '-out-key', 'n.key', '-duration', '10 days'],
      /-duration/,
    ],
    [
      'ca -version 1 with a bad -ips entry',
      ['ca', '-version', '1', '-name', 'x', '-out-crt', 'n.crt', '-out-key', 'n.key', '-ips', '10.0.0.0/8,300.1.1.1/8'],
      /-ips "300\.1\.1\.1\/8"/,
    ],
    [
      'ca -version 1 with an IPv6 -subnets entry',
      ['ca', '-version', '1', '-name', 'x', '-out-crt', 'n.crt', '-out-key', 'n.key', '-subnets', 'fd00::/8'],
      /-subnets "fd00::\/8"/,
    ],
    // v2 by default (nebula-cert 1.10+): -ips and -subnets are read as -networks and -unsafe-networks.
    [
      'ca with a bad -ips entry',
      ['ca', '-name', 'x', '-out-crt', 'n.crt', '-out-key', 'n.key', '-ips', '10.0.0.0/8,300.1.1.1/8'],
      /^Error: invalid -networks definition: 300\.1\.1\.1\/8\n/,
    ],
    [
      'ca with a bad -subnets entry',
      ['ca', '-name', 'x', '-out-crt', 'n.crt', '-out-key', 'n.key', '-subnets', 'fd00::/129'],
      /^Error: invalid -unsafe-networks definition: fd00::\/129\n/,
    ],
    [
      'ca over an existing key',
      ['ca', '-name', 'x', '-out-crt', 'n.crt'],
      /refusing to overwrite existing CA key: ca\.key/,
    ],
    [
      'ca over an existing cert',
      ['ca', '-name', 'x', '-out-key', 'n.key'],
      /refusing to overwrite existing CA cert: ca\.crt/,
    ],
    ['ca with an unknown flag', ['ca', '-name', 'x', '-bogus', 'y'], /bogus/],
    [
      'ca with an unwritable output path',
      ['ca', '-name', 'x', '-out-crt', 'n.crt', '-out-key', 'nodir/n.key'],
      /-out-key nodir\/n\.key: no such file or directory/,
    ],
    ['keygen without -out-pub', ['keygen', '-out-key', 'n.key'], /-out-pub is required/],
    [
      'keygen over an existing key',
      ['keygen', '-out-key', 'k.key', '-out-pub', 'n.pub'],
      /refusing to overwrite existing key: k\.key/,
    ],
    ['sign without -name', ['sign', '-ip', '10.0.0.9/8'], /-name is required/],
    ['sign without -ip', ['sign', '-name', 'n'], /-ip is required/],
    ['sign with an -ip lacking a prefix', ['sign', '-name', 'n', '-ip', '10.0.0.9'], /-ip "10\.0\.0\.9"/],
    ['sign with an IPv6 -ip', ['sign', '-name', 'n', '-ip', 'fd00::1/64'], /-ip "fd00::1\/64"/],
    [
      'sign with a bad -subnets entry',
      ['sign', '-name', 'n', '-ip', '10.0.0.9/8', '-subnets', '192.168.1.0/33'],
      /-subnets "192\.168\.1\.0\/33"/,
    ],
    [
      'sign with an IP outside the CA -ips',
      ['sign', '-name', 'n', '-ip', '11.0.0.9/8'],
      /constraints violated: certificate contained an ip assignment outside the limitations of the signing ca: 11\.0\.0\.9\/8/,
    ],
    ['sign with a mask wider than the CA allows', ['sign', '-name', 'n', '-ip', '10.0.0.9/7'], /ip assignment outside/],
    [
      'sign with a group the CA does not allow',
      ['sign', '-name', 'n', '-ip', '10.0.0.9/8', '-groups', 'a,z'],
      /group not present on the signing ca: z/,
    ],
    [
      'sign with a subnet the CA does not allow',
      ['sign', '-name', 'n', '-ip', '10.0.0.9/8', '-subnets', '172.16.0.0/12'],
      /subnet assignment outside the limitations of the signing ca: 172\.16\.0\.0\/12/,
    ],
    ['sign with a malformed -duration', ['sign', '-name', 'n', '-ip', '10.0.0.9/8', '-duration', '5y'], /-duration/],
    [
      'sign with a missing -ca-key file',
      ['sign', '-name', 'n', '-ip', '10.0.0.9/8', '-ca-key', 'missing.key'],
      /-ca-key missing\.key: no such file or directory/,
    ],
    [
      'sign with a missing -ca-crt file',
      ['sign', '-name', 'n', '-ip', '10.0.0.9/8', '-ca-crt', 'missing.crt'],
      /-ca-crt missing\.crt: no such file or directory/,
    ],
    [
      'sign with a -ca-key that is not a key',
      ['sign', '-name', 'n', '-ip', '10.0.0.9/8', '-ca-key', 'ca.crt'],
      /-ca-key ca\.crt/,
    ],
    [
      'sign with a -ca-crt that is not a certificate',
      ['sign', '-name', 'n', '-ip', '10.0.0.9/8', '-ca-crt', 'junk.txt'],
      /-ca-crt junk\.txt/,
    ],
    [
      'sign with a -ca-crt that is not a CA',
      ['sign', '-name', 'n', '-ip', '10.0.0.9/8', '-ca-crt', 'h.crt'],
      /-ca-crt h\.crt is not a CA/,
    ],
    [
      'sign with a CA key that does not match the CA cert',
      ['sign', '-name', 'n', '-ip', '10.0.0.9/8', '-ca-key', 'other.key'],
      /root certificate does not match private key/,
    ],
    [
      'sign with an expired CA',
      ['sign', '-name', 'n', '-ip', '10.0.0.9/8', '-ca-crt', 'old.crt', '-ca-key', 'old.key'],
      /ca certificate is expired/,
    ],
    [
      'sign with both -in-pub and -out-key',
      ['sign', '-name', 'n', '-ip', '10.0.0.9/8', '-in-pub', 'k.pub', '-out-key', 'n.key'],
      /cannot set both -in-pub and -out-key/,
    ],
    [
      'sign with a missing -in-pub file',
      ['sign', '-name', 'n', '-ip', '10.0.0.9/8', '-in-pub', 'none.pub'],
      /-in-pub none\.pub: no such file/,
    ],
    [
      'sign with an -in-pub that holds a private key',
      ['sign', '-name', 'n', '-ip', '10.0.0.9/8', '-in-pub', 'k.key'],
      /-in-pub k\.key/,
    ],
    [
      'sign over an existing cert',
      ['sign', '-name', 'n', '-ip', '10.0.0.9/8', '-out-crt', 'h.crt'],
      /refusing to overwrite existing cert: h\.crt/,
    ],
    [
      'sign over an existing key',
      ['sign', '-name', 'n', '-ip', '10.0.0.9/8', '-out-key', 'h.key'],
      /refusing to overwrite existing key: h\.key/,
    ],
    ['print without -path', ['print'], /-path is required/],
    ['print of a missing file', ['print', '-path', 'nothing.crt'], /-path nothing\.crt: no such file/],
    ['print of a file that is not a certificate', ['print', '-path', 'ca.key'], /-path ca\.key/],
    ['print with a stray argument', ['print', '-path', 'h.crt', 'extra'], /extra/],
    ['verify without -crt', ['verify', '-ca', 'ca.crt'], /-crt is required/],
    ['verify with a missing -ca file', ['verify', '-ca', 'none.crt', '-crt', 'h.crt'], /-ca none\.crt: no such file/],
    ['verify with a host certificate as -ca', ['verify', '-ca', 'h.crt', '-crt', 'h.crt'], /certificate is not a CA/],
    [
      'verify with an expired CA in the bundle',
      ['verify', '-ca', 'old.crt', '-crt', 'h.crt'],
      /Old: certificate is expired/,
    ],
    ['an unknown mode', ['frobnicate'], /unknown mode: frobnicate/],
    ['no mode', [], /no mode was provided/],
    ['an unknown global flag', ['-x', 'ca'], /flag provided but not defined: -x/],
  ];
  for (const [what, argv, message] of cases) {
    it(`refuses ${what}`, () => assertRefused(s, argv, message));
  }
});
