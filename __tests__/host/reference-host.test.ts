/** The reference host's settings endpoints: the one token, as a bearer or as the dashboard's `Token`. */
import * as path from 'node:path';
import { startReferenceHost } from '../../src/host/reference-host';
import { PostgresConfigSource } from '../../src/settings/postgres-config-source';
import { closeHarnesses, createIntegration, onCleanup } from '../helpers/harness';
import { openTestDatabase, type TestDatabase } from '../helpers/postgres';
import { TABLES_SQL } from '../settings-api/support';

const DOCUMENT = path.resolve(__dirname, '../../fixtures/environment-document.json');
const ENVIRONMENT_KEY = 'Vt3mQ9pLx7RkWc2HsYbN4e';
const TOKEN = 'reference_host_token_0123';

let db: TestDatabase;

beforeAll(async () => {
  db = await openTestDatabase();
  await db.exec(TABLES_SQL);
  await db.client.query('INSERT INTO environments_environment (name, api_key, project_id) VALUES ($1, $2, 1)', ['Development', ENVIRONMENT_KEY]);
});

afterEach(closeHarnesses);

afterAll(async () => {
  await db?.close();
});

test('serves the settings endpoints to the holder of the token only, and the identities endpoints as before', async () => {
  const integration = createIntegration({ config: {} });
  const host = await startReferenceHost({
    environmentDocumentPath: DOCUMENT,
    integration,
    settings: { source: new PostgresConfigSource(db.client), token: TOKEN, integration },
  });
  onCleanup(() => host.close());
  const list = `${host.apiUrl}environments/${ENVIRONMENT_KEY}/integrations/rudderstack/`;
  const statusWith = async (authorization?: string): Promise<number> =>
    (await fetch(list, { headers: authorization === undefined ? {} : { Authorization: authorization } })).status;

  expect(await statusWith(`Bearer ${TOKEN}`)).toBe(200);
  expect(await statusWith(`Token ${TOKEN}`)).toBe(200);
  expect(await statusWith(`Bearer ${TOKEN}x`)).toBe(401);
  expect(await statusWith(`Basic ${TOKEN}`)).toBe(401);
  expect(await statusWith()).toBe(401);
  const flags = await fetch(`${host.apiUrl}flags/`, { headers: { 'X-Environment-Key': ENVIRONMENT_KEY } });
  expect(flags.status).toBe(200);
});
