/**
 * The settings endpoints' test rig: the handler mounted in a real server on 127.0.0.1 (plain
 * http, Express as middleware, Fastify through its raw request and reply), the database of
 * helpers/postgres (the real PostgreSQL in CI, PGlite elsewhere, said when it opens), a
 * Flagsmith-style `Authorization: Token` authorize, and a client that sends exactly the bytes
 * it is given.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { join } from 'node:path';
import Fastify from 'fastify';
import { Client } from 'pg';
import type { SettingsAuthorize, SettingsHandler } from '../../src/settings-api/handler';
import { closeHarnesses, onCleanup, startLoopbackServer } from '../helpers/harness';
import { databaseUrl, openTestDatabase, type PgliteListenClient, type TestDatabase } from '../helpers/postgres';

export const TABLES_SQL = readFileSync(join(__dirname, '../../fixtures/sql/flagsmith-rudderstack-tables.sql'), 'utf8');

export type Mount = 'http' | 'express' | 'fastify';
export const MOUNTS: Mount[] = ['http', 'express', 'fastify'];

/** What the host answers for a request that is not on the handler's routes. */
export const HOST_NOT_FOUND = 'not a settings route (the host answered)';

/** An Express app: also a request listener. */
interface ExpressApp extends http.RequestListener {
  use(handler: (req: http.IncomingMessage, res: http.ServerResponse, next: (error?: unknown) => void) => unknown): void;
}

/** A server with the handler mounted as `mount` mounts it; resolves with its origin. Closed by closeHarnesses. */
export async function serve(mount: Mount, handler: SettingsHandler): Promise<{ origin: string; port: number }> {
  const notFound = (res: http.ServerResponse): void => {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end(HOST_NOT_FOUND);
  };
  let origin: string;
  if (mount === 'fastify') {
    const app = Fastify();
    app.addHook('onRequest', async (request, reply) => {
      if (await handler(request.raw, reply.raw)) reply.hijack();
    });
    app.setNotFoundHandler((_request, reply) => reply.code(404).type('text/plain').send(HOST_NOT_FOUND));
    origin = await app.listen({ port: 0, host: '127.0.0.1' });
    onCleanup(async () => {
      app.server.closeAllConnections();
      await app.close();
    });
  } else if (mount === 'express') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const app = (require('express') as () => ExpressApp)();
    app.use(handler);
    app.use((_req, res) => notFound(res));
    origin = await startLoopbackServer(app);
  } else {
    origin = await startLoopbackServer((req, res) => {
      void handler(req, res).then((handled) => handled || notFound(res));
    });
  }
  return { origin, port: Number(new URL(origin).port) };
}

/** The test file's database (opened before its tests, closed after them) with Flagsmith's tables; each test's servers closed after it. */
export function useDatabase(): () => TestDatabase {
  let db: TestDatabase | undefined;
  beforeAll(async () => {
    db = await openTestDatabase();
    await db.exec(TABLES_SQL);
  });
  afterEach(closeHarnesses);
  afterAll(async () => {
    await db?.close();
  });
  return () => db as TestDatabase;
}

/** The test's own listener, which tests that terminate listening backends leave alone. */
export const OVERHEARING = 'fr_test_overhearing';

/** Every NOTIFY payload on the channel, heard through a LISTEN of the test's own (closed by closeHarnesses). */
export async function overhear(db: TestDatabase, channel: string): Promise<string[]> {
  const payloads: string[] = [];
  if (db.kind === 'pglite') {
    onCleanup(await (db.client as PgliteListenClient).listen(`"${channel}"`, (payload) => payloads.push(payload)));
    return payloads;
  }
  const client = new Client({ connectionString: databaseUrl(), application_name: OVERHEARING });
  client.on('error', () => undefined);
  await client.connect();
  client.on('notification', (message) => payloads.push(message.payload ?? ''));
  await client.query(`LISTEN "${channel}"`);
  onCleanup(() => client.end());
  return payloads;
}

/** The host's own users, as Flagsmith keys them: a token, and what each may do. */
export const USERS: Record<string, { admin: boolean }> = {
  tok_admin_0123456789: { admin: true },
  tok_viewer_0123456789: { admin: false },
};
export const ADMIN = 'tok_admin_0123456789';
export const VIEWER = 'tok_viewer_0123456789';

/** `Authorization: Token <key>` mapped to USERS: admins may do anything, viewers may read. Records every call. */
export function tokenAuthorize(): SettingsAuthorize & { calls: Array<{ environmentKey: string; action: string }> } {
  const calls: Array<{ environmentKey: string; action: string }> = [];
  const authorize = (req: http.IncomingMessage, request: { environmentKey: string; action: 'view' | 'admin' }): 'allow' | 'deny' | 'unauthenticated' => {
    calls.push(request);
    const [scheme, key] = (req.headers.authorization ?? '').split(' ');
    const user = scheme === 'Token' && key !== undefined && Object.hasOwn(USERS, key) ? USERS[key] : undefined;
    if (!user) return 'unauthenticated';
    return request.action === 'view' || user.admin ? 'allow' : 'deny';
  };
  return Object.assign(authorize, { calls });
}

/** A live environment with a fresh key (22 characters, as Flagsmith's). */
export async function addEnvironment(db: TestDatabase): Promise<{ id: number; key: string }> {
  const key = randomBytes(11).toString('hex');
  const { rows } = await db.client.query('INSERT INTO environments_environment (name, api_key, project_id) VALUES ($1, $2, 1) RETURNING id', [
    'Production',
    key,
  ]);
  return { id: (rows[0] as { id: number }).id, key };
}

export interface StoredRow {
  id: number;
  api_key: string;
  base_url: string | null;
  deleted: boolean;
}

export async function rowsOf(db: TestDatabase, environmentId: number): Promise<StoredRow[]> {
  const { rows } = await db.client.query(
    'SELECT id, api_key, base_url, deleted_at IS NOT NULL AS deleted FROM rudderstack_rudderstackconfiguration WHERE environment_id = $1 ORDER BY id',
    [environmentId],
  );
  return rows as StoredRow[];
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body exactly as sent. */
  text: string;
}

/** One request as the dashboard sends it (its headers), through node:http: the path is sent as written. */
export function call(
  origin: string,
  method: string,
  path: string,
  options: { body?: string | object | Buffer; token?: string | null; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const body =
    options.body === undefined
      ? undefined
      : Buffer.isBuffer(options.body)
        ? options.body
        : Buffer.from(typeof options.body === 'string' ? options.body : JSON.stringify(options.body));
  // Content-Length always: Node's client would otherwise send a GET's or DELETE's body unframed.
  const headers: Record<string, string> = {
    Accept: 'application/json',
    ...(body ? { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(body.length) } : {}),
  };
  if (options.token !== null) headers.Authorization = `Token ${options.token ?? ADMIN}`;
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const request = http.request({ hostname, port, method, path, headers: { ...headers, ...options.headers } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

/**
 * The bytes as written, on a raw socket; resolves with the whole answer (status line, headers,
 * body) once it is complete or the server closes. The socket is not half-closed: Node's server
 * would take that for a client that left.
 */
export function rawCall(port: number, request: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    const done = (): void => {
      socket.destroy();
      resolve(received);
    };
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
      const [head, body] = received.split('\r\n\r\n');
      const length = /\r\ncontent-length: (\d+)/i.exec(head ?? '')?.[1];
      if (body !== undefined && length !== undefined && Buffer.byteLength(body) >= Number(length)) done();
    });
    socket.on('end', done);
    socket.on('error', (error) => (received ? done() : reject(error)));
    socket.write(request);
  });
}

/** A detail or list path for an environment. */
export function settingsPath(environmentKey: string, id?: number | string): string {
  return `/api/v1/environments/${environmentKey}/integrations/rudderstack/${id === undefined ? '' : `${id}/`}`;
}
