// The TestMesh helper itself: an exception the pipeline throws is caught (by the node, or by the socket guards) and
// the node keeps serving, so without the helper's check a test would pass over it unnoticed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { guarded } from '../../pkg/log/escaped-errors.js';
import { TestMesh, underlayOf } from './helpers/mesh.js';

/** A TestMesh whose after-hooks the test runs itself, to see whether they fail. */
function meshWithHooks(): { mesh: TestMesh; runHooks: () => Promise<void> } {
  const hooks: Array<() => unknown> = [];
  const mesh = new TestMesh({ after: (fn) => void hooks.push(fn) });
  return {
    mesh,
    runHooks: async () => {
      for (const hook of hooks) await hook();
    },
  };
}

test('a TestMesh fails its test when the outside pipeline threw, though the node kept serving', async () => {
  const { mesh, runHooks } = meshWithHooks();
  const a = await mesh.node({ vpnIp: '10.99.0.1' });
  // Not a Buffer: the outside pipeline throws reading it; the node catches that and counts a drop.
  a.memUdp!.receive(null as unknown as Buffer, underlayOf('10.99.0.2'));
  assert.deepEqual(mesh.caughtExceptions(), ['10.99.0.1: drops{outside-exception}=1']);
  await assert.rejects(
    runHooks(),
    /exceptions were thrown while the mesh ran.*\n10\.99\.0\.1: drops\{outside-exception\}=1/s,
  );
});

test('a TestMesh fails its test when an exception escaped into a socket guard, unless the test expected it', async () => {
  const plain = meshWithHooks();
  await plain.mesh.node({ vpnIp: '10.99.0.1' });
  // What a socket's guard does with an exception its listener threw (pkg/log/escaped-errors.ts).
  guarded('udp', () => {
    throw new TypeError('listener bug');
  })();
  assert.equal(plain.mesh.escaped.length, 1);
  await assert.rejects(
    plain.runHooks(),
    /1 escaped into the sockets' guards; the first \(udp\): TypeError: listener bug/,
  );

  const expecting = meshWithHooks();
  expecting.mesh.expectEscapedErrors();
  const b = await expecting.mesh.node({ vpnIp: '10.99.0.1' });
  b.memUdp!.receive(null as unknown as Buffer, underlayOf('10.99.0.2'));
  guarded('tun', () => {
    throw new TypeError('listener bug');
  })();
  assert.equal(expecting.mesh.escaped.length, 1);
  await expecting.runHooks();
});

test('a TestMesh whose pipeline threw nothing passes, and stops its nodes', async () => {
  const { mesh, runHooks } = meshWithHooks();
  const a = await mesh.node({ vpnIp: '10.99.0.1' });
  await runHooks();
  assert.equal(mesh.escaped.length, 0);
  await a.stop(); // already stopped by the hook: stopping again is a no-op
});
