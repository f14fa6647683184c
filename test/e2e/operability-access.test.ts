import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { test } from 'node:test';

import { defaultSocketPaths } from '../../pkg/control/socket-path.js';
import { Lab } from './lab/lab.js';
import { MESH_MAIN, meshImpl } from './lab/mesh-impl.js';
import { OverlayNet } from './lab/nebula.js';

// The control socket can close tunnels and reload the config, so only root (the daemon's user) may use it. Node
// cannot read SO_PEERCRED; the file system keeps others out: socket 0600 in a 0700 directory.

const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];

test('the control socket lets root in and refuses an unprivileged user', async (t) => {
  const lab = await Lab.create(t);
  const [h1] = await lab.flat(1);
  const net = await OverlayNet.create(lab);
  const one = await net.start(h1!, { name: 'one', impl: meshImpl, tunDisabled: true });
  const socket = defaultSocketPaths(one.configPath)[0];
  await one.waitForLog(new RegExp(`Control socket listening.*${socket.replace(/\./g, '\\.')}`), 5000);
  assert.equal(statSync(socket).mode & 0o777, 0o600);
  assert.equal(statSync(dirname(socket)).mode & 0o777, 0o700);
  assert.equal(statSync(socket).uid, 0);

  const root = await lab.exec(h1!, process.execPath, [MESH_MAIN, 'status', '-config', one.configPath, '-json'], {
    check: false,
  });
  assert.equal(root.exitCode, 0, root.stderr);

  // The CLI as nobody: refused with a sentence that says why.
  const cli = await lab.exec(h1!, 'setpriv', [...NOBODY, process.execPath, MESH_MAIN, 'status', '-socket', socket], {
    check: false,
  });
  assert.equal(cli.exitCode, 1);
  assert.match(cli.stderr, /permission denied on .*: the control socket is for root/);

  // A raw connect as nobody: the kernel refuses it.
  const probe = `require('net').connect(${JSON.stringify(socket)}).on('connect', () => { console.log('CONNECTED'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(3); });`;
  const raw = await lab.exec(h1!, 'setpriv', [...NOBODY, process.execPath, '-e', probe], { check: false });
  assert.equal(raw.stdout.trim(), 'EACCES');
  assert.equal(raw.exitCode, 3);

  await one.stop();
  assert.throws(() => statSync(socket), /ENOENT/, 'the daemon removes its socket when it stops');
});
