import http from 'node:http';
import https from 'node:https';
import { urlToHttpOptions } from 'node:url';
import { promisify } from 'node:util';
import { constants as zlibConstants, gzip as gzipCallback } from 'node:zlib';
import { createGuardedLookup } from '../settings/network-guard';
import type { FetchLike, FetchResponseLike } from '../types';
import { LIBRARY_NAME, LIBRARY_VERSION } from '../version';
import { parseRetryAfter, type AttemptOutcome } from './retry-policy';

// Compression runs on libuv's thread pool, not on the event loop the host's requests share, at
// zlib's fastest level: on identify batches that is a third of the CPU of the default level for
// bodies about 30% larger, and the host's CPU is what the plugin must spare.
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
}

export function endpointFor(dataPlaneUrl: string, writeKey: string): Endpoint {
  const batchUrl = `${dataPlaneUrl}/v1/batch`;
  return {
    batchUrl,
    target: urlToHttpOptions(new URL(batchUrl)),
    authorization: 'Basic ' + Buffer.from(`${writeKey}:`).toString('base64'),
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
 * lean: no fetch layer (node-fetch cost ~150 µs of CPU more per request than `http.request`),
 * each URL parsed once per destination, and a plain timer and one shutdown listener for all requests instead of
 * an AbortController per attempt (~50 µs more). Delivery reads only the status and `Retry-After`.
 */
class NodeHttpTransport implements Transport {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  /** Requests in flight, to end at once on shutdown. */
  private readonly active = new Set<() => void>();
  private watchedShutdown: AbortSignal | undefined;

  constructor(allowPrivateNetworks: boolean) {
    const lookup = allowPrivateNetworks ? undefined : createGuardedLookup();
    const agentOptions = { keepAlive: true, maxSockets: 16, ...(lookup ? { lookup } : {}) };
    this.httpAgent = new http.Agent(agentOptions);
    this.httpsAgent = new https.Agent(agentOptions);
  }

  /**
   * Settles once the answer has been read to its end, so its socket can serve the next request;
   * if the connection breaks after the status arrived, with that status (a body cut short changes
   * nothing). Redirects are never followed.
   */
  post(endpoint: Endpoint, headers: Record<string, string>, body: Buffer, timeoutMs: number, shutdown: AbortSignal): Promise<AttemptOutcome> {
    this.watch(shutdown);
    return new Promise((resolve) => {
      const { target } = endpoint;
      const secure = target.protocol === 'https:';
      const request = (secure ? https : http).request({
        ...target,
        method: 'POST',
        headers: { ...headers, 'Content-Length': String(body.length) },
        agent: secure ? this.httpsAgent : this.httpAgent,
      });
      const finish = (outcome: AttemptOutcome): void => {
        if (!this.active.delete(abort)) return;
        clearTimeout(timer);
        resolve(outcome);
      };
      const abort = (): void => {
        finish({ kind: 'aborted' });
        request.destroy();
      };
      const timer = setTimeout(() => {
        finish(timedOut(timeoutMs));
        request.destroy();
      }, timeoutMs);
      timer.unref();
      this.active.add(abort);
      request.once('response', (response) => {
        const status = response.statusCode ?? 0;
        const retryAfterMs = parseRetryAfter(headerValue(response.headers['retry-after']));
        response.once('close', () => finish({ kind: 'response', status, retryAfterMs }));
        response.resume();
      });
      request.on('error', (error) => finish(networkError(error)));
      request.end(body);
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private watch(shutdown: AbortSignal): void {
    if (this.watchedShutdown === shutdown) return;
    this.watchedShutdown = shutdown;
    shutdown.addEventListener('abort', () => [...this.active].forEach((abort) => abort()), { once: true });
  }
}

function headerValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}

/** A host's fetch. It may ignore the signal it is given; the attempt still ends on time. */
class FetchTransport implements Transport {
  constructor(private readonly fetch: FetchLike) {}

  async post(endpoint: Endpoint, headers: Record<string, string>, body: Buffer, timeoutMs: number, shutdown: AbortSignal): Promise<AttemptOutcome> {
    const attempt = new AbortController();
    const timer = setTimeout(() => attempt.abort(), timeoutMs);
    timer.unref();
    const onShutdown = (): void => attempt.abort();
    shutdown.addEventListener('abort', onShutdown);
    try {
      const request = this.fetch(endpoint.batchUrl, { method: 'POST', headers, body, signal: attempt.signal, redirect: 'manual' });
      const response = await untilAborted(request, attempt.signal);
      await untilAborted(drain(response), attempt.signal);
      return { kind: 'response', status: response.status, retryAfterMs: parseRetryAfter(response.headers.get('retry-after')) };
    } catch (error) {
      if (shutdown.aborted) return { kind: 'aborted' };
      return attempt.signal.aborted ? timedOut(timeoutMs) : networkError(error);
    } finally {
      clearTimeout(timer);
      shutdown.removeEventListener('abort', onShutdown);
    }
  }

  /** The host's fetch is the host's to manage. */
  close(): void {}
}

/** One HTTP attempt per call; never throws, every failure is an outcome. */
export class HttpSender {
  private readonly transport: Transport;
  private readonly userAgent = `${LIBRARY_NAME}/${LIBRARY_VERSION}`;

  constructor(private readonly options: HttpSenderOptions) {
    this.transport = options.fetch ? new FetchTransport(options.fetch) : new NodeHttpTransport(options.allowPrivateNetworks);
  }

  async send(endpoint: Endpoint, body: Buffer, shutdown: AbortSignal): Promise<AttemptOutcome> {
    if (shutdown.aborted) return { kind: 'aborted' };
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      Authorization: endpoint.authorization,
      'User-Agent': this.userAgent,
    };
    let payload = body;
    if (this.options.gzip) {
      payload = await gzip(body);
      headers['Content-Encoding'] = 'gzip';
      if (shutdown.aborted) return { kind: 'aborted' };
    }
    return this.transport.post(endpoint, headers, payload, this.options.requestTimeoutMs, shutdown);
  }

  /** Releases the default transport's sockets. */
  close(): void {
    this.transport.close();
  }
}

function timedOut(timeoutMs: number): AttemptOutcome {
  return { kind: 'network-error', timedOut: true, message: `no answer within ${timeoutMs} ms` };
}

function networkError(error: unknown): AttemptOutcome {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return { kind: 'network-error', timedOut: false, message: errorMessage(error), ...(code ? { code } : {}) };
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new Error('aborted'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Reads the answer's body so its keep-alive socket goes back to the pool. */
async function drain(response: FetchResponseLike): Promise<void> {
  try {
    await response.text?.();
  } catch {
    // The status is what counts; a body cut short changes nothing.
  }
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
