/**
 * A small reference host: Flagsmith's identities and flags endpoints served from an environment
 * document, flags evaluated by flagsmith-nodejs offline. It shows where a host calls the hook:
 * after the identities response is computed, so the hook can never change or delay it.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { RudderStackIntegration } from '../integration';
import { EnvironmentDocumentApi, FlagsmithApiError } from './environment-document-api';
import type { IdentitiesResponse } from './flagsmith-response';
import { serveIntegrationMetrics } from './metrics-server';

export interface ReferenceHostOptions {
  environmentDocumentPath: string;
  integration: Pick<RudderStackIntegration, 'postIdentityFetch'>;
  /** Default 0: any free port. The host listens on 127.0.0.1 only. */
  port?: number;
  /**
   * When given, the integration's metrics are served on this port at `/metrics` (0: any free
   * port), as Flagsmith serves its own. Needs prom-client, and a RudderStackIntegration.
   */
  metricsPort?: number;
}

export interface ReferenceHost {
  /** `http://127.0.0.1:PORT/api/v1/`: the `api` a Flagsmith client is given. */
  readonly apiUrl: string;
  /** `http://127.0.0.1:PORT/metrics` when `metricsPort` was given. */
  readonly metricsUrl?: string;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1_000_000;

export async function startReferenceHost(options: ReferenceHostOptions): Promise<ReferenceHost> {
  // First: a metrics port that cannot be served fails before anything else is open.
  const metrics = options.metricsPort === undefined ? undefined : await serveMetricsOf(options.integration, options.metricsPort);
  const api = new EnvironmentDocumentApi(options.environmentDocumentPath);

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const route = `${req.method} ${url.pathname}`;
    const environmentKey = req.headers['x-environment-key'];
    if (route === 'GET /api/v1/flags/') {
      // Environment flags: no identity, so no hook call (as in Flagsmith).
      return sendJson(res, 200, await api.environmentFlags(environmentKey));
    }
    let response: IdentitiesResponse;
    if (route === 'GET /api/v1/identities/') {
      response = await api.getIdentity(environmentKey, { identifier: url.searchParams.get('identifier'), transient: url.searchParams.get('transient') });
    } else if (route === 'POST /api/v1/identities/') {
      // The key is checked before the body is read, as in Flagsmith.
      api.authorize(environmentKey);
      response = await api.postIdentity(environmentKey, parseJson(await readBody(req)));
    } else {
      throw new FlagsmithApiError(404, { detail: 'Not found.' });
    }
    sendJson(res, 200, response);
    // The hook: after the response is computed and sent. It never throws and never waits on I/O.
    options.integration.postIdentityFetch({
      environmentKey: api.environmentKey,
      identity: { identifier: response.identifier, traits: response.traits },
      flags: response.flags,
    });
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) return;
      if (error instanceof FlagsmithApiError) sendJson(res, error.status, error.body);
      else sendJson(res, 500, { detail: 'Internal server error.' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    apiUrl: `http://127.0.0.1:${port}/api/v1/`,
    ...(metrics ? { metricsUrl: metrics.url } : {}),
    close: async () => {
      await metrics?.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await api.close();
    },
  };
}

function serveMetricsOf(integration: ReferenceHostOptions['integration'], port: number): ReturnType<typeof serveIntegrationMetrics> {
  if (!(integration instanceof RudderStackIntegration)) throw new TypeError('metricsPort needs the integration to be a RudderStackIntegration');
  return serveIntegrationMetrics(integration, port);
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new FlagsmithApiError(400, { detail: 'JSON parse error.' });
  }
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) reject(new FlagsmithApiError(413, { detail: 'Request body too large.' }));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
