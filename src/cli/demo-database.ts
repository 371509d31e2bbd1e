/**
 * The demo's Flagsmith database and dashboard: PGlite (PostgreSQL built to WebAssembly) in this
 * process, so `npm start` needs no server, holding Flagsmith's two tables and the demo's
 * environment; and the calls Flagsmith's dashboard makes to the settings endpoints.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { redact } from '../settings/messages';
import type { RudderStackSettings } from '../types';
import { CommandFailure } from './usage';

const TABLES_SQL = path.join(__dirname, '..', '..', 'fixtures', 'sql', 'flagsmith-rudderstack-tables.sql');

/** What the demo uses of PGlite: queries, scripts and its `listen`. */
export interface DemoDatabase {
  query(text: string, values: unknown[]): Promise<{ rows: unknown[] }>;
  exec(script: string): Promise<unknown>;
  listen(channel: string, callback: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** A fresh in-memory database with Flagsmith's tables and one environment with this client-side key. */
export async function openDemoDatabase(environmentKey: string): Promise<DemoDatabase> {
  const db = new (loadPglite().PGlite)() as unknown as DemoDatabase;
  await db.exec(fs.readFileSync(TABLES_SQL, 'utf8'));
  await db.query('INSERT INTO environments_environment (name, api_key, project_id) VALUES ($1, $2, 1)', ['Development', environmentKey]);
  return db;
}

/** Loaded on demand: @electric-sql/pglite is a devDependency, absent from an installed package. */
function loadPglite(): { PGlite: new () => unknown } {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('@electric-sql/pglite') as { PGlite: new () => unknown };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw error;
    throw new CommandFailure(
      'the demo keeps its settings in PGlite (PostgreSQL in this process), which is not installed here: run npm install @electric-sql/pglite, then try again',
    );
  }
}

/** The form's fields, as the dashboard sends them in its create body. */
const RUDDERSTACK_FIELDS = [
  { key: 'base_url', label: 'Rudderstack Data Plane URL' },
  { key: 'api_key', label: 'API Key', hidden: true },
];

/** One call and its answer, as the demo prints it: the write key never shown. */
export interface DashboardCall {
  status: number;
  /** The item's id, when the answer is one. */
  id?: number;
  /** `METHOD path -> status body`, redacted. */
  line: string;
}

/** The settings endpoints called as Flagsmith's dashboard calls them (its headers, its bodies). */
export class DemoDashboard {
  readonly #apiUrl: string;
  readonly #environmentKey: string;
  readonly #token: string;
  readonly #writeKey: string;

  constructor(apiUrl: string, environmentKey: string, token: string, writeKey: string) {
    this.#apiUrl = apiUrl;
    this.#environmentKey = environmentKey;
    this.#token = token;
    this.#writeKey = writeKey;
  }

  /** Save on the RudderStack form: POST with the form's fields, the values and the environment. */
  switchOn(settings: RudderStackSettings): Promise<DashboardCall> {
    return this.#call('POST', '', {
      fields: RUDDERSTACK_FIELDS,
      base_url: settings.base_url,
      api_key: settings.api_key,
      flagsmithEnvironment: this.#environmentKey,
    });
  }

  /** Delete on the Integrations page. */
  switchOff(id: number): Promise<DashboardCall> {
    return this.#call('DELETE', `${id}/`);
  }

  async #call(method: string, tail: string, body?: object): Promise<DashboardCall> {
    const path = `environments/${this.#environmentKey}/integrations/rudderstack/${tail}`;
    const response = await fetch(`${this.#apiUrl}${path}`, {
      method,
      headers: { Accept: 'application/json', 'Content-Type': 'application/json; charset=utf-8', Authorization: `Token ${this.#token}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const id = response.status === 201 ? (JSON.parse(text) as { id: number }).id : undefined;
    return { status: response.status, id, line: redact(`${method} /api/v1/${path} -> ${response.status} ${text}`.trimEnd(), this.#writeKey) };
  }
}
