import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counters } from '../../pkg/metrics/counters.js';
import { renderExposition, metricName } from '../../pkg/metrics/exposition.js';
import { metricsPrefix, NodeMetrics, type MetricsSource } from '../../pkg/metrics/node-metrics.js';
import { parseListen, PrometheusExporter } from '../../pkg/metrics/prometheus-exporter.js';
import { TrafficTotals } from '../../pkg/metrics/traffic-totals.js';

interface FakeTunnel {
  localIndex: number;
  remote: unknown;
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
}

function source(): MetricsSource & { tunnels: Map<number, FakeTunnel> } {
  const tunnels = new Map<number, FakeTunnel>();
  return {
    tunnels,
    counters: new Counters(),
    hostmap: { byPrimary: tunnels },
    handshakes: { pending: { size: 2 } },
    relays: { table: { byIndex: new Map([[9, { terminal: true }]]) } },
  };
}

function tunnel(localIndex: number, remote: unknown, n: number): FakeTunnel {
  return { localIndex, remote, packetsIn: n, packetsOut: n, bytesIn: 100 * n, bytesOut: 100 * n };
}

describe('Prometheus text format', () => {
  it('writes HELP, TYPE and one line per sample, with escaped label values', () => {
    const text = renderExposition([
      {
        name: 'mesh_drops_total',
        help: 'Drops.\nBy reason.',
        type: 'counter',
        samples: [{ labels: { reason: 'a"b\\c' }, value: 3 }],
      },
      { name: 'mesh_up', help: 'Up.', type: 'gauge', samples: [{ labels: {}, value: 1 }] },
    ]);
    assert.equal(
      text,
      '# HELP mesh_drops_total Drops.\\nBy reason.\n# TYPE mesh_drops_total counter\nmesh_drops_total{reason="a\\"b\\\\c"} 3\n' +
        '# HELP mesh_up Up.\n# TYPE mesh_up gauge\nmesh_up 1\n',
    );
  });

  it('turns any text into a valid metric name', () => {
    assert.equal(metricName('tunnels-closed_total'), 'tunnels_closed_total');
    assert.equal(metricName('9lives'), '_9lives');
  });

  it('prefixes with stats.namespace and stats.subsystem, or "mesh"', () => {
    assert.equal(metricsPrefix('', ''), 'mesh');
    assert.equal(metricsPrefix('nebula', ''), 'nebula');
    assert.equal(metricsPrefix('corp', 'vpn'), 'corp_vpn');
  });

  it('reads stats.listen as host:port, [v6]:port or :port', () => {
    assert.deepEqual(parseListen('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
    assert.deepEqual(parseListen('[::1]:8080'), { host: '::1', port: 8080 });
    assert.deepEqual(parseListen(':8080'), { host: undefined, port: 8080 });
    assert.throws(() => parseListen('8080'), /stats\.listen/);
  });
});

describe('node metrics', () => {
  it('exports every counter with its label, handshake failures by reason, and tunnels by path', () => {
    const src = source();
    src.counters.inc('handshakes', 'ok', 4);
    src.counters.inc('handshakes', 'timeout', 1);
    src.counters.inc('drops', 'handshake-wrong-host', 2);
    src.counters.inc('drops', 'handshake-already-complete', 7);
    src.counters.inc('drops', 'outside-replay', 5);
    src.counters.inc('lighthouse', 'query', 6);
    src.counters.inc('roams');
    src.counters.inc('warm-up', 'done');
    src.counters.inc('brand-new', 'x');
    src.tunnels.set(1, tunnel(1, { address: '1.2.3.4', port: 1 }, 1));
    src.tunnels.set(2, tunnel(2, null, 1));
    const text = renderExposition(new NodeMetrics(src, 'mesh').families());
    for (const line of [
      'mesh_handshakes_total{result="ok"} 4',
      'mesh_drops_total{reason="outside-replay"} 5',
      'mesh_lighthouse_messages_total{event="query"} 6',
      'mesh_roams_total 1',
      'mesh_warm_up_total{outcome="done"} 1',
      'mesh_brand_new_total{label="x"} 1',
      'mesh_handshake_failures_total{reason="timeout"} 1',
      'mesh_handshake_failures_total{reason="wrong-host"} 2',
      'mesh_tunnels{path="direct"} 1',
      'mesh_tunnels{path="relayed"} 1',
      'mesh_handshakes_pending 2',
      'mesh_relays{kind="terminal"} 1',
      'mesh_packets_total{direction="in"} 2',
      'mesh_bytes_total{direction="out"} 200',
    ]) {
      assert.ok(text.includes(`\n${line}\n`), `${line} in:\n${text}`);
    }
    assert.doesNotMatch(text, /handshake_failures_total\{reason="already-complete"\}/);
  });

  it('keeps traffic totals growing when a tunnel closes and another with new counters appears', () => {
    const totals = new TrafficTotals();
    assert.equal(totals.sample([tunnel(1, null, 5)]).packetsIn, 5);
    assert.equal(totals.sample([tunnel(1, null, 8)]).packetsIn, 8);
    // Tunnel 1 closed after the last sample; tunnel 3 is new.
    assert.equal(totals.sample([tunnel(3, null, 2)]).packetsIn, 10);
    assert.equal(totals.sample([tunnel(3, null, 2)]).bytesOut, 1000);
  });
});

describe('Prometheus exporter', () => {
  it('serves the metrics at stats.path and nothing anywhere else', async () => {
    const src = source();
    src.counters.inc('drops', 'outside-decrypt', 3);
    const exporter = await PrometheusExporter.start(src, {
      listen: '127.0.0.1:0',
      path: '/metrics',
      intervalMs: 1000,
      namespace: '',
      subsystem: '',
    });
    try {
      const res = await fetch(`http://127.0.0.1:${exporter.port}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      assert.match(await res.text(), /\nmesh_drops_total\{reason="outside-decrypt"\} 3\n/);
      assert.equal((await fetch(`http://127.0.0.1:${exporter.port}/other`)).status, 404);
    } finally {
      await exporter.close();
    }
  });

  it('fails to start with an error naming stats.listen when the port is taken', async () => {
    const src = source();
    const first = await PrometheusExporter.start(src, {
      listen: '127.0.0.1:0',
      path: '/m',
      intervalMs: 1000,
      namespace: '',
      subsystem: '',
    });
    try {
      await assert.rejects(
        PrometheusExporter.start(src, {
          listen: `127.0.0.1:${first.port}`,
          path: '/m',
          intervalMs: 1000,
          namespace: '',
          subsystem: '',
        }),
        /stats\.listen/,
      );
    } finally {
      await first.close();
    }
  });
});
