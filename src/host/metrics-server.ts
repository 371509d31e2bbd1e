/**
 * `GET /metrics` on a port of its own, on 127.0.0.1, as Flagsmith serves its metrics (port 9100
 * when PROMETHEUS_ENABLED is set): what the reference host and `sink --metrics-port` use.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { RudderStackIntegration } from '../integration';
import { collectPrometheusMetrics } from '../metrics/prometheus';
import { requireOptionalPeer } from './flagsmith-nodejs';

export interface MetricsServer {
  /** `http://127.0.0.1:PORT/metrics`. */
  readonly url: string;
  close(): Promise<void>;
}

/** Serves the registry's metrics; every other path is 404. `port` 0 is any free port. */
export async function startMetricsServer(registry: Registry, port: number): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || new URL(req.url ?? '/', 'http://127.0.0.1').pathname !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not found: the metrics are at /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
      (error: unknown) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`collecting the metrics failed: ${String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The integration's metrics (flagsmith-rudderstack/prometheus) in a registry of their own, served on `port`. Needs prom-client. */
export async function serveIntegrationMetrics(integration: RudderStackIntegration, port: number): Promise<MetricsServer> {
  const { Registry } = requireOptionalPeer<typeof import('prom-client')>('prom-client');
  const collected = collectPrometheusMetrics(integration, { registry: new Registry() });
  const server = await startMetricsServer(collected.registry, port);
  return {
    url: server.url,
    close: async () => {
      await server.close();
      collected.stop();
    },
  };
}
