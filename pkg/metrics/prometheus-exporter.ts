// `stats.type: prometheus`: an HTTP endpoint at `stats.listen` + `stats.path` serving the node's metrics in the
// text exposition format. Every `stats.interval` the traffic totals take a sample, so a tunnel that closes between
// scrapes still counts what it carried up to then.

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { escapedErrors } from '../log/escaped-errors.js';
import { EXPOSITION_CONTENT_TYPE, renderExposition } from './exposition.js';
import { metricsPrefix, NodeMetrics, type MetricsSource } from './node-metrics.js';

export interface PrometheusOptions {
  /** "host:port", "[v6]:port" or ":port" (all addresses). */
  listen: string;
  path: string;
  intervalMs: number;
  namespace: string;
  subsystem: string;
}

export class StatsError extends Error {
  override name = 'StatsError';
  readonly code = 'ESTATS';
}

export function parseListen(listen: string): { host: string | undefined; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(listen) ?? /^([^:]*):(\d+)$/.exec(listen);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new StatsError(`stats.listen: ${JSON.stringify(listen)} is not host:port`);
  return { host: m[1] === '' ? undefined : m[1], port };
}

export class PrometheusExporter {
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly server: Server,
    readonly options: PrometheusOptions,
    private readonly metrics: NodeMetrics,
  ) {
    this.timer = setInterval(() => metrics.sampleTraffic(), Math.max(100, options.intervalMs));
    this.timer.unref();
  }

  static async start(source: MetricsSource, options: PrometheusOptions): Promise<PrometheusExporter> {
    const { host, port } = parseListen(options.listen);
    const metrics = new NodeMetrics(source, metricsPrefix(options.namespace, options.subsystem));
    // Loaded on first use: node:http is seven built-in modules, ~2 ms of every start-up that does not export.
    const { createServer } = await import('node:http');
    // A scrape that makes rendering throw gets its connection closed; the exception must not end the process.
    const server = createServer((req, res) => {
      try {
        serve(req, res);
      } catch (e) {
        escapedErrors.report('metrics', e);
        res.destroy();
      }
    });
    const serve = (req: IncomingMessage, res: ServerResponse): void => {
      const path = (req.url ?? '').split('?')[0];
      if (path !== options.path) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      const body = renderExposition(metrics.families());
      res.writeHead(200, { 'content-type': EXPOSITION_CONTENT_TYPE }).end(req.method === 'HEAD' ? undefined : body);
    };
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new StatsError(`stats.listen ${options.listen}: ${e.message}`)));
      server.listen(port, host, () => resolve());
    });
    return new PrometheusExporter(server, options, metrics);
  }

  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
