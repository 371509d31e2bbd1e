import http from 'node:http';
import https from 'node:https';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import nodeFetch from 'node-fetch';
import { createGuardedLookup } from '../settings/network-guard';
import type { FetchLike, FetchResponseLike } from '../types';
import { LIBRARY_NAME, LIBRARY_VERSION } from '../version';
import { parseRetryAfter, type AttemptOutcome } from './retry-policy';

// Compression runs on libuv's thread pool, not on the event loop the host's requests share.
const gzip = promisify(gzipCallback);

/** Where one destination's batches go and how they are authorised. */
export interface Endpoint {
  /** `{dataPlaneUrl}/v1/batch`. */
  batchUrl: string;
  /** `Basic base64(writeKey + ":")`: the only place the write key travels. */
  authorization: string;
}

export function endpointFor(dataPlaneUrl: string, writeKey: string): Endpoint {
  return {
    batchUrl: `${dataPlaneUrl}/v1/batch`,
    authorization: 'Basic ' + Buffer.from(`${writeKey}:`).toString('base64'),
  };
}

export interface HttpSenderOptions {
  fetch?: FetchLike;
  gzip: boolean;
  requestTimeoutMs: number;
  allowPrivateNetworks: boolean;
}

/**
 * node-fetch over keep-alive agents. Unless private networks are allowed, every connection's DNS
 * answer is checked, so a public host name that resolves to an internal address is refused.
 */
function keepAliveFetch(allowPrivateNetworks: boolean): { fetch: FetchLike; close: () => void } {
  const lookup = allowPrivateNetworks ? undefined : createGuardedLookup();
  const agentOptions = { keepAlive: true, maxSockets: 16, ...(lookup ? { lookup } : {}) };
  const httpAgent = new http.Agent(agentOptions);
  const httpsAgent = new https.Agent(agentOptions);
  const fetch: FetchLike = (url, init) =>
    nodeFetch(url, { ...init, agent: (parsed: URL) => (parsed.protocol === 'http:' ? httpAgent : httpsAgent) });
  const close = (): void => {
    httpAgent.destroy();
    httpsAgent.destroy();
  };
  return { fetch, close };
}

/** One HTTP attempt per call; never throws, every failure is an outcome. */
export class HttpSender {
  private readonly fetch: FetchLike;
  /** Releases the default client's sockets; a host's own fetch is the host's to manage. */
  readonly close: () => void;
  private readonly userAgent = `${LIBRARY_NAME}/${LIBRARY_VERSION}`;

  constructor(private readonly options: HttpSenderOptions) {
    if (options.fetch) {
      this.fetch = options.fetch;
      this.close = () => undefined;
    } else {
      ({ fetch: this.fetch, close: this.close } = keepAliveFetch(options.allowPrivateNetworks));
    }
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
    }
    const attempt = new AbortController();
    const timer = setTimeout(() => attempt.abort(), this.options.requestTimeoutMs);
    timer.unref();
    const onShutdown = (): void => attempt.abort();
    shutdown.addEventListener('abort', onShutdown);
    try {
      const request = this.fetch(endpoint.batchUrl, {
        method: 'POST',
        headers,
        body: payload,
        signal: attempt.signal,
        redirect: 'manual',
      });
      // A host's fetch may ignore the signal; the attempt still ends on time.
      const response = await untilAborted(request, attempt.signal);
      await untilAborted(drain(response), attempt.signal);
      return { kind: 'response', status: response.status, retryAfterMs: parseRetryAfter(response.headers.get('retry-after')) };
    } catch (error) {
      if (shutdown.aborted) return { kind: 'aborted' };
      const timedOut = attempt.signal.aborted;
      const code = (error as NodeJS.ErrnoException | undefined)?.code;
      return {
        kind: 'network-error',
        timedOut,
        message: timedOut ? `no answer within ${this.options.requestTimeoutMs} ms` : errorMessage(error),
        ...(code ? { code } : {}),
      };
    } finally {
      clearTimeout(timer);
      shutdown.removeEventListener('abort', onShutdown);
    }
  }
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
