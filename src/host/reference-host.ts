/**
 * A small reference host: Flagsmith's identities and flags endpoints served from an environment
 * document, flags evaluated by flagsmith-nodejs offline. It shows where a host calls the hook:
 * after the identities response is computed, so the hook can never change or delay it.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RudderStackIntegration } from '../integration';
import type { ApiTrait, FlagValue, IdentitiesResponse } from './flagsmith-response';
import { offlineFlagsmith } from './offline-flagsmith';
import { FlagRenderer, type EnvironmentDocument } from './render-flags';

export interface ReferenceHostOptions {
  environmentDocumentPath: string;
  integration: Pick<RudderStackIntegration, 'postIdentityFetch'>;
  /** Default 0: any free port. The host listens on 127.0.0.1 only. */
  port?: number;
}

export interface ReferenceHost {
  /** `http://127.0.0.1:PORT/api/v1/`: the `api` a Flagsmith client is given. */
  readonly apiUrl: string;
  close(): Promise<void>;
}

interface IdentityRequest {
  identifier: string;
  traits: Array<{ trait_key: string; trait_value: FlagValue; transient?: boolean }>;
  transient: boolean;
}

const MAX_BODY_BYTES = 1_000_000;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(JSON.stringify(body));
  }
}

export async function startReferenceHost(options: ReferenceHostOptions): Promise<ReferenceHost> {
  const document = JSON.parse(fs.readFileSync(options.environmentDocumentPath, 'utf8')) as EnvironmentDocument;
  const flagsmith = offlineFlagsmith(options.environmentDocumentPath);
  const renderer = new FlagRenderer(document);
  // Traits persist per identity, as in Flagsmith, so a GET after a POST sees them.
  const storedTraits = new Map<string, Map<string, ApiTrait>>();
  let lastTraitId = 0;

  async function identities(request: IdentityRequest): Promise<IdentitiesResponse> {
    const traits = new Map(storedTraits.get(request.identifier));
    for (const { trait_key, trait_value, transient = false } of request.traits) {
      // A null value deletes the trait, as in Flagsmith.
      if (trait_value === null) traits.delete(trait_key);
      else traits.set(trait_key, { id: traits.get(trait_key)?.id ?? ++lastTraitId, trait_key, trait_value, transient });
    }
    if (!request.transient) {
      storedTraits.set(request.identifier, new Map([...traits].filter(([, trait]) => !trait.transient)));
    }
    const values = Object.fromEntries([...traits].map(([key, trait]) => [key, trait.trait_value]));
    const flags = await flagsmith.getIdentityFlags(request.identifier, values);
    return { identifier: request.identifier, flags: renderer.render(flags.allFlags(), request.identifier), traits: [...traits.values()] };
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const route = `${req.method} ${url.pathname}`;
    if (!['GET /api/v1/flags/', 'GET /api/v1/identities/', 'POST /api/v1/identities/'].includes(route)) {
      throw new HttpError(404, { detail: 'Not found.' });
    }
    if (req.headers['x-environment-key'] !== document.api_key) {
      throw new HttpError(401, { detail: 'Invalid or missing Environment Key' });
    }
    if (route === 'GET /api/v1/flags/') {
      // Environment flags: no identity, so no hook call (as in Flagsmith).
      const flags = await flagsmith.getEnvironmentFlags();
      return sendJson(res, 200, renderer.render(flags.allFlags()));
    }
    const request =
      req.method === 'GET'
        ? { identifier: url.searchParams.get('identifier') ?? '', traits: [], transient: url.searchParams.get('transient') === 'true' }
        : parseIdentityRequest(await readBody(req));
    if (request.identifier === '') throw new HttpError(400, { identifier: ['This field is required.'] });

    const response = await identities(request);
    sendJson(res, 200, response);
    // The hook: after the response is computed and sent. It never throws and never waits on I/O.
    options.integration.postIdentityFetch({
      environmentKey: document.api_key,
      identity: { identifier: response.identifier, traits: response.traits },
      flags: response.flags,
    });
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) return;
      if (error instanceof HttpError) sendJson(res, error.status, error.body);
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
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await flagsmith.close();
    },
  };
}

function parseIdentityRequest(body: string): IdentityRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new HttpError(400, { detail: 'JSON parse error.' });
  }
  const { identifier, traits = [], transient = false } = (parsed ?? {}) as Record<string, unknown>;
  if (typeof identifier !== 'string') throw new HttpError(400, { identifier: ['This field is required.'] });
  if (!Array.isArray(traits) || !traits.every(isTraitInput)) {
    throw new HttpError(400, { traits: ['Each trait needs a string trait_key and a string, number, boolean or null trait_value.'] });
  }
  return { identifier, traits, transient: transient === true };
}

function isTraitInput(value: unknown): value is IdentityRequest['traits'][number] {
  if (typeof value !== 'object' || value === null) return false;
  const { trait_key, trait_value } = value as Record<string, unknown>;
  return typeof trait_key === 'string' && (trait_value === null || ['string', 'number', 'boolean'].includes(typeof trait_value));
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) reject(new HttpError(413, { detail: 'Request body too large.' }));
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
