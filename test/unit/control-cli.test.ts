import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runMesh } from '../../cmd/mesh/dispatch.js';
import { ControlError, ControlErrorCode, type ControlRequest } from '../../pkg/control/protocol.js';
import type { PingReply, StatusReport } from '../../pkg/control/reports.js';
import { ControlServer } from '../../pkg/control/server.js';

// The `mesh` client subcommands run in-process against a control server whose handler plays the daemon.

async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runInterrupted(() => false, ...argv);
}

/** Runs `mesh` with a Ctrl-C delivered once `when(stdout)` says so (checked on every write and every 20 ms). */
async function runInterrupted(
  when: (stdout: string) => boolean,
  ...argv: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  let stop: (() => void) | null = null;
  const check = (): void => {
    if (stop && when(stdout)) {
      const s = stop;
      stop = null;
      s();
    }
  };
  const poll = setInterval(check, 20);
  try {
    const code = await runMesh(argv, {
      stdout: (s) => {
        stdout += s;
        check();
      },
      stderr: (s) => (stderr += s),
      onInterrupt: (fn) => {
        stop = fn;
        return () => (stop = null);
      },
    });
    return { code, stdout, stderr };
  } finally {
    clearInterval(poll);
  }
}

const STATUS: StatusReport = {
  self: {
    name: 'one',
    vpnIp: '10.99.0.1',
    vpnCidr: '10.99.0.1/24',
    listenPort: 4242,
    addresses: ['192.168.7.2:4242'],
    lighthouse: false,
    relay: false,
    certExpiresAt: '2099-01-01T00:00:00Z',
    fingerprint: 'cd',
  },
  peers: [
    {
      name: 'two',
      vpnIp: '10.99.0.2',
      remote: '192.168.7.3:4242',
      path: 'direct',
      via: null,
      rttMs: 0.5,
      handshakeAt: new Date().toISOString(),
      lastRecvAgoMs: 10,
      bytesIn: 10,
      bytesOut: 20,
      packetsIn: 1,
      packetsOut: 2,
      certExpiresAt: '2099-01-01T00:00:00Z',
      fingerprint: 'ab',
      initiator: true,
      localIndex: 1,
      remoteIndex: 2,
    },
  ],
  pending: [],
  lighthouses: [],
};

const dir = mkdtempSync(join(tmpdir(), `control-cli-${process.pid}-`));
const socket = join(dir, 'run', 'ctl.sock');
const requests: ControlRequest[] = [];
let pingReplies: Array<PingReply | 'timeout' | 'unknown' | 'slow'> = [];
let server: ControlServer;

before(async () => {
  server = await ControlServer.open([socket], async (req) => {
    requests.push(req);
    if (req.command === 'status') return STATUS;
    if (req.command === 'reload')
      throw new ControlError(
        ControlErrorCode.reloadFailed,
        'reload refused, the running config stays: firewall.inbound[0].port: bad',
      );
    if (req.command === 'close-tunnel')
      throw new ControlError(ControlErrorCode.noHost, `no tunnel to ${String(req.args.host)}`);
    if (req.command === 'ping') {
      const next = pingReplies.shift();
      if (next === 'timeout' || next === undefined)
        throw new ControlError(ControlErrorCode.timeout, 'no reply within 5 ms');
      if (next === 'slow') await new Promise((r) => setTimeout(r, 3000));
      if (next === 'unknown' || next === 'slow')
        throw new ControlError(ControlErrorCode.noHost, `no host named ${String(req.args.host)}`);
      return next;
    }
    return null;
  });
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('mesh command line', () => {
  it('prints usage with every command when run without arguments, and exits 1', async () => {
    const r = await run();
    assert.equal(r.code, 1);
    for (const c of ['status', 'ping', 'netcheck', 'reload', 'print-cert', 'close-tunnel'])
      assert.match(r.stderr, new RegExp(`\\n  ${c} `));
  });

  it('refuses an unknown command and an unknown flag in one line each', async () => {
    const a = await run('frobnicate');
    assert.equal(a.code, 1);
    assert.match(a.stderr, /^mesh: unknown command "frobnicate"/);
    const b = await run('status', '-socket', socket, '-bogus');
    assert.equal(b.code, 1);
    assert.equal(b.stderr, "mesh: flag provided but not defined: -bogus (see 'mesh status -h')\n");
  });

  it('keeps -version working', async () => {
    const r = await run('-version');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Version: \d+\.\d+\.\d+/);
  });

  it('prints help for a subcommand with its flags', async () => {
    const r = await run('ping', '-h');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: mesh ping \[flags\] HOST/);
    assert.match(r.stdout, /-config PATH/);
    assert.match(r.stdout, /-c COUNT/);
    assert.match(r.stdout, /-i INTERVAL/);
    assert.match(r.stdout, /-W TIMEOUT/);
  });

  it("status prints the peer table, or the daemon's JSON with -json", async () => {
    const text = await run('status', '-socket', socket);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /two\s+10\.99\.0\.2\s+direct\s+192\.168\.7\.3:4242\s+0\.50ms/);
    const json = await run('status', '-socket', socket, '-json');
    assert.deepEqual(JSON.parse(json.stdout), STATUS);
  });

  it('status passes the probe wait to the daemon, and 0 turns probing off', async () => {
    requests.length = 0;
    await run('status', '-socket', socket, '-probe', '0');
    await run('status', '-socket', socket, '-probe', '1s');
    assert.deepEqual(
      requests.map((r) => r.args.probeMs),
      [0, 1000],
    );
  });

  it('ping prints each reply, says when the path goes from relayed to direct, and sums up as ping(8) does', async () => {
    const relayed: PingReply = {
      vpnIp: '10.99.0.2',
      name: 'two',
      rttMs: 4,
      path: 'relayed',
      remote: null,
      via: '10.99.0.9',
    };
    const direct: PingReply = { ...relayed, rttMs: 1, path: 'direct', remote: '192.168.7.3:4242', via: null };
    pingReplies = [relayed, 'timeout', direct];
    const r = await run('ping', '-socket', socket, '-count', '3', '-interval', '2ms', 'two');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.deepEqual(lines.slice(0, 6), [
      'reply from two (10.99.0.2): seq=1 rtt=4.00ms path=relayed via 10.99.0.9',
      'no reply: seq=2 no reply within 5 ms',
      'path changed: relayed via 10.99.0.9 -> direct 192.168.7.3:4242',
      'reply from two (10.99.0.2): seq=3 rtt=1.00ms path=direct 192.168.7.3:4242',
      '--- two (10.99.0.2) ping statistics ---',
      lines[5],
    ]);
    assert.match(lines[5], /^3 packets transmitted, 2 received, 33\.3333% packet loss, time \d+ms$/);
    assert.equal(lines[6], 'rtt min/avg/max/mdev = 1.000/2.500/4.000/1.500 ms');
  });

  it("ping takes ping(8)'s -c, -i (seconds) and -W (seconds) before or after HOST", async () => {
    const reply: PingReply = {
      vpnIp: '10.99.0.2',
      name: 'two',
      rttMs: 1,
      path: 'direct',
      remote: '192.168.7.3:4242',
      via: null,
    };
    for (const argv of [
      ['-c', '3', '-i', '0.002', '-W', '0.5', 'two'],
      ['two', '-c', '3', '-i', '0.002', '-W', '0.5'],
      ['-c', '3', 'two', '-W', '500ms', '-i=2ms'],
    ]) {
      requests.length = 0;
      pingReplies = [reply, reply, reply];
      const r = await run('ping', '-socket', socket, ...argv);
      assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
      assert.deepEqual(
        requests.map((q) => q.args),
        [1, 2, 3].map(() => ({ host: 'two', timeoutMs: 500 })),
        argv.join(' '),
      );
      assert.match(r.stdout, /3 packets transmitted, 3 received, 0% packet loss/);
    }
  });

  it('ping waits -i seconds between probes', async () => {
    pingReplies = [];
    const started = Date.now();
    const r = await run('ping', '-socket', socket, '-c', '3', '-i', '0.15', '10.99.0.7');
    assert.equal(r.code, 1);
    assert.ok(Date.now() - started >= 300, `two waits of 150 ms, took ${Date.now() - started} ms`);
  });

  it(
    'ping stops at Ctrl-C, between probes or while awaiting a reply, and still sums up',
    { timeout: 10_000 },
    async () => {
      const reply: PingReply = {
        vpnIp: '10.99.0.2',
        name: 'two',
        rttMs: 1,
        path: 'direct',
        remote: '192.168.7.3:4242',
        via: null,
      };
      pingReplies = [reply, reply, reply, reply];
      const between = await runInterrupted(
        (out) => out.includes('seq=2'),
        'ping',
        '-socket',
        socket,
        '-c',
        '100',
        '-i',
        '0.5',
        'two',
      );
      assert.equal(between.code, 0, between.stderr);
      assert.match(between.stdout, /\n2 packets transmitted, 2 received, 0% packet loss/);
      pingReplies = ['slow'];
      const t0 = Date.now();
      const awaiting = await runInterrupted(
        () => Date.now() - t0 > 100,
        'ping',
        '-socket',
        socket,
        '-c',
        '3',
        '-W',
        '10',
        'two',
      );
      assert.equal(awaiting.code, 1, awaiting.stderr);
      assert.match(
        awaiting.stdout,
        /^--- two ping statistics ---\n1 packets transmitted, 0 received, 100% packet loss/,
      );
      // Measured from the second run's start alone: the first run's half-second interval is not this bound's business,
      // and 2.5 s still tells a stop at Ctrl-C (~100 ms) from a wait for the slow reply (3 s).
      assert.ok(Date.now() - t0 < 2500, `stopped at once, took ${Date.now() - t0} ms`);
    },
  );

  it('ping exits 1 when nothing answers, with the summary', async () => {
    pingReplies = [];
    const r = await run('ping', '-socket', socket, '-c', '2', '-i', '0.002', '10.99.0.7');
    assert.equal(r.code, 1);
    assert.match(r.stdout, /\n2 packets transmitted, 0 received, 100% packet loss, time \d+ms\n$/);
  });

  it('ping exits 2, as ping(8) does, on a bad flag or value, no HOST, an unknown host, or no daemon', async () => {
    const cases: [string[], RegExp][] = [
      [['-socket', socket], /exactly one HOST/],
      [['-socket', socket, '-bogus', 'two'], /flag provided but not defined: -bogus/],
      [['-socket', socket, 'two', '-c'], /flag needs an argument: -c/],
      [['-socket', socket, '-c', '0', 'two'], /invalid -c "0": want a whole number from 1 to 1000000/],
      [['-socket', socket, '-c', '1000001', 'two'], /invalid -c "1000001"/],
      [['-socket', socket, '-count', 'x', 'two'], /invalid -count "x"/],
      [['-socket', socket, '-c', '2', '-count', '2', 'two'], /give -c or -count, not both/],
      [['-socket', socket, '-i', '0.001', 'two'], /invalid -i "0\.001": want an interval from 0\.002 to 3600 seconds/],
      [['-socket', socket, '-interval', '1ms', 'two'], /invalid -interval "1ms"/],
      [['-socket', socket, '-W', '61', 'two'], /invalid -W "61": want a reply wait above 0 and at most 60 seconds/],
      [['-socket', socket, '-W', '0', 'two'], /invalid -W "0"/],
      [['-socket', socket, '-W', 'soon', 'two'], /invalid -W "soon"/],
      [['-socket', socket, '-c', '1', 'nobody'], /no host named nobody/],
      [['-socket', join(dir, 'absent.sock'), '-c', '1', 'two'], /mesh: /],
    ];
    for (const [argv, message] of cases) {
      pingReplies = ['unknown'];
      const r = await run('ping', ...argv);
      assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message, argv.join(' '));
      assert.equal(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`);
    }
    assert.equal((await run('ping', '-h')).code, 0);
  });

  it("reload and close-tunnel print the daemon's refusal as one line and exit 1", async () => {
    const r = await run('reload', '-socket', socket);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'mesh: reload refused, the running config stays: firewall.inbound[0].port: bad\n');
    const c = await run('close-tunnel', '-socket', socket, 'nobody');
    assert.equal(c.code, 1);
    assert.equal(c.stderr, 'mesh: no tunnel to nobody\n');
  });

  it('says no daemon is running for a config whose daemon is not up', async () => {
    const config = join(dir, 'idle.yml');
    writeFileSync(config, 'pki: {ca: ca.crt, cert: host.crt, key: host.key}\n');
    const r = await run('status', '-config', config);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^mesh: no daemon is running with this config/);
  });

  it('finds the daemon through control.socket in the config', async () => {
    const config = join(dir, 'explicit.yml');
    writeFileSync(config, `pki: {ca: ca.crt, cert: host.crt, key: host.key}\ncontrol: {socket: run/ctl.sock}\n`);
    const r = await run('status', '-config', config, '-probe', '0');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /this node {2}one/);
  });
});
