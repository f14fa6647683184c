import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

// examples/mesh.service: what an operator copies into /etc/systemd/system.

const unitPath = fileURLToPath(new URL('../../../examples/mesh.service', import.meta.url));

function directives(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const s = /^\[(\w+)\]$/.exec(line);
    if (s) {
      section = s[1];
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(eq > 0, `not a directive: ${line}`);
    const key = `${section}.${line.slice(0, eq)}`;
    out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
  }
  return out;
}

describe('systemd unit example', () => {
  const unit = directives(readFileSync(unitPath, 'utf8'));

  it('reloads with SIGHUP to the main process', () => {
    assert.deepEqual(unit.get('Service.ExecReload'), ['/bin/kill -HUP $MAINPID']);
  });

  it('restarts on failure only, and checks the config before starting', () => {
    assert.deepEqual(unit.get('Service.Restart'), ['on-failure']);
    assert.match(unit.get('Service.ExecStartPre')?.[0] ?? '', /mesh -config \S+ -test$/);
    assert.match(unit.get('Service.ExecStart')?.[0] ?? '', /mesh -config \S+$/);
  });

  it('keeps the shared control socket directory private and alive across units', () => {
    assert.deepEqual(unit.get('Service.RuntimeDirectory'), ['mesh']);
    assert.deepEqual(unit.get('Service.RuntimeDirectoryMode'), ['0700']);
    assert.deepEqual(unit.get('Service.RuntimeDirectoryPreserve'), ['yes']);
  });

  it('is enabled for the normal multi-user boot', () => {
    assert.deepEqual(unit.get('Install.WantedBy'), ['multi-user.target']);
  });
});
