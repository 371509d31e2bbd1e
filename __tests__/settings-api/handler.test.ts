/**
 * Every row of ../shared/reference/flagsmith-settings-api.md against a real server on 127.0.0.1,
 * with the handler mounted in plain http, in Express and in Fastify, and the database on the
 * real PostgreSQL (CI) or PGlite (elsewhere; openTestDatabase says which). Bodies are compared
 * byte for byte where the reference gives them.
 */
import { randomBytes } from 'node:crypto';
import { PostgresConfigSource } from '../../src/settings/postgres-config-source';
import { createSettingsHandler, type SettingsHandlerOptions } from '../../src/settings-api/handler';
import { captureLogger, onCleanup } from '../helpers/harness';
import { addEnvironment, call, HOST_NOT_FOUND, MOUNTS, rowsOf, serve, settingsPath, tokenAuthorize, useDatabase, VIEWER, type Mount } from './support';

const WRITE_KEY = 'wk_handler_secret_0123456789';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- the CommonJS module object itself, to patch lookup on it
const dnsModule = require('node:dns') as { lookup: unknown };
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a plain .js preload shared with child processes
const { unresolvableLookup } = require('../helpers/unresolvable-dns') as { unresolvableLookup: unknown };
const DATA_PLANE = 'https://acme.dataplane.rudderstack.com';
/** The dashboard's create body (CreateEditIntegrationModal): the form's fields, then the values and the environment. */
const dashboardCreateBody = (environmentKey: string, apiKey = WRITE_KEY, baseUrl = DATA_PLANE): string =>
  JSON.stringify({
    fields: [
      { key: 'base_url', label: 'Rudderstack Data Plane URL' },
      { key: 'api_key', label: 'API Key', hidden: true },
    ],
    base_url: baseUrl,
    api_key: apiKey,
    flagsmithEnvironment: environmentKey,
  });

const database = useDatabase();

const PERMISSION_DENIED = '{"detail":"You do not have permission to perform this action."}';
const NO_MATCH = '{"detail":"No RudderstackConfiguration matches the given query."}';
const NOT_FOUND = '{"detail":"Not found."}';

describe.each(MOUNTS)('mounted in %s', (mount: Mount) => {
  /** A server with the handler, a fresh environment, and what the integration was told. */
  async function setup(options: Partial<SettingsHandlerOptions> = {}) {
    const environment = await addEnvironment(database());
    const invalidated: string[] = [];
    const logger = captureLogger();
    const authorize = tokenAuthorize();
    const handler = createSettingsHandler({
      source: new PostgresConfigSource(database().client, { channel: `fr_test_${randomBytes(6).toString('hex')}` }),
      authorize,
      integration: { invalidate: (key) => invalidated.push(key ?? '(all)') },
      logger,
      ...options,
    });
    const { origin, port } = await serve(mount, handler);
    const path = (id?: number | string): string => settingsPath(environment.key, id);
    const create = async (body: object = { api_key: WRITE_KEY, base_url: DATA_PLANE }): Promise<number> => {
      const answer = await call(origin, 'POST', path(), { body });
      expect(answer.status).toBe(201);
      return (JSON.parse(answer.text) as { id: number }).id;
    };
    return { environment, origin, port, path, create, invalidated, logger, authorize };
  }

  describe('create (POST .../rudderstack/)', () => {
    it("201 with the item for the dashboard's exact body: extra keys ignored, api_key unmasked", async () => {
      const { origin, path, environment, invalidated } = await setup();
      const answer = await call(origin, 'POST', path(), { body: dashboardCreateBody(environment.key) });
      const [row] = await rowsOf(database(), environment.id);
      expect(answer.status).toBe(201);
      expect(answer.text).toBe(`{"id":${row.id},"base_url":"${DATA_PLANE}","api_key":"${WRITE_KEY}"}`);
      expect(answer.headers['content-type']).toBe('application/json');
      expect(row).toEqual({ id: row.id, api_key: WRITE_KEY, base_url: DATA_PLANE, deleted: false });
      expect(invalidated).toEqual([environment.key]);
    });

    it('201 with base_url omitted or null: stored as null', async () => {
      for (const body of [{ api_key: WRITE_KEY }, { api_key: WRITE_KEY, base_url: null }]) {
        const { origin, path, environment } = await setup();
        const answer = await call(origin, 'POST', path(), { body });
        expect(answer.status).toBe(201);
        expect(JSON.parse(answer.text)).toEqual({ id: expect.any(Number), base_url: null, api_key: WRITE_KEY });
        expect(await rowsOf(database(), environment.id)).toMatchObject([{ base_url: null }]);
      }
    });

    it('trims strings before validating and storing them; an id in the body is ignored', async () => {
      const { origin, path, environment } = await setup();
      const answer = await call(origin, 'POST', path(), { body: { id: 999999, api_key: `  ${WRITE_KEY}\n`, base_url: ` ${DATA_PLANE}\t` } });
      expect(answer.status).toBe(201);
      const [row] = await rowsOf(database(), environment.id);
      expect(row).toMatchObject({ api_key: WRITE_KEY, base_url: DATA_PLANE });
      expect(row.id).not.toBe(999999);
    });

    it('400 with a bare list while a live row exists; the live row is unchanged', async () => {
      const { origin, path, environment, create, invalidated } = await setup();
      await create();
      const answer = await call(origin, 'POST', path(), { body: { api_key: 'wk_other_0123456789' } });
      expect(answer.status).toBe(400);
      expect(answer.text).toBe('["This integration already exists for this environment."]');
      expect(await rowsOf(database(), environment.id)).toMatchObject([{ api_key: WRITE_KEY, base_url: DATA_PLANE, deleted: false }]);
      expect(invalidated).toHaveLength(1);
    });

    it('checks the fields before the duplicate: an invalid body on a duplicate gets field errors', async () => {
      const { origin, path, create } = await setup();
      await create();
      const answer = await call(origin, 'POST', path(), { body: { api_key: '' } });
      expect(answer.status).toBe(400);
      expect(answer.text).toBe('{"api_key":["This field may not be blank."]}');
    });

    it('after a delete, 201 with the revived row: its old id, and its old base_url when none is given', async () => {
      const { origin, path, environment, create } = await setup();
      const id = await create();
      expect((await call(origin, 'DELETE', path(id))).status).toBe(204);
      const answer = await call(origin, 'POST', path(), { body: { api_key: 'wk_revived_0123456789' } });
      expect(answer.status).toBe(201);
      expect(answer.text).toBe(`{"id":${id},"base_url":"${DATA_PLANE}","api_key":"wk_revived_0123456789"}`);
      expect(await rowsOf(database(), environment.id)).toEqual([{ id, api_key: 'wk_revived_0123456789', base_url: DATA_PLANE, deleted: false }]);
    });
  });

  describe('list (GET .../rudderstack/)', () => {
    it('200 with [] when there is none, [item] when there is one, [] again after a delete', async () => {
      const { origin, path, create } = await setup();
      expect(await call(origin, 'GET', path())).toMatchObject({ status: 200, text: '[]' });
      const id = await create();
      expect((await call(origin, 'GET', path())).text).toBe(`[{"id":${id},"base_url":"${DATA_PLANE}","api_key":"${WRITE_KEY}"}]`);
      await call(origin, 'DELETE', path(id));
      expect((await call(origin, 'GET', path())).text).toBe('[]');
    });

    it('HEAD is answered as GET, without a body', async () => {
      const { origin, path, create } = await setup();
      await create();
      const answer = await call(origin, 'HEAD', path());
      expect(answer.status).toBe(200);
      expect(answer.text).toBe('');
      expect(answer.headers['content-type']).toBe('application/json');
    });
  });

  describe('retrieve, update, partial update (GET, PUT, PATCH .../rudderstack/{id}/)', () => {
    it('GET: 200 with the item', async () => {
      const { origin, path, create } = await setup();
      const id = await create();
      const answer = await call(origin, 'GET', path(id));
      expect(answer).toMatchObject({ status: 200, text: `{"id":${id},"base_url":"${DATA_PLANE}","api_key":"${WRITE_KEY}"}` });
    });

    it("PUT: 200 with the item, for the dashboard's edit body (the item it read, plus flagsmithEnvironment)", async () => {
      const { origin, path, environment, create, invalidated } = await setup();
      const id = await create();
      const body = { id, base_url: 'https://other.dataplane.rudderstack.com', api_key: 'wk_rotated_0123456789', flagsmithEnvironment: environment.key };
      const answer = await call(origin, 'PUT', path(id), { body });
      expect(answer.status).toBe(200);
      expect(answer.text).toBe(`{"id":${id},"base_url":"https://other.dataplane.rudderstack.com","api_key":"wk_rotated_0123456789"}`);
      expect(await rowsOf(database(), environment.id)).toEqual([
        { id, api_key: 'wk_rotated_0123456789', base_url: 'https://other.dataplane.rudderstack.com', deleted: false },
      ]);
      expect(invalidated).toEqual([environment.key, environment.key]);
    });

    it('PUT without api_key: 400 {"api_key":["This field is required."]}; without base_url: keeps it', async () => {
      const { origin, path, environment, create } = await setup();
      const id = await create();
      const refused = await call(origin, 'PUT', path(id), { body: { base_url: null } });
      expect(refused).toMatchObject({ status: 400, text: '{"api_key":["This field is required."]}' });
      const kept = await call(origin, 'PUT', path(id), { body: { api_key: 'wk_rotated_0123456789' } });
      expect(kept.text).toBe(`{"id":${id},"base_url":"${DATA_PLANE}","api_key":"wk_rotated_0123456789"}`);
      expect(await rowsOf(database(), environment.id)).toMatchObject([{ api_key: 'wk_rotated_0123456789', base_url: DATA_PLANE }]);
    });

    it('PATCH: 200, changing only the fields given', async () => {
      const { origin, path, create } = await setup();
      const id = await create();
      expect((await call(origin, 'PATCH', path(id), { body: { base_url: null } })).text).toBe(`{"id":${id},"base_url":null,"api_key":"${WRITE_KEY}"}`);
      expect((await call(origin, 'PATCH', path(id), { body: { api_key: 'wk_patched_0123456789' } })).text).toBe(
        `{"id":${id},"base_url":null,"api_key":"wk_patched_0123456789"}`,
      );
      expect((await call(origin, 'PATCH', path(id), { body: {} })).status).toBe(200);
    });
  });

  describe('delete (DELETE .../rudderstack/{id}/)', () => {
    it('204 with no body; the row is soft-deleted (deleted_at set), and the integration told', async () => {
      const { origin, path, environment, create, invalidated } = await setup();
      const id = await create();
      const answer = await call(origin, 'DELETE', path(id));
      expect(answer.status).toBe(204);
      expect(answer.text).toBe('');
      expect(answer.headers['content-type']).toBeUndefined();
      expect(await rowsOf(database(), environment.id)).toEqual([{ id, api_key: WRITE_KEY, base_url: DATA_PLANE, deleted: true }]);
      expect(invalidated).toEqual([environment.key, environment.key]);
    });
  });

  describe('404', () => {
    it('an unknown id, another environment’s id and a soft-deleted id: No RudderstackConfiguration matches', async () => {
      const { origin, path, create } = await setup();
      const other = await setup();
      const otherId = await other.create();
      const id = await create();
      await call(origin, 'DELETE', path(id));
      for (const wanted of [id, otherId, 2147483647, 123456789012345]) {
        for (const method of ['GET', 'PUT', 'PATCH', 'DELETE']) {
          const answer = await call(origin, method, path(wanted), {
            body: method === 'PUT' || method === 'PATCH' ? { api_key: 'wk_x_0123456789' } : undefined,
          });
          expect({ method, wanted, status: answer.status, text: answer.text }).toEqual({ method, wanted, status: 404, text: NO_MATCH });
        }
      }
      expect(await rowsOf(database(), other.environment.id)).toMatchObject([{ api_key: WRITE_KEY, deleted: false }]);
    });

    it('an id that is not an integer: Not found.', async () => {
      const { origin, path, create } = await setup();
      await create();
      for (const id of ['abc', '1.5', '1e3', '0x1', '1%3BDROP', `${'9'.repeat(4301)}`]) {
        expect(await call(origin, 'GET', path(id))).toMatchObject({ status: 404, text: NOT_FOUND });
      }
    });

    it('reads ids as Python int() does: a sign, leading zeros and underscores', async () => {
      const { origin, path, create } = await setup();
      const id = await create();
      for (const spelled of [`+${id}`, `000${id}`, String(id).split('').join('_')]) {
        expect((await call(origin, 'GET', path(spelled))).status).toBe(200);
      }
      expect(await call(origin, 'GET', path(`-${id}`))).toMatchObject({ status: 404, text: NO_MATCH });
    });
  });

  describe('who may call them', () => {
    it('no credentials: 401 "not provided", with WWW-Authenticate: Token; a bad token: 401 "Invalid token."', async () => {
      const { origin, path, create } = await setup();
      const id = await create();
      for (const [method, target] of [
        ['GET', path()],
        ['POST', path()],
        ['GET', path(id)],
        ['PUT', path(id)],
        ['PATCH', path(id)],
        ['DELETE', path(id)],
      ]) {
        const anonymous = await call(origin, method, target, { token: null, body: method === 'POST' || method === 'PUT' ? { api_key: 'x' } : undefined });
        expect(anonymous).toMatchObject({ status: 401, text: '{"detail":"Authentication credentials were not provided."}' });
        expect(anonymous.headers['www-authenticate']).toBe('Token');
        expect(await call(origin, method, target, { token: 'tok_wrong' })).toMatchObject({ status: 401, text: '{"detail":"Invalid token."}' });
      }
    });

    it("a viewer may list and retrieve ('view') but not create, update or delete ('admin'): 403", async () => {
      const { origin, path, environment, create, authorize } = await setup();
      const id = await create();
      expect((await call(origin, 'GET', path(), { token: VIEWER })).status).toBe(200);
      expect((await call(origin, 'GET', path(id), { token: VIEWER })).status).toBe(200);
      for (const [method, target] of [
        ['POST', path()],
        ['PUT', path(id)],
        ['PATCH', path(id)],
        ['DELETE', path(id)],
      ]) {
        expect(await call(origin, method, target, { token: VIEWER, body: { api_key: 'wk_viewer_0123456789' } })).toMatchObject({
          status: 403,
          text: PERMISSION_DENIED,
        });
      }
      expect(await rowsOf(database(), environment.id)).toMatchObject([{ api_key: WRITE_KEY, deleted: false }]);
      expect(authorize.calls.map((request) => request.action)).toEqual(['admin', 'view', 'view', 'admin', 'admin', 'admin', 'admin']);
      expect(authorize.calls.every((request) => request.environmentKey === environment.key)).toBe(true);
    });

    it('an unknown environment key, to an authenticated caller: 403', async () => {
      const { origin } = await setup();
      for (const [method, id] of [
        ['GET', undefined],
        ['POST', undefined],
        ['GET', 1],
        ['DELETE', 1],
      ] as const) {
        expect(
          await call(origin, method, settingsPath('UnknownEnvKey0123456789', id), { body: method === 'POST' ? { api_key: 'x' } : undefined }),
        ).toMatchObject({
          status: 403,
          text: PERMISSION_DENIED,
        });
      }
    });

    it('a server-side key: 403, and authorize is not even asked', async () => {
      const { origin, authorize } = await setup();
      expect(await call(origin, 'GET', settingsPath('ser.AbCdEf0123456789abcdef'))).toMatchObject({ status: 403, text: PERMISSION_DENIED });
      expect(authorize.calls).toEqual([]);
    });
  });

  describe('methods', () => {
    it("405 for other methods, with Flagsmith's body and an Allow header", async () => {
      const { origin, path } = await setup();
      for (const [method, target, allow] of [
        ['PUT', path(), 'GET, POST, HEAD'],
        ['PATCH', path(), 'GET, POST, HEAD'],
        ['DELETE', path(), 'GET, POST, HEAD'],
        ['POST', path(1), 'GET, PUT, PATCH, DELETE, HEAD'],
        ['OPTIONS', path(1), 'GET, PUT, PATCH, DELETE, HEAD'],
      ]) {
        const answer = await call(origin, method, target);
        expect(answer).toMatchObject({ status: 405, text: `{"detail":"Method \\"${method}\\" not allowed."}` });
        expect(answer.headers.allow).toBe(allow);
      }
    });

    it('leaves other paths to the host (a missing trailing slash included)', async () => {
      const { origin, path } = await setup();
      for (const other of ['/api/v1/identities/', path().slice(0, -1), `${path()}1`, `${path()}1/x/`, '/api/v2/environments/x/integrations/rudderstack/']) {
        expect(await call(origin, 'GET', other)).toMatchObject({ status: 404, text: HOST_NOT_FOUND });
      }
    });

    it('serves under another basePath', async () => {
      const { origin, environment } = await setup({ basePath: '/flagsmith/api/v1/' });
      expect(await call(origin, 'GET', `/flagsmith/api/v1/environments/${environment.key}/integrations/rudderstack/`)).toMatchObject({
        status: 200,
        text: '[]',
      });
      expect((await call(origin, 'GET', settingsPath(environment.key))).text).toBe(HOST_NOT_FOUND);
    });
  });

  describe('bodies that are not a dict', () => {
    it.each([
      ['[]', 'list'],
      ['"text"', 'str'],
      ['42', 'int'],
      ['4.2', 'float'],
      ['1e3', 'float'],
      ['true', 'bool'],
    ])("%s: DRF's non_field_errors naming Python's type", async (body, type) => {
      const { origin, path, environment } = await setup();
      const answer = await call(origin, 'POST', path(), { body });
      expect(answer).toMatchObject({ status: 400, text: `{"non_field_errors":["Invalid data. Expected a dictionary, but got ${type}."]}` });
      expect(await rowsOf(database(), environment.id)).toEqual([]);
    });

    it('null: {"non_field_errors":["No data provided"]}', async () => {
      const { origin, path } = await setup();
      expect(await call(origin, 'POST', path(), { body: 'null' })).toMatchObject({ status: 400, text: '{"non_field_errors":["No data provided"]}' });
    });

    it.each([
      ['{"api_key": "x",}', 'Expecting property name enclosed in double quotes: line 1 column 17 (char 16)'],
      ['{"api_key" "x"}', "Expecting ':' delimiter: line 1 column 12 (char 11)"],
      ['{"api_key": "x"', "Expecting ',' delimiter: line 1 column 16 (char 15)"],
      ['{"api_key": wk_1}', 'Expecting value: line 1 column 13 (char 12)'],
      ['{"api_key": "x"}\n{}', 'Extra data: line 2 column 1 (char 17)'],
      ['{"api_key": NaN}', "Out of range float values are not JSON compliant: 'NaN'"],
      ['{"api_key": "a\\qb"}', 'Invalid \\\\escape: line 1 column 15 (char 14)'],
    ])('malformed JSON %j: 400 {"detail": "JSON parse error - <what Python says>"}', async (body, reason) => {
      const { origin, path } = await setup();
      expect(await call(origin, 'POST', path(), { body })).toMatchObject({ status: 400, text: `{"detail":"JSON parse error - ${reason}"}` });
    });

    it('an empty body is an empty object; another Content-Type: 415', async () => {
      const { origin, path } = await setup();
      expect(await call(origin, 'POST', path(), { body: '' })).toMatchObject({ status: 400, text: '{"api_key":["This field is required."]}' });
      const form = await call(origin, 'POST', path(), { body: 'api_key=x', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
      expect(form).toMatchObject({ status: 415, text: '{"detail":"Unsupported media type \\"application/x-www-form-urlencoded\\" in request."}' });
    });
  });

  describe('validation errors: a dict of lists, every error of a field, Flagsmith’s words', () => {
    it.each<[string, object, string]>([
      ['api_key absent', { base_url: null }, '{"api_key":["This field is required."]}'],
      ['api_key null', { api_key: null }, '{"api_key":["This field may not be null."]}'],
      ['api_key blank', { api_key: ' \t ' }, '{"api_key":["This field may not be blank."]}'],
      ['api_key too long', { api_key: 'k'.repeat(101) }, '{"api_key":["Ensure this field has no more than 100 characters."]}'],
      ['api_key not text', { api_key: ['wk'] }, '{"api_key":["Not a valid string."]}'],
      ['api_key with NUL', { api_key: 'wk\u0000x' }, '{"api_key":["Null characters are not allowed."]}'],
      ['api_key with a lone surrogate', { api_key: 'wk\ud800x' }, '{"api_key":["Surrogate characters are not allowed: U+D800."]}'],
      ['base_url blank', { api_key: WRITE_KEY, base_url: '' }, '{"base_url":["This field may not be blank."]}'],
      [
        'base_url too long',
        { api_key: WRITE_KEY, base_url: `https://acme.example/${'p'.repeat(180)}` },
        '{"base_url":["Ensure this field has no more than 200 characters."]}',
      ],
      ['base_url not a URL', { api_key: WRITE_KEY, base_url: 'not a url' }, '{"base_url":["Enter a valid http(s) URL.","Enter a valid URL."]}'],
      ['base_url with another scheme', { api_key: WRITE_KEY, base_url: 'ftp://example.com/' }, '{"base_url":["Enter a valid http(s) URL."]}'],
      [
        'the reference example',
        { api_key: WRITE_KEY, base_url: 'ftp://127.0.0.1/' },
        '{"base_url":["Enter a valid http(s) URL.","URLs must not target internal or private network addresses."]}',
      ],
      [
        'base_url on localhost',
        { api_key: WRITE_KEY, base_url: 'http://localhost:8080' },
        '{"base_url":["URLs must not target internal or private network addresses."]}',
      ],
      [
        'base_url on an internal address in another spelling',
        { api_key: WRITE_KEY, base_url: 'http://0x7f.1/' },
        '{"base_url":["URLs must not target internal or private network addresses."]}',
      ],
      [
        'base_url without a scheme',
        { api_key: WRITE_KEY, base_url: 'acme.dataplane.rudderstack.com' },
        '{"base_url":["Enter a valid http(s) URL.","Enter a valid URL."]}',
      ],
      [
        'base_url with a user name (the package’s own rule, its words)',
        { api_key: WRITE_KEY, base_url: 'https://user@acme.example' },
        '{"base_url":["\\"https://acme.example/\\" has a user name or password before the host (\\"...@\\"); remove it: the write key belongs in api_key, not in the URL"]}',
      ],
      [
        'both fields, base_url first (the serializer’s order)',
        { api_key: '', base_url: 'http://10.0.0.1' },
        '{"base_url":["URLs must not target internal or private network addresses."],"api_key":["This field may not be blank."]}',
      ],
    ])('%s', async (_case, body, expected) => {
      const { origin, path, environment, invalidated } = await setup();
      const answer = await call(origin, 'POST', path(), { body });
      expect(answer).toMatchObject({ status: 400, text: expected });
      expect(await rowsOf(database(), environment.id)).toEqual([]);
      expect(invalidated).toEqual([]);
    });

    it('does not resolve the host name at save (delivery checks its addresses when it connects: faults/dns-rebinding)', async () => {
      const { origin, path } = await setup();
      const lookups: string[] = [];
      const lookup = dnsModule.lookup;
      dnsModule.lookup = (hostname: string, ...rest: unknown[]) => {
        lookups.push(hostname);
        return (unresolvableLookup as (...args: unknown[]) => void)(hostname, ...rest);
      };
      onCleanup(async () => {
        dnsModule.lookup = lookup;
      });
      const answer = await call(origin, 'POST', path(), { body: { api_key: WRITE_KEY, base_url: 'https://resolves-internally.example' } });
      expect(answer.status).toBe(201);
      expect(lookups).toEqual([]);
    });

    it('admits an internal data plane with allowPrivateNetworks (given to the source too)', async () => {
      const environment = await addEnvironment(database());
      const handler = createSettingsHandler({
        source: new PostgresConfigSource(database().client, { allowPrivateNetworks: true }),
        authorize: tokenAuthorize(),
        allowPrivateNetworks: true,
      });
      const { origin } = await serve(mount, handler);
      const answer = await call(origin, 'POST', settingsPath(environment.key), { body: { api_key: WRITE_KEY, base_url: 'http://10.0.0.1:8080' } });
      expect(answer.status).toBe(201);
    });
  });
});

describe('behind a body parser that already read the body (Express with express.json())', () => {
  it('takes the parsed body instead of waiting for a stream that has ended', async () => {
    const environment = await addEnvironment(database());
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const express = require('express') as { (): ExpressLike; json(): unknown; raw(options: object): unknown };
    const app = express();
    app.use(express.json());
    app.use(createSettingsHandler({ source: new PostgresConfigSource(database().client), authorize: tokenAuthorize() }));
    const server = await new Promise<import('node:http').Server>((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    onCleanup(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const created = await call(origin, 'POST', settingsPath(environment.key), { body: { api_key: WRITE_KEY } });
    expect(created.status).toBe(201);
    expect(await call(origin, 'POST', settingsPath(environment.key), { body: [] })).toMatchObject({
      status: 400,
      text: '{"non_field_errors":["Invalid data. Expected a dictionary, but got list."]}',
    });
  });
});

interface ExpressLike {
  use(handler: unknown): void;
  listen(port: number, host: string, callback: () => void): import('node:http').Server;
}
