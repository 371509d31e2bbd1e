/**
 * Flagsmith's RudderStack integration settings endpoints, as one request handler for Node's
 * http, Connect and Express (middleware) and Fastify (through its raw request and reply).
 *
 * Each request goes, in Flagsmith's order: route and method (405), a server-side key (403),
 * `authorize` (401, 403), the environment (403), the id (404), the body (413, 408, 415, 400),
 * the fields (400), the write (400 when live settings exist). Nothing is read from the body or
 * the database before `authorize` allows the request, and nothing is written unless every check
 * passed. A failure of the store or of `authorize` is a 500, logged without any write key.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { consoleLogger, guardLogger, type Log } from '../log';
import { redact } from '../settings/messages';
import type { SettingsRecord, SettingsStore } from '../settings/settings-store';
import { SettingsError } from '../settings/validate';
import type { Logger, RudderStackSettings } from '../types';
import { readBody } from './body';
import { checkFields, type FieldErrors } from './fields';
import { parsedData, requestData, type RequestData } from './request-json';
import {
  ALREADY_EXISTS,
  bodyTimeout,
  bodyTooLarge,
  INVALID_TOKEN,
  methodNotAllowed,
  NO_DATA,
  NO_MATCH,
  NOT_AUTHENTICATED,
  NOT_FOUND,
  notADictionary,
  PERMISSION_DENIED,
  send,
  SERVER_ERROR,
  type ResponseBody,
} from './responses';
import { actionOf, allowedMethods, matchRoute, parseId, permissionOf, routeTemplate, type SettingsAction, type SettingsRoute } from './routes';

/** What `authorize` answers: let the request in, refuse it (403), or ask for credentials (401). */
export type AuthorizeResult = 'allow' | 'deny' | 'unauthenticated';

/** What a request asks to do: read settings (Flagsmith's VIEW_ENVIRONMENT) or change them (environment admin). */
export interface AuthorizeRequest {
  /** The environment's client-side key, from the path. */
  environmentKey: string;
  /** `'view'` for list and retrieve; `'admin'` for create, update, partial update and delete. */
  action: 'view' | 'admin';
}

/**
 * The host's permission check: called once per request on a route, before the body or the
 * database is read. Anything but `'allow'` or `'unauthenticated'` (a throw included, which is
 * also logged and answered 500) refuses.
 */
export type SettingsAuthorize = (req: IncomingMessage, request: AuthorizeRequest) => AuthorizeResult | Promise<AuthorizeResult>;

/** Options of `createSettingsHandler`. */
export interface SettingsHandlerOptions {
  /** Where settings are read and written: a PostgresConfigSource, or any SettingsStore. */
  source: SettingsStore;
  /** Required: nobody gets in by default. */
  authorize: SettingsAuthorize;
  /** Invalidated for the environment after every change this handler makes. */
  integration?: {
    /** Drops the environment's cached settings. */
    invalidate(environmentKey?: string): void;
  };
  /** Where Flagsmith's API is mounted: starts and ends with "/". Default `/api/v1/`. */
  basePath?: string;
  /** Accept a data plane on an internal address (default false, as Flagsmith). Set the same on the source. */
  allowPrivateNetworks?: boolean;
  /** Largest request body read; beyond it, 413. Default 65 536 bytes (the dashboard's bodies are a few hundred). */
  maxBodyBytes?: number;
  /** Longest a request body may take to arrive; past it, 408. Default 10 000 ms. */
  bodyTimeoutMs?: number;
  /** Where failures (500s) are logged. Default: the console. */
  logger?: Logger;
}

/**
 * The handler: resolves true when it answered (the request was on one of its routes), false
 * otherwise, after calling `next()` when given. It never rejects.
 */
export type SettingsHandler = (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => Promise<boolean>;

const DEFAULT_MAX_BODY_BYTES = 65_536;
const DEFAULT_BODY_TIMEOUT_MS = 10_000;

interface Context {
  source: SettingsStore;
  authorize: SettingsAuthorize;
  invalidate: (environmentKey: string) => void;
  basePath: string;
  allowPrivateNetworks: boolean;
  maxBodyBytes: number;
  bodyTimeoutMs: number;
  log: Log;
}

/** One request's state while it is answered. */
interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  route: SettingsRoute;
  /** The write key the body carried, once read: redacted from anything logged. */
  writeKey?: string;
}

/** Creates the settings endpoints' handler (see SettingsHandlerOptions). */
export function createSettingsHandler(options: SettingsHandlerOptions): SettingsHandler {
  const context = resolveOptions(options);
  return async (req, res, next) => {
    const route = matchRoute((req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '/', context.basePath);
    if (!route) {
      next?.();
      return false;
    }
    const exchange: Exchange = { req, res, route };
    try {
      await answer(exchange, context);
    } catch (error) {
      failed(exchange, context, error);
    }
    return true;
  };
}

function resolveOptions(options: SettingsHandlerOptions): Context {
  const source = options?.source as Partial<SettingsStore> | undefined;
  if (!source || !(['list', 'save', 'update', 'remove'] as const).every((method) => typeof source[method] === 'function')) {
    throw new TypeError('createSettingsHandler needs a source with list, save, update and remove (a PostgresConfigSource, or a SettingsStore)');
  }
  if (typeof options.authorize !== 'function') {
    throw new TypeError(
      "createSettingsHandler needs authorize(req, { environmentKey, action }) answering 'allow', 'deny' or 'unauthenticated': " +
        'without it anyone could change where events are sent',
    );
  }
  const basePath = options.basePath ?? '/api/v1/';
  if (typeof basePath !== 'string' || !basePath.startsWith('/') || !basePath.endsWith('/')) {
    throw new TypeError(`basePath must start and end with "/", like "/api/v1/"`);
  }
  const integration = options.integration;
  return {
    source: source as SettingsStore,
    authorize: options.authorize,
    invalidate: (environmentKey) => integration?.invalidate(environmentKey),
    basePath,
    allowPrivateNetworks: options.allowPrivateNetworks === true,
    maxBodyBytes: positive(options.maxBodyBytes, DEFAULT_MAX_BODY_BYTES, 'maxBodyBytes'),
    bodyTimeoutMs: positive(options.bodyTimeoutMs, DEFAULT_BODY_TIMEOUT_MS, 'bodyTimeoutMs'),
    log: guardLogger(options.logger ?? consoleLogger),
  };
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`${name} must be a positive number`);
  return value;
}

async function answer(exchange: Exchange, context: Context): Promise<void> {
  const { req, route } = exchange;
  const reply = (status: number, body?: ResponseBody, headers: Record<string, string> = {}): void =>
    send(req, exchange.res, status, body, { Allow: allowedMethods(route), ...headers });
  const action = actionOf(route, req.method);
  if (!action) return reply(405, methodNotAllowed(req.method ?? ''));
  // A server-side key is a secret: it goes no further, not even to authorize.
  if (route.environmentKey.startsWith('ser.')) return reply(403, PERMISSION_DENIED);
  const verdict = await context.authorize(req, { environmentKey: route.environmentKey, action: permissionOf(action) });
  if (verdict === 'unauthenticated') return reply(401, hasCredentials(req) ? INVALID_TOKEN : NOT_AUTHENTICATED, { 'WWW-Authenticate': 'Token' });
  if (verdict !== 'allow') return reply(403, PERMISSION_DENIED);
  const records = await context.source.list(route.environmentKey);
  if (records === null) return reply(403, PERMISSION_DENIED);
  if (action === 'list') return reply(200, records.map(item));
  if (action === 'create') return create(exchange, context, reply);
  const record = findRecord(records, route.id as string);
  if (!('id' in record)) return reply(404, record.missing);
  if (action === 'retrieve') return reply(200, item(record));
  if (action === 'destroy') return destroy(exchange, context, reply);
  return change(exchange, context, reply, record, action);
}

type Reply = (status: number, body?: ResponseBody, headers?: Record<string, string>) => void;

async function create(exchange: Exchange, context: Context, reply: Reply): Promise<void> {
  const checked = await readFields(exchange, context, reply, { partial: false });
  if (!checked) return;
  const saved = await refusalOr(() => context.source.save(exchange.route.environmentKey, checked), reply);
  if (!saved) return;
  context.invalidate(exchange.route.environmentKey);
  reply(201, item(saved));
}

async function change(exchange: Exchange, context: Context, reply: Reply, current: SettingsRecord, action: SettingsAction): Promise<void> {
  const checked = await readFields(exchange, context, reply, { partial: action === 'partial_update', current });
  if (!checked) return;
  const updated = await refusalOr(() => context.source.update(exchange.route.environmentKey, checked), reply);
  if (!updated) return;
  context.invalidate(exchange.route.environmentKey);
  reply(200, item(updated));
}

async function destroy(exchange: Exchange, context: Context, reply: Reply): Promise<void> {
  const removed = await refusalOr(async () => (await context.source.remove(exchange.route.environmentKey), true), reply);
  if (!removed) return;
  context.invalidate(exchange.route.environmentKey);
  reply(204);
}

/** The body's settings, checked; or undefined once the refusal is answered. */
async function readFields(
  exchange: Exchange,
  context: Context,
  reply: Reply,
  rules: { partial: boolean; current?: SettingsRecord },
): Promise<RudderStackSettings | undefined> {
  const body = await readBody(exchange.req, { maxBytes: context.maxBodyBytes, timeoutMs: context.bodyTimeoutMs });
  if ('aborted' in body) return undefined;
  if ('refused' in body) {
    reply(body.refused === 'too_large' ? 413 : 408, body.refused === 'too_large' ? bodyTooLarge(context.maxBodyBytes) : bodyTimeout(context.bodyTimeoutMs));
    return undefined;
  }
  const data: RequestData = 'parsed' in body ? parsedData(body.parsed) : requestData(body.bytes, exchange.req.headers['content-type']);
  if ('status' in data) {
    reply(data.status, data.body);
    return undefined;
  }
  if (data.pythonType !== 'dict') {
    reply(400, data.data === null ? NO_DATA : notADictionary(data.pythonType));
    return undefined;
  }
  const fields = data.data as Record<string, unknown>;
  if (typeof fields.api_key === 'string' && Object.hasOwn(fields, 'api_key')) exchange.writeKey = fields.api_key;
  const checked = checkFields(fields, { ...rules, allowPrivateNetworks: context.allowPrivateNetworks });
  if ('errors' in checked) {
    reply(400, checked.errors);
    return undefined;
  }
  return checked.settings;
}

/**
 * The store's answer; or undefined once a refusal is answered as Flagsmith does: live settings
 * exist (400), none any more (404), no environment (403), settings refused (400, by field).
 * Anything else is a failure, rethrown.
 */
async function refusalOr<T>(write: () => Promise<T>, reply: Reply): Promise<T | undefined> {
  try {
    return await write();
  } catch (error) {
    const reason = (error as { reason?: unknown } | null)?.reason;
    if (reason === 'already_exists') reply(400, ALREADY_EXISTS);
    else if (reason === 'not_found') reply(404, NO_MATCH);
    else if (reason === 'unknown_environment') reply(403, PERMISSION_DENIED);
    else if (error instanceof SettingsError) reply(400, fieldErrorsOf(error));
    else throw error;
    return undefined;
  }
}

/** A store's SettingsError as DRF's errors: each message under the field it names. */
function fieldErrorsOf(error: SettingsError): FieldErrors {
  const errors: FieldErrors = {};
  for (const message of error.errors) {
    const field = /^(api_key|base_url): /.exec(message)?.[1] ?? 'non_field_errors';
    (errors[field] ??= []).push(field === 'non_field_errors' ? message : message.slice(field.length + 2));
  }
  return errors;
}

/** The live record the `{id}` names, or the 404 body that says why there is none. */
function findRecord(records: SettingsRecord[], id: string): SettingsRecord | { missing: ResponseBody } {
  const wanted = parseId(id);
  if (wanted === undefined) return { missing: NOT_FOUND };
  return records.find((record) => BigInt(record.id) === wanted) ?? { missing: NO_MATCH };
}

/** Flagsmith's item: exactly these keys, in this order. */
function item(record: SettingsRecord): ResponseBody {
  return { id: record.id, base_url: record.base_url, api_key: record.api_key };
}

/** DRF says "Invalid token." to a request that brought credentials, "not provided" to one that did not. */
function hasCredentials(req: IncomingMessage): boolean {
  return (req.headers.authorization ?? '').trim() !== '';
}

function failed(exchange: Exchange, context: Context, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  context.log.error(
    // The key comes from the path, as anyone typed it: quoted, so it cannot forge a log line.
    `settings endpoint ${exchange.req.method ?? ''} ${routeTemplate(exchange.route)} failed for environment ${JSON.stringify(exchange.route.environmentKey)}: ` +
      redact(message, exchange.writeKey),
    { environmentKey: exchange.route.environmentKey, reason: 'settings_endpoint_failed' },
  );
  send(exchange.req, exchange.res, 500, SERVER_ERROR);
}
