import http from 'node:http';
import https from 'node:https';
import { urlToHttpOptions } from 'node:url';
import { promisify } from 'node:util';
import { constants as zlibConstants, gzip as gzipCallback } from 'node:zlib';
import { redact } from '../settings/messages';
import { createGuardedLookup } from '../settings/network-guard';
import type { FetchLike, FetchResponseLike } from '../types';
import { LIBRARY_NAME, LIBRARY_VERSION } from '../version';
import { parseRetryAfter, type AttemptOutcome } from './retry-policy';
import { clearPendingTimeout, monotonicMs, pendingTimeout, untilAborted } from '../timers';

// Compression runs on libuv's thread pool, not on the event loop the host's requests share, at
// zlib's fastest level: the host's CPU is what the plugin must spare (BENCHMARKS.md has the cost
// against the default level).
const gzipAsync = promisify(gzipCallback);
const gzip = (body: Buffer): Promise<Buffer> => gzipAsync(body, { level: zlibConstants.Z_BEST_SPEED });

/** Where one destination's batches go and how they are authorised. */
export interface Endpoint {
  /** `{dataPlaneUrl}/v1/batch`. */
  batchUrl: string;
  /** The same URL as `http.request` takes it, parsed once per destination. */
  target: http.RequestOptions;
  /** `Basic base64(writeKey + ":")`: the only place the write key travels. */
  authorization: string;
  /** `redact` with this destination's write key: what every text about this endpoint passes. */
  redact(text: string): string;
}

export function endpointFor(dataPlaneUrl: string, writeKey: string): Endpoint {
  const batchUrl = `${dataPlaneUrl}/v1/batch`;
  return {
    batchUrl,
    target: urlToHttpOptions(new URL(batchUrl)),
    authorization: 'Basic ' + Buffer.from(`${writeKey}:`).toString('base64'),
    redact: (text) => redact(text, writeKey),
  };
}

export interface HttpSenderOptions {
  fetch?: FetchLike;
  gzip: boolean;
  requestTimeoutMs: number;
  allowPrivateNetworks: boolean;
}

/** Sends one request body and tells what came of it; never throws. */
interface Transport {
  post(endpoint: Endpoint, headers: Record<string, string>, body: Buffer, timeoutMs: number, shutdown: AbortSignal): Promise<AttemptOutcome>;
  close(): void;
}

/**
 * The default transport: Node's own HTTP client over keep-alive agents. Unless private networks
 * are allowed, every connection's DNS answer is checked, so a public host name that resolves to an
 * internal address is refused.
 *
 * Requests are most of what delivery spends per event after serializing, so this keeps each one
 * lean (BENCHMARKS.md has the figures): no fetch layer, each URL parsed once per destination, and
 * a plain timer and one shutdown listener for all requests instead of an AbortController per attempt. Delivery reads only the status and `Retry-After`.
 */
class NodeHttpTransport implements Transport {
  readonly #httpAgent: http.Agent;
  readonly #httpsAgent: https.Agent;
  /** Requests in flight, to end at once on shutdown. */
  readonly #active = new Set<() => void>();
  #watchedShutdown: AbortSignal | undefined;

  constructor(allowPrivateNetworks: boolean) {
    const lookup = allowPrivateNetworks ? undefined : createGuardedLookup();
    const agentOptions = { keepAlive: true, maxSockets: 16, ...(lookup ? { lookup } : {}) };
    this.#httpAgent = new http.Agent(agentOptions);
    this.#httpsAgent = new https.Agent(agentOptions);
  }

  /**
   * The status decides: once it arrives, a body cut short, stalled or endless changes nothing.
   * Settles when the body has been read or dropped (see discardBody), so a socket whose body
   * ended is free for the next request. Redirects are never followed.
   */
  post(endpoint: Endpoint, headers: Record<string, string>, body: Buffer, timeoutMs: number, shutdown: AbortSignal): Promise<AttemptOutcome> {
    this.#watch(shutdown);
    return new Promise((resolve) => {
      const startedAt = monotonicMs();
      const { target } = endpoint;
      const secure = target.protocol === 'https:';
      const request = (secure ? https : http).request({
        ...target,
        method: 'POST',
        headers: { ...headers, 'Content-Length': String(body.length) },
        agent: secure ? this.#httpsAgent : this.#httpAgent,
      });
      let answer: AttemptOutcome | undefined;
      const finish = (outcome: AttemptOutcome): void => {
        if (!this.#active.delete(abort)) return;
        clearTimeout(timer);
        resolve(timed(outcome, startedAt));
      };
      const abort = (): void => {
        finish(answer ?? { kind: 'aborted' });
        request.destroy();
      };
      const timer = setTimeout(() => {
        finish(timedOut(timeoutMs));
        request.destroy();
      }, timeoutMs);
      timer.unref();
      this.#active.add(abort);
      request.once('response', (response) => {
        clearTimeout(timer);
        // Timed at the status: the body that follows decides nothing.
        const outcome: AttemptOutcome = timed(
          { kind: 'response', status: response.statusCode ?? 0, retryAfterMs: parseRetryAfter(headerValue(response.headers['retry-after'])) },
          startedAt,
        );
        answer = outcome;
        response.once('close', () => finish(outcome));
        discardBody(response, Math.min(timeoutMs, BODY_WAIT_MS));
      });
      request.on('error', (error) => finish(answer ?? networkError(error, endpoint)));
      request.end(body);
    });
  }

  close(): void {
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
  }

  #watch(shutdown: AbortSignal): void {
    if (this.#watchedShutdown === shutdown) return;
    this.#watchedShutdown = shutdown;
    shutdown.addEventListener('abort', () => [...this.#active].forEach((abort) => abort()), { once: true });
  }
}

/**
 * Delivery reads only the status and `Retry-After`. A short body that ends at once (rudder-server
 * answers "OK") is read so its keep-alive socket serves the next request; any other body is
 * dropped with its socket, so a stalled or endless one holds neither a socket nor the CPU.
 */
const MAX_DISCARDED_BODY_BYTES = 64 * 1024;
/** A body that has not ended by then is stalled: it usually arrives with its headers. */
const BODY_WAIT_MS = 250;

function discardBody(response: http.IncomingMessage, waitMs: number): void {
  let bytes = 0;
  const drop = (): void => {
    response.destroy();
  };
  const timer = setTimeout(drop, waitMs);
  timer.unref();
  response.once('close', () => clearTimeout(timer));
  response.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > MAX_DISCARDED_BODY_BYTES) drop();
  });
}

function headerValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}

/** A host's fetch. It may ignore the signal it is given; the attempt still ends on time. */
class FetchTransport implements Transport {
  readonly #fetch: FetchLike;

  constructor(fetch: FetchLike) {
    this.#fetch = fetch;
  }

  async post(endpoint: Endpoint, headers: Record<string, string>, body: Buffer, timeoutMs: number, shutdown: AbortSignal): Promise<AttemptOutcome> {
    const attempt = new AbortController();
    const timer = pendingTimeout(() => attempt.abort(), timeoutMs);
    const onShutdown = (): void => attempt.abort();
    shutdown.addEventListener('abort', onShutdown);
    const startedAt = monotonicMs();
    try {
      const request = this.#fetch(endpoint.batchUrl, { method: 'POST', headers, body, signal: attempt.signal, redirect: 'manual' });
      const response = await untilAborted(request, attempt.signal);
      // The status decides; the body is not read.
      cancelBody(response);
      return timed({ kind: 'response', status: response.status, retryAfterMs: parseRetryAfter(response.headers.get('retry-after')) }, startedAt);
    } catch (error) {
      if (shutdown.aborted) return { kind: 'aborted' };
      return timed(attempt.signal.aborted ? timedOut(timeoutMs) : networkError(error, endpoint), startedAt);
    } finally {
      clearPendingTimeout(timer);
      shutdown.removeEventListener('abort', onShutdown);
    }
  }

  /** The host's fetch is the host's to manage. */
  close(): void {}
}

/** One HTTP attempt per call; never throws, every failure is an outcome. */
export class HttpSender {
  readonly #transport: Transport;
  readonly #userAgent = `${LIBRARY_NAME}/${LIBRARY_VERSION}`;

  readonly #options: HttpSenderOptions;

  constructor(options: HttpSenderOptions) {
    this.#options = options;
    this.#transport = options.fetch ? new FetchTransport(options.fetch) : new NodeHttpTransport(options.allowPrivateNetworks);
  }

  async send(endpoint: Endpoint, body: Buffer, shutdown: AbortSignal): Promise<AttemptOutcome> {
    if (shutdown.aborted) return { kind: 'aborted' };
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      Authorization: endpoint.authorization,
      'User-Agent': this.#userAgent,
    };
    let payload = body;
    if (this.#options.gzip) {
      try {
        payload = await gzip(body);
      } catch (error) {
        return networkError(error, endpoint);
      }
      headers['Content-Encoding'] = 'gzip';
      if (shutdown.aborted) return { kind: 'aborted' };
    }
    const outcome = await this.#transport.post(endpoint, headers, payload, this.#options.requestTimeoutMs, shutdown);
    if (outcome.kind !== 'aborted') outcome.bytes = payload.length;
    return outcome;
  }

  /** Releases the default transport's sockets. */
  close(): void {
    this.#transport.close();
  }
}

/** Notes the attempt's own time, from its start to now, unless it was noted already (at the status) or the attempt was given up. */
function timed(outcome: AttemptOutcome, startedAt: number): AttemptOutcome {
  if (outcome.kind !== 'aborted') outcome.durationMs ??= monotonicMs() - startedAt;
  return outcome;
}

function timedOut(timeoutMs: number): AttemptOutcome {
  return { kind: 'network-error', timedOut: true, message: `no answer within ${timeoutMs} ms` };
}

/**
 * The network stack's or the host fetch's words enter our outcomes here, and only redacted: they
 * may name the host (a key typed as a host name label, in ENOTFOUND) or the whole URL (node-fetch).
 */
function networkError(error: unknown, endpoint: Endpoint): AttemptOutcome {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return { kind: 'network-error', timedOut: false, message: endpoint.redact(errorMessage(error)), ...(code ? { code } : {}) };
}

/**
 * Drops the body of a host fetch's answer without reading it: a web stream (fetch, undici) is
 * cancelled, a Node stream (node-fetch) destroyed. Never waits: a host's stream that does not
 * settle must not hold the attempt.
 */
function cancelBody(response: FetchResponseLike): void {
  try {
    const body = response.body;
    if (typeof body?.cancel === 'function') Promise.resolve(body.cancel()).catch(() => undefined);
    else if (typeof body?.destroy === 'function') body.destroy();
  } catch {
    // The status is what counts; a body that cannot be dropped is the host's fetch's to clean up.
  }
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
