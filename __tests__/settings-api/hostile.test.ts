/**
 * Hostile requests to the settings endpoints, in all three mounts, sent as raw bytes where a
 * client would tidy them: each gets its documented status, nothing is written (no row, no
 * NOTIFY, no invalidation), nothing throws (no unhandled rejection, no error logged), nothing
 * hangs (the server answers the next request).
 */
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import * as net from 'node:net';
import { PostgresConfigSource } from '../../src/settings/postgres-config-source';
import { createSettingsHandler, type SettingsHandlerOptions } from '../../src/settings-api/handler';
import { captureLogger } from '../helpers/harness';
import { ADMIN, addEnvironment, call, MOUNTS, overhear, rawCall, rowsOf, serve, settingsPath, tokenAuthorize, useDatabase, type Mount } from './support';

const WRITE_KEY = 'wk_hostile_secret_0123456789';
const BODY_TIMEOUT_MS = 300;

const database = useDatabase();

describe.each(MOUNTS)('mounted in %s', (mount: Mount) => {
  /** A server with one environment that has live settings, and the ways to see that nothing changed. */
  async function setup(options: Partial<SettingsHandlerOptions> = {}) {
    const environment = await addEnvironment(database());
    const channel = `fr_test_${randomBytes(6).toString('hex')}`;
    const source = new PostgresConfigSource(database().client, { channel });
    const { id } = await source.save(environment.key, { api_key: WRITE_KEY, base_url: 'https://acme.dataplane.rudderstack.com' });
    const before = await rowsOf(database(), environment.id);
    const heard = await overhear(database(), channel);
    const invalidated: string[] = [];
    const logger = captureLogger();
    const authorize = tokenAuthorize();
    const handler = createSettingsHandler({
      source,
      authorize,
      integration: { invalidate: (key) => invalidated.push(key ?? '(all)') },
      logger,
      bodyTimeoutMs: BODY_TIMEOUT_MS,
      ...options,
    });
    const { origin, port } = await serve(mount, handler);
    const request = (method: string, path: string, headers: string[] = [], body = ''): string =>
      [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', `Authorization: Token ${ADMIN}`, 'Connection: close', ...headers, '', body].join('\r\n');
    /** Nothing written, nothing announced, nothing logged as an error, and the server still answers. */
    const nothingHappened = async (): Promise<void> => {
      // A NOTIFY from a write would have been sent by now: the marker write goes after any of them.
      const marker = await addEnvironment(database());
      await new PostgresConfigSource(database().client, { channel }).save(marker.key, { api_key: 'wk_marker_0123456789' });
      await waitForNotification(heard, marker.key);
      expect(heard).toEqual([marker.key]);
      expect(await rowsOf(database(), environment.id)).toEqual(before);
      expect(invalidated).toEqual([]);
      expect(logger.lines.filter((line) => line.level === 'error')).toEqual([]);
      expect((await call(origin, 'GET', settingsPath(environment.key))).status).toBe(200);
    };
    return { environment, id, origin, port, request, nothingHappened, authorize, logger };
  }

  it('no credentials: 401; a wrong token: 401 Invalid token.', async () => {
    const { origin, environment, id, nothingHappened } = await setup();
    for (const token of [null, 'tok_wrong', "' OR 1=1 --"]) {
      expect((await call(origin, 'DELETE', settingsPath(environment.key, id), { token })).status).toBe(401);
      expect((await call(origin, 'PUT', settingsPath(environment.key, id), { token, body: { api_key: 'wk_evil_0123456789' } })).status).toBe(401);
    }
    await nothingHappened();
  });

  it('a server-side key: 403, never shown to authorize', async () => {
    const { origin, nothingHappened, authorize } = await setup();
    expect((await call(origin, 'POST', settingsPath('ser.Vt3mQ9pLx7RkWc2HsYbN4e'), { body: { api_key: 'wk_evil_0123456789' } })).status).toBe(403);
    expect(authorize.calls).toEqual([]);
    await nothingHappened();
  });

  it('an unknown environment, one spelled as SQL included: 403', async () => {
    const { origin, nothingHappened } = await setup();
    for (const key of ['NoSuchEnvironment0123456', encodeURIComponent("x' OR '1'='1"), encodeURIComponent('x"; DROP TABLE environments_environment; --')]) {
      expect((await call(origin, 'POST', settingsPath(key), { body: { api_key: 'wk_evil_0123456789' } })).status).toBe(403);
    }
    await nothingHappened();
  });

  it.each([
    ['1;DROP TABLE rudderstack_rudderstackconfiguration', '1;DROP%20TABLE%20rudderstack_rudderstackconfiguration'],
    ['..', '..'],
    ['%2e%2e', '%2e%2e'],
    ['%00', '%00'],
    ['10 000 digits', '9'.repeat(10_000)],
  ])('an id like %s: 404 {"detail":"Not found."}', async (_name, id) => {
    const { port, environment, request, nothingHappened } = await setup();
    for (const method of ['GET', 'DELETE']) {
      const answer = await rawCall(port, request(method, settingsPath(environment.key, id)));
      expect(answer).toMatch(/^HTTP\/1\.1 404 /);
      expect(answer.endsWith('\r\n\r\n{"detail":"Not found."}')).toBe(true);
    }
    await nothingHappened();
  });

  it('a 10 MB body: 413 before it is read (declared), and once past the bound (chunked)', async () => {
    const { port, environment, id, request, nothingHappened } = await setup();
    const tooLarge = '{"detail":"Request body too large: at most 65536 bytes."}';
    const declared = await rawCall(
      port,
      request('PUT', settingsPath(environment.key, id), ['Content-Type: application/json', `Content-Length: ${10_000_000}`]),
    );
    expect(declared).toMatch(/^HTTP\/1\.1 413 /);
    expect(declared.endsWith(tooLarge)).toBe(true);
    const chunk = `{"api_key": "${'k'.repeat(1_000_000)}`;
    const chunked = await streamedRequest(port, 'POST', settingsPath(environment.key), 10, chunk);
    expect(chunked.status).toBe(413);
    expect(chunked.text).toBe(tooLarge);
    await nothingHappened();
  });

  it('a body that never ends: 408 after bodyTimeoutMs, and the connection closed', async () => {
    const { port, environment, id, request, nothingHappened } = await setup();
    const answer = await rawCall(
      port,
      request('PUT', settingsPath(environment.key, id), ['Content-Type: application/json', 'Content-Length: 1000'], '{"api_key": "wk_'),
    );
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(answer).toMatch(/\r\nconnection: close\r\n/i);
    expect(answer.endsWith(`{"detail":"Request body not received within ${BODY_TIMEOUT_MS} ms."}`)).toBe(true);
    await nothingHappened();
  });

  it("invalid UTF-8: 400 with Python's decoder message", async () => {
    const { origin, environment, id, nothingHappened } = await setup();
    const body = Buffer.concat([Buffer.from('{"api_key": "wk_'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    const answer = await call(origin, 'PUT', settingsPath(environment.key, id), { body });
    expect(answer).toMatchObject({
      status: 400,
      text: `{"detail":"JSON parse error - 'utf-8' codec can't decode byte 0xff in position 16: invalid start byte"}`,
    });
    await nothingHappened();
  });

  it('JSON that is an array or a string: 400 non_field_errors', async () => {
    const { origin, environment, id, nothingHappened } = await setup();
    const array = await call(origin, 'PUT', settingsPath(environment.key, id), { body: [{ api_key: 'wk_evil_0123456789' }] });
    expect(array).toMatchObject({ status: 400, text: '{"non_field_errors":["Invalid data. Expected a dictionary, but got list."]}' });
    const text = await call(origin, 'PUT', settingsPath(environment.key, id), { body: '"wk_evil_0123456789"' });
    expect(text).toMatchObject({ status: 400, text: '{"non_field_errors":["Invalid data. Expected a dictionary, but got str."]}' });
    await nothingHappened();
  });

  it('duplicated keys: the last one counts, as in Python (here a blank one: 400)', async () => {
    const { origin, environment, id, nothingHappened } = await setup();
    const answer = await call(origin, 'PUT', settingsPath(environment.key, id), { body: '{"api_key": "wk_evil_0123456789", "api_key": "  "}' });
    expect(answer).toMatchObject({ status: 400, text: '{"api_key":["This field may not be blank."]}' });
    await nothingHappened();
  });

  it('__proto__ keys: ordinary keys, so the fields inside are not seen and nothing is polluted', async () => {
    const { origin, environment, id, nothingHappened } = await setup();
    const answer = await call(origin, 'PUT', settingsPath(environment.key, id), { body: '{"__proto__": {"api_key": "wk_evil_0123456789", "polluted": true}}' });
    expect(answer).toMatchObject({ status: 400, text: '{"api_key":["This field is required."]}' });
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
    await nothingHappened();
  });

  it('a client that goes away mid-body: nothing answered, nothing written', async () => {
    const { port, environment, id, request, nothingHappened } = await setup();
    await new Promise<void>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.write(request('PUT', settingsPath(environment.key, id), ['Content-Type: application/json', 'Content-Length: 1000'], '{"api_key": "wk_'));
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 50);
      });
    });
    await nothingHappened();
  });
});

describe('failures and misuse', () => {
  it('a missing authorize or store is a TypeError when the handler is made', () => {
    const source = new PostgresConfigSource(database().client);
    expect(() => createSettingsHandler({ source } as never)).toThrow(/createSettingsHandler needs authorize\(req, \{ environmentKey, action \}\)/);
    expect(() => createSettingsHandler({ authorize: () => 'allow' } as never)).toThrow(/needs a source with list, save, update and remove/);
    expect(() => createSettingsHandler({ source, authorize: () => 'allow', basePath: 'api/v1' })).toThrow(/basePath must start and end with "\/"/);
    expect(() => createSettingsHandler({ source, authorize: () => 'allow', maxBodyBytes: 0 })).toThrow(/maxBodyBytes must be a positive number/);
  });

  it('calls next() and resolves false off its routes; resolves true, without next, on them', async () => {
    const handler = createSettingsHandler({ source: new PostgresConfigSource(database().client), authorize: () => 'deny' });
    const results: Array<{ handled: boolean; nexts: number; status: number }> = [];
    const server = http.createServer((req, res) => {
      let nexts = 0;
      void handler(req, res, () => nexts++).then((handled) => {
        results.push({ handled, nexts, status: res.statusCode });
        if (!handled) res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    await call(origin, 'GET', '/api/v1/identities/');
    await call(origin, 'GET', settingsPath('AnyEnvironmentKey012345'));
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(results).toEqual([
      { handled: false, nexts: 1, status: 200 },
      { handled: true, nexts: 0, status: 403 },
    ]);
  });

  it('a store that fails and an authorize that throws: 500, logged without the write key', async () => {
    const environment = await addEnvironment(database());
    const logger = captureLogger();
    // A store of the host's own whose errors quote what it was given.
    const echoing = new PostgresConfigSource(database().client);
    echoing.save = (_key, settings) => Promise.reject(new Error(`insert refused for ${settings.api_key}`));
    const failing = createSettingsHandler({ source: echoing, authorize: tokenAuthorize(), logger });
    const { origin } = await serve('http', failing);
    const answer = await call(origin, 'POST', settingsPath(environment.key), { body: { api_key: WRITE_KEY } });
    expect(answer).toMatchObject({ status: 500, text: '{"detail":"A server error occurred."}' });
    const throwing = createSettingsHandler({
      source: new PostgresConfigSource(database().client),
      authorize: () => {
        throw new Error('the token service is down');
      },
      logger,
    });
    const second = await serve('express', throwing);
    expect((await call(second.origin, 'GET', settingsPath(environment.key))).status).toBe(500);
    expect(logger.text()).toBe(
      `settings endpoint POST environments/{environment_api_key}/integrations/rudderstack/ failed for environment "${environment.key}": insert refused for [redacted]\n` +
        `settings endpoint GET environments/{environment_api_key}/integrations/rudderstack/ failed for environment "${environment.key}": the token service is down`,
    );
    expect(await rowsOf(database(), environment.id)).toEqual([]);
  });
});

async function waitForNotification(payloads: string[], marker: string): Promise<void> {
  for (let i = 0; i < 200 && !payloads.includes(marker); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(payloads).toContain(marker);
}

/** A chunked request of `count` chunks, written as fast as the server takes them; the answer, or what is known when the server cut it. */
function streamedRequest(port: number, method: string, path: string, count: number, chunk: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: { 'Content-Type': 'application/json', Authorization: `Token ${ADMIN}`, 'Transfer-Encoding': 'chunked' },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (data: Buffer) => chunks.push(data));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    // The server answers and closes before the body is done: the remaining writes fail, as they should.
    request.on('error', () => undefined);
    let written = 0;
    const writeMore = (): void => {
      while (written < count) {
        written++;
        if (!request.write(chunk)) {
          request.once('drain', writeMore);
          return;
        }
      }
      request.end();
    };
    writeMore();
  });
}
