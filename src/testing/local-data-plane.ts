/**
 * A local RudderStack-compatible data plane: a real HTTP server on a loopback address that
 * answers `POST /v1/batch` and `POST /v1/identify` the way rudder-server's gateway does
 * (statuses, text bodies, order of checks), records what it receives, and can be scripted to
 * fail. Used by the integration tests, the demo, the `sink` command and host maintainers.
 */
import * as http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { BlockList, isIPv6, type AddressInfo } from 'node:net';
import * as zlib from 'node:zlib';
import { isEmptyToGateway } from '../mapping/gateway-empty';

/** One event as it arrived: the parsed JSON object, nothing added. */
export type ReceivedEvent = Record<string, unknown>;

/** The two endpoints the data plane answers. */
export type DataPlanePath = '/v1/batch' | '/v1/identify';

/** One accepted request. */
export interface ReceivedBatch {
  /** The endpoint it was sent to. */
  path: DataPlanePath;
  /** User of its Basic credentials. */
  writeKey: string;
  /** Its events, in order. */
  events: ReceivedEvent[];
  /** `sentAt` of the request body (the envelope of /v1/batch, the event of /v1/identify); null when absent or not a string. */
  sentAt: string | null;
  /** Whether the body came gzipped. */
  gzip: boolean;
  /** Size of the decompressed body. */
  bytes: number;
  /** When its events were stored. */
  receivedAt: Date;
}

/**
 * - `answered`: a status was sent.
 * - `reset`, `hang`, `dropped-after-body`: what a scripted failure did.
 * - `client-aborted`: the client went away before its body was read; nothing was answered.
 */
export type RequestOutcome = 'answered' | 'reset' | 'hang' | 'dropped-after-body' | 'client-aborted';

/** Every request, accepted or not. */
export interface ReceivedRequest {
  /** The HTTP method. */
  method: string;
  /** The request target without its query string. */
  path: string;
  /** The request headers, as Node parsed them. */
  headers: IncomingHttpHeaders;
  /** User of the Basic credentials; null when the Authorization header is missing or malformed. */
  writeKey: string | null;
  /** Status answered; null when nothing was answered. */
  status: number | null;
  /** The decompressed body; empty when it was over the limit, not valid gzip, or cut off by the client. */
  body: Buffer;
  /** Whether the body came gzipped. */
  gzip: boolean;
  /** What became of it. */
  outcome: RequestOutcome;
}

/** One scripted answer for `fail()`: a status, or something worse. */
export type FailureSpec =
  | {
      /** Answer with this status, storing nothing. */
      status: number;
      /** The body (default: the gateway's text for the status). */
      body?: string;
      /** Headers to add, e.g. `Retry-After`. */
      headers?: Record<string, string>;
    }
  | {
      /** Read the body, then reset the connection (TCP RST) without answering. */
      action: 'reset';
    }
  | {
      /** Read the body and never answer (until `close()`). */
      action: 'hang';
    }
  | {
      /** Handle the request normally (storing its events when valid), then close the socket without answering. */
      action: 'accept-then-drop';
    };

/** Options of `startLocalDataPlane`; all are optional. */
export interface LocalDataPlaneOptions {
  /** Default 0: any free port. */
  port?: number;
  /** Default '127.0.0.1'. Only loopback addresses (127.0.0.0/8, ::1) and 'localhost' are allowed. */
  host?: string;
  /** When given, other keys are answered 401 "invalid write key"; when absent any key is accepted. */
  writeKeys?: string[];
  /** Decompressed body limit, default 4 096 000 bytes (the gateway's 4000 KiB); over it: 413. */
  maxRequestBytes?: number;
  /**
   * Called for each accepted batch, when its events are stored. It should not throw: an error
   * it throws is reported with `process.emitWarning` and changes nothing else.
   */
  onBatch?: (batch: ReceivedBatch) => void;
  /**
   * A poison event: a request holding an event for which this returns true is answered 400
   * "event is not a valid rudder event" and nothing of it is stored, as the gateway refuses a
   * whole request for one bad event. Called only for events that pass the gateway's own checks.
   */
  rejectEvent?: (event: ReceivedEvent) => boolean;
  /** Called for every request once it is settled, like `onBatch` (what it throws is only reported). */
  onRequest?: (request: ReceivedRequest) => void;
  /** Answers a random share of the requests the failure script leaves alone with a status, to rehearse outages. */
  randomFailures?: RandomFailures;
}

/** The `randomFailures` option: a share of requests answered with a status. */
export interface RandomFailures {
  /** Share of requests that fail, from 0 to 1. */
  rate: number;
  /** Status they are answered with, e.g. 503. */
  status: number;
  /** Numbers from 0 (inclusive) to 1 (exclusive); default Math.random. */
  random?: () => number;
}

/** A running local data plane: what it received, a failure script, and `close()`. */
export interface LocalDataPlane {
  /** `http://127.0.0.1:PORT` (the address actually bound). */
  readonly url: string;
  /** Every event of every accepted request, in the order the requests were accepted. */
  readonly events: ReceivedEvent[];
  /** Every accepted request, in the order accepted. */
  readonly batches: ReceivedBatch[];
  /** Every request, in the order each was settled (answered, dropped, hung or abandoned). */
  readonly requests: ReceivedRequest[];
  /**
   * Appends to the script of answers: each spec is used by one request, in order of arrival
   * (whatever its path); once the script is used up, normal behaviour resumes.
   */
  fail(next: FailureSpec | FailureSpec[]): void;
  /** Resolves with a copy of `events` once at least `n` arrived; rejects after `timeoutMs` (default 10 000) or on `close()`. */
  waitForEvents(n: number, timeoutMs?: number): Promise<ReceivedEvent[]>;
  /** Clears events, batches, requests and the failure script. */
  reset(): void;
  /** Stops listening and destroys every open connection (keep-alive and hanging ones alike). */
  close(): Promise<void>;
}

const DEFAULT_HOST = '127.0.0.1';
/** rudder-server's `Gateway.maxReqSizeInKB` default: 4000 KiB. */
const DEFAULT_MAX_REQUEST_BYTES = 4_096_000;
const DEFAULT_WAIT_TIMEOUT_MS = 10_000;
const ENDPOINTS: ReadonlySet<string> = new Set<DataPlanePath>(['/v1/batch', '/v1/identify']);
const FAILURE_ACTIONS: ReadonlySet<string> = new Set(['reset', 'hang', 'accept-then-drop']);

interface Rejection {
  status: number;
  text: string;
}

/** The gateway's answers, lower-case as it has written them since 2025. */
const REJECTIONS = {
  // Go's router answer for an unknown route.
  notFound: { status: 404, text: '404 page not found' },
  noWriteKey: { status: 401, text: 'failed to read writekey from header' },
  invalidWriteKey: { status: 401, text: 'invalid write key' },
  tooLarge: { status: 413, text: 'request size exceeds max limit' },
  invalidJson: { status: 400, text: 'invalid json' },
  emptyBatch: { status: 400, text: 'empty batch payload' },
  nonIdentifiable: { status: 400, text: 'request neither has anonymousId nor userId' },
  notRudderEvent: { status: 400, text: 'event is not a valid rudder event' },
} satisfies Record<string, Rejection>;

/** Default body of a scripted status: the gateway's text where it has one, else the HTTP reason phrase. */
const SCRIPTED_STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'invalid json',
  401: 'invalid write key',
  404: 'source is disabled',
  413: 'request size exceeds max limit',
  429: 'max requests limit reached',
};

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

interface DataPlaneSettings {
  port: number;
  host: string;
  writeKeys: ReadonlySet<string> | null;
  maxRequestBytes: number;
  onBatch: ((batch: ReceivedBatch) => void) | null;
  rejectEvent: ((event: ReceivedEvent) => boolean) | null;
  onRequest: ((request: ReceivedRequest) => void) | null;
  randomFailures: Required<RandomFailures> | null;
}

type BodyReading = { kind: 'complete'; body: Buffer } | { kind: 'too-large' } | { kind: 'bad-gzip' } | { kind: 'client-gone' };

type ReadBody = Exclude<BodyReading, { kind: 'client-gone' }>;

type Verdict = { accepted: false; rejection: Rejection } | { accepted: true; events: ReceivedEvent[]; sentAt: string | null };

/** What is known of a request once its body is read, before it is answered. */
type RequestFacts = Omit<ReceivedRequest, 'status' | 'outcome'>;

interface EventWaiter {
  count: number;
  resolve: (events: ReceivedEvent[]) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Starts a local data plane on a free loopback port (or the one given) and resolves once it
 * listens. Close it with `close()`.
 */
export async function startLocalDataPlane(options: LocalDataPlaneOptions = {}): Promise<LocalDataPlane> {
  const settings = settingsFrom(options);
  const server = http.createServer();
  await listen(server, settings.port, settings.host);
  return new LocalDataPlaneServer(server, settings);
}

class LocalDataPlaneServer implements LocalDataPlane {
  readonly url: string;
  readonly events: ReceivedEvent[] = [];
  readonly batches: ReceivedBatch[] = [];
  readonly requests: ReceivedRequest[] = [];
  readonly #script: FailureSpec[] = [];
  readonly #waiters = new Set<EventWaiter>();
  #closing: Promise<void> | null = null;

  readonly #server: http.Server;
  readonly #settings: DataPlaneSettings;

  constructor(server: http.Server, settings: DataPlaneSettings) {
    this.#server = server;
    this.#settings = settings;
    this.url = urlOf(server.address() as AddressInfo);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.#handle(req, res).catch((error: unknown) => {
        // Only a bug here can get this far: make it visible without failing the host's run.
        process.emitWarning(`local data plane: ${describeError(error)}`);
        res.destroy();
      });
    });
  }

  fail(next: FailureSpec | FailureSpec[]): void {
    const specs = Array.isArray(next) ? next : [next];
    specs.forEach(checkFailureSpec);
    this.#script.push(...specs);
  }

  waitForEvents(n: number, timeoutMs: number = DEFAULT_WAIT_TIMEOUT_MS): Promise<ReceivedEvent[]> {
    if (this.events.length >= n) return Promise.resolve([...this.events]);
    return new Promise((resolve, reject) => {
      const waiter: EventWaiter = {
        count: n,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters.delete(waiter);
          reject(new Error(`waitForEvents(${n}): ${this.#shortfall(n)} within ${timeoutMs} ms; ${summarize(this.requests)}`));
        }, timeoutMs).unref(),
      };
      this.#waiters.add(waiter);
    });
  }

  reset(): void {
    this.events.length = 0;
    this.batches.length = 0;
    this.requests.length = 0;
    this.#script.length = 0;
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutDown();
    return this.#closing;
  }

  async #shutDown(): Promise<void> {
    for (const waiter of this.#waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error(`waitForEvents(${waiter.count}): the data plane was closed; ${this.#shortfall(waiter.count)}`));
    }
    this.#waiters.clear();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    // server.close() alone would wait for hanging and keep-alive connections.
    this.#server.closeAllConnections();
    await closed;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Taken on arrival, so concurrent requests use the script in the order they came.
    const failure = this.#script.shift() ?? this.#randomFailure();
    const gzip = isGzipEncoded(req.headers);
    const reading = await readBody(req, gzip, this.#settings.maxRequestBytes);
    const facts: RequestFacts = {
      method: req.method ?? '',
      path: (req.url ?? '').split('?')[0],
      headers: req.headers,
      writeKey: writeKeyFrom(req.headers.authorization),
      body: reading.kind === 'complete' ? reading.body : Buffer.alloc(0),
      gzip,
    };
    if (reading.kind === 'client-gone') {
      this.#record(facts, null, 'client-aborted');
    } else if (failure) {
      this.#playFailure(failure, facts, reading, res);
    } else {
      this.#answerNormally(facts, reading, res);
    }
  }

  #answerNormally(facts: RequestFacts, reading: ReadBody, res: ServerResponse): void {
    const verdict = judge(facts, reading, this.#settings.writeKeys, this.#settings.rejectEvent);
    if (verdict.accepted) {
      this.#store(facts, verdict);
      answer(res, 200, 'ok');
      this.#record(facts, 200, 'answered');
    } else {
      answer(res, verdict.rejection.status, `${verdict.rejection.text}\n`);
      this.#record(facts, verdict.rejection.status, 'answered');
    }
  }

  #playFailure(failure: FailureSpec, facts: RequestFacts, reading: ReadBody, res: ServerResponse): void {
    if ('status' in failure) {
      answer(res, failure.status, failure.body ?? scriptedBody(failure.status), failure.headers);
      this.#record(facts, failure.status, 'answered');
      return;
    }
    switch (failure.action) {
      case 'reset':
        res.socket?.resetAndDestroy();
        this.#record(facts, null, 'reset');
        return;
      case 'hang':
        this.#record(facts, null, 'hang');
        return;
      case 'accept-then-drop': {
        const verdict = judge(facts, reading, this.#settings.writeKeys, this.#settings.rejectEvent);
        if (verdict.accepted) this.#store(facts, verdict);
        res.socket?.destroy();
        this.#record(facts, null, 'dropped-after-body');
        return;
      }
    }
  }

  #randomFailure(): FailureSpec | undefined {
    const random = this.#settings.randomFailures;
    return random && random.random() < random.rate ? { status: random.status } : undefined;
  }

  #store(facts: RequestFacts, verdict: Extract<Verdict, { accepted: true }>): void {
    const batch: ReceivedBatch = {
      path: facts.path as DataPlanePath,
      // judge() accepts only requests with a write key.
      writeKey: facts.writeKey as string,
      events: verdict.events,
      sentAt: verdict.sentAt,
      gzip: facts.gzip,
      bytes: facts.body.length,
      receivedAt: new Date(),
    };
    this.batches.push(batch);
    this.events.push(...verdict.events);
    this.#wakeWaiters();
    this.#notifyOnBatch(batch);
  }

  #wakeWaiters(): void {
    for (const waiter of this.#waiters) {
      if (this.events.length < waiter.count) continue;
      clearTimeout(waiter.timer);
      this.#waiters.delete(waiter);
      waiter.resolve([...this.events]);
    }
  }

  #notifyOnBatch(batch: ReceivedBatch): void {
    if (!this.#settings.onBatch) return;
    try {
      this.#settings.onBatch(batch);
    } catch (error) {
      process.emitWarning(`local data plane: onBatch threw: ${describeError(error)}`);
    }
  }

  #record(facts: RequestFacts, status: number | null, outcome: RequestOutcome): void {
    const request: ReceivedRequest = { ...facts, status, outcome };
    this.requests.push(request);
    if (!this.#settings.onRequest) return;
    try {
      this.#settings.onRequest(request);
    } catch (error) {
      process.emitWarning(`local data plane: onRequest threw: ${describeError(error)}`);
    }
  }

  #shortfall(n: number): string {
    return `expected at least ${n} event(s), ${this.events.length} arrived`;
  }
}

function settingsFrom(options: LocalDataPlaneOptions): DataPlaneSettings {
  const host = options.host ?? DEFAULT_HOST;
  if (!isLoopback(host)) {
    throw new Error(`startLocalDataPlane: host "${host}" is not a loopback address; the local data plane listens only on 127.0.0.0/8, ::1 or localhost`);
  }
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(`startLocalDataPlane: port must be an integer from 0 to 65535, got ${String(port)}`);
  }
  const maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  if (!Number.isInteger(maxRequestBytes) || maxRequestBytes < 1) {
    throw new RangeError(`startLocalDataPlane: maxRequestBytes must be a positive integer, got ${String(maxRequestBytes)}`);
  }
  return {
    port,
    host,
    writeKeys: options.writeKeys ? new Set(options.writeKeys) : null,
    maxRequestBytes,
    onBatch: options.onBatch ?? null,
    rejectEvent: options.rejectEvent ?? null,
    onRequest: options.onRequest ?? null,
    randomFailures: randomFailuresFrom(options.randomFailures),
  };
}

function randomFailuresFrom(options: RandomFailures | undefined): Required<RandomFailures> | null {
  if (!options) return null;
  if (typeof options.rate !== 'number' || !(options.rate >= 0 && options.rate <= 1)) {
    throw new RangeError(`startLocalDataPlane: randomFailures.rate must be a number from 0 to 1, got ${String(options.rate)}`);
  }
  if (!Number.isInteger(options.status) || options.status < 200 || options.status > 599) {
    throw new RangeError(`startLocalDataPlane: randomFailures.status must be an integer from 200 to 599, got ${String(options.status)}`);
  }
  return { rate: options.rate, status: options.status, random: options.random ?? Math.random };
}

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  return LOOPBACK.check(host, isIPv6(host) ? 'ipv6' : 'ipv4');
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function urlOf(address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

function checkFailureSpec(spec: FailureSpec): void {
  if ('status' in spec) {
    if (!Number.isInteger(spec.status) || spec.status < 200 || spec.status > 599) {
      throw new RangeError(`fail(): status must be an integer from 200 to 599, got ${String(spec.status)}`);
    }
    // Checked now, so a bad header fails the test that scripted it rather than a request later.
    for (const [name, value] of Object.entries(spec.headers ?? {})) {
      http.validateHeaderName(name);
      http.validateHeaderValue(name, value);
    }
  } else if (!FAILURE_ACTIONS.has(spec.action)) {
    throw new TypeError(`fail(): unknown action "${String(spec.action)}"; expected reset, hang or accept-then-drop`);
  }
}

function isGzipEncoded(headers: IncomingHttpHeaders): boolean {
  return headers['content-encoding']?.trim().toLowerCase() === 'gzip';
}

/**
 * Reads the body, gunzipping it when asked, keeping at most `maxBytes` decompressed bytes.
 * Past the limit, or on bad gzip, it stops keeping and decoding but drains the rest: the
 * gateway reads whole bodies before answering, so the client gets the answer, not a broken pipe.
 */
function readBody(req: IncomingMessage, gzip: boolean, maxBytes: number): Promise<BodyReading> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let problem: BodyReading | null = null;
    let requestEnded = false;
    let decodingEnded = !gzip;
    const gunzip = gzip ? zlib.createGunzip() : null;

    const settleWhenDone = (): void => {
      if (requestEnded && decodingEnded) resolve(problem ?? { kind: 'complete', body: Buffer.concat(chunks) });
    };
    const giveUp = (reason: BodyReading): void => {
      problem = reason;
      chunks.length = 0;
      if (gunzip) {
        req.unpipe(gunzip);
        gunzip.destroy();
        req.resume();
        decodingEnded = true;
      }
      settleWhenDone();
    };
    const keep = (chunk: Buffer): void => {
      if (problem) return;
      size += chunk.length;
      if (size > maxBytes) giveUp({ kind: 'too-large' });
      else chunks.push(chunk);
    };

    if (gunzip) {
      gunzip.on('data', keep);
      gunzip.on('end', () => {
        decodingEnded = true;
        settleWhenDone();
      });
      gunzip.on('error', () => {
        if (!problem) giveUp({ kind: 'bad-gzip' });
      });
      req.pipe(gunzip);
    } else {
      req.on('data', keep);
    }
    req.on('end', () => {
      requestEnded = true;
      settleWhenDone();
    });
    req.on('error', () => resolve({ kind: 'client-gone' }));
    req.on('close', () => {
      if (!req.complete) resolve({ kind: 'client-gone' });
    });
  });
}

/**
 * Go's `Request.BasicAuth` as the gateway uses it: "Basic " (any case), strict padded base64,
 * a colon; the password is ignored and an empty user counts as no write key.
 */
function writeKeyFrom(authorization: string | undefined): string | null {
  const prefix = 'basic ';
  if (!authorization || authorization.slice(0, prefix.length).toLowerCase() !== prefix) return null;
  const encoded = authorization.slice(prefix.length);
  if (!STRICT_BASE64.test(encoded)) return null;
  const credentials = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = credentials.indexOf(':');
  return colon > 0 ? credentials.slice(0, colon) : null;
}

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The gateway's checks, in its order. A bad gzip body is answered like unreadable JSON (the closest answer it has). */
function judge(
  facts: RequestFacts,
  reading: ReadBody,
  writeKeys: ReadonlySet<string> | null,
  rejectEvent: ((event: ReceivedEvent) => boolean) | null = null,
): Verdict {
  const reject = (rejection: Rejection): Verdict => ({ accepted: false, rejection });
  if (facts.method !== 'POST' || !ENDPOINTS.has(facts.path)) return reject(REJECTIONS.notFound);
  if (facts.writeKey === null) return reject(REJECTIONS.noWriteKey);
  if (writeKeys && !writeKeys.has(facts.writeKey)) return reject(REJECTIONS.invalidWriteKey);
  if (reading.kind === 'too-large') return reject(REJECTIONS.tooLarge);
  if (reading.kind === 'bad-gzip') return reject(REJECTIONS.invalidJson);

  let payload: unknown;
  try {
    payload = JSON.parse(reading.body.toString('utf8'));
  } catch {
    return reject(REJECTIONS.invalidJson);
  }
  const isBatch = facts.path === '/v1/batch';
  const events = isBatch ? batchItems(payload) : [payload];
  if (events.length === 0) return reject(REJECTIONS.emptyBatch);
  for (const event of events) {
    // /v1/identify needs no `type`: the gateway sets it from the endpoint.
    const problem = eventProblem(event, isBatch) ?? (rejectEvent?.(event as ReceivedEvent) ? REJECTIONS.notRudderEvent : null);
    if (problem) return reject(problem);
  }
  const sentAt = isRecord(payload) && typeof payload.sentAt === 'string' ? payload.sentAt : null;
  return { accepted: true, events: events as ReceivedEvent[], sentAt };
}

/** The gateway reads `batch` with gjson: absent or null is empty, a single non-array value is a batch of one. */
function batchItems(payload: unknown): unknown[] {
  const batch = isRecord(payload) ? payload.batch : undefined;
  if (batch === undefined || batch === null) return [];
  return Array.isArray(batch) ? batch : [batch];
}

function eventProblem(event: unknown, typeRequired: boolean): Rejection | null {
  if (!isRecord(event)) return REJECTIONS.notRudderEvent;
  if (!hasIdentifier(event.userId) && !hasIdentifier(event.anonymousId)) return REJECTIONS.nonIdentifiable;
  if (typeRequired && (typeof event.type !== 'string' || event.type === '')) return REJECTIONS.notRudderEvent;
  return null;
}

/**
 * The gateway stringifies an id, strips what does not show and trims it: a string with nothing
 * visible is no id, a number is one.
 */
function hasIdentifier(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  return typeof value !== 'string' || !isEmptyToGateway(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function scriptedBody(status: number): string {
  const text = SCRIPTED_STATUS_TEXT[status] ?? (http.STATUS_CODES[status] ?? `status ${status}`).toLowerCase();
  return status >= 400 ? `${text}\n` : text;
}

/** Headers as Go writes them: text/plain and a length always, `nosniff` on errors (Go's http.Error, which also ends the text with a newline). */
function answer(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    ...(status >= 400 ? { 'X-Content-Type-Options': 'nosniff' } : {}),
    ...headers,
  });
  res.end(body);
}

function summarize(requests: readonly ReceivedRequest[]): string {
  if (requests.length === 0) return 'no request reached the data plane';
  const counts = new Map<string, number>();
  for (const request of requests) {
    const label = request.outcome === 'answered' ? `${request.status} ${request.path}` : `${request.outcome} ${request.path}`;
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  const parts = [...counts].map(([label, count]) => `${count} × ${label}`);
  return `${requests.length} request(s) reached it: ${parts.join(', ')}`;
}

function describeError(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
