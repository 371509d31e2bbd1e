/**
 * HttpSender against a real HTTP server on 127.0.0.1, with its default transport and with a host's
 * fetch: what each kind of answer, or no answer, becomes.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { endpointFor, HttpSender } from '../../src/delivery/http-sender';
import type { BatchResult, FetchLike, IntegrationStats } from '../../src/types';
import { closeHarnesses, createIntegration, identityContext } from '../helpers/harness';

const WRITE_KEY = 'write-key-never-shown';
const body = Buffer.from('{"batch":[],"sentAt":"2026-11-28T10:00:00.000Z"}');
/** What an attempt that reached the network adds to its outcome: its own time, and its body's bytes on the wire. */
const onTheWire = (bytes: number): { durationMs: unknown; bytes: number } => ({ durationMs: expect.any(Number), bytes });

interface Server {
  url: string;
  connections: number;
  requests: Array<{ headers: http.IncomingHttpHeaders; body: string }>;
  /** Settles when the next connection made closes (here: the client dropped it). */
  nextConnectionClosed(): Promise<void>;
  close(): Promise<void>;
}

/** An answer with this status whose body stops after its first bytes, and never ends. */
function stalling(status: number): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  return (_req, res) => {
    res.writeHead(status, { 'Content-Length': '1000' });
    res.write('OK');
  };
}

/** An answer with this status whose body never ends: written as fast as the client reads it. */
function pouring(status: number): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const chunk = Buffer.alloc(16 * 1024, 'x');
  return (_req, res) => {
    res.writeHead(status, { 'Content-Type': 'text/plain' });
    const pour = (): void => {
      while (!res.destroyed && res.write(chunk));
    };
    res.on('drain', pour);
    pour();
  };
}

async function serve(answer: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<Server> {
  const sockets = new Set<Socket>();
  const state = { connections: 0, requests: [] as Server['requests'] };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      state.requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString() });
      answer(req, res);
    });
  });
  server.on('connection', (socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get connections() {
      return state.connections;
    },
    requests: state.requests,
    nextConnectionClosed: () =>
      new Promise<void>((resolve) => {
        server.once('connection', (socket: Socket) => socket.once('close', () => resolve()));
      }),
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe('HttpSender with its default transport', () => {
  let server: Server | undefined;
  let sender: HttpSender | undefined;
  const never = new AbortController().signal;

  function senderFor(requestTimeoutMs = 5_000): HttpSender {
    sender = new HttpSender({ gzip: false, requestTimeoutMs, allowPrivateNetworks: true });
    return sender;
  }

  afterEach(async () => {
    sender?.close();
    await server?.close();
    server = undefined;
  });

  it('posts the body with its headers, and reuses one kept-alive connection', async () => {
    server = await serve((_req, res) => res.end('OK'));
    const endpoint = endpointFor(server.url, WRITE_KEY);
    const sending = senderFor();
    for (let i = 0; i < 3; i++) {
      await expect(sending.send(endpoint, body, never)).resolves.toEqual({ kind: 'response', status: 200, retryAfterMs: undefined, ...onTheWire(body.length) });
    }
    expect(server.connections).toBe(1);
    expect(server.requests).toHaveLength(3);
    const [first] = server.requests;
    expect(first!.body).toBe(body.toString());
    expect(first!.headers).toMatchObject({
      'content-type': 'application/json',
      'content-length': String(body.length),
      authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`,
    });
  });

  it('reads Retry-After from the answer', async () => {
    server = await serve((_req, res) => {
      res.writeHead(429, { 'Retry-After': '3' });
      res.end('Too Many Requests');
    });
    await expect(senderFor().send(endpointFor(server.url, WRITE_KEY), body, never)).resolves.toEqual({
      kind: 'response',
      status: 429,
      retryAfterMs: 3_000,
      ...onTheWire(body.length),
    });
  });

  it('counts the status when the connection breaks in the middle of the answer', async () => {
    server = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Length': '1000' });
      res.write('OK');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    await expect(senderFor().send(endpointFor(server.url, WRITE_KEY), body, never)).resolves.toMatchObject({ kind: 'response', status: 200 });
  });

  it('counts the status of an answer whose body stalls, and drops that body', async () => {
    server = await serve(stalling(200));
    const dropped = server.nextConnectionClosed();
    await expect(senderFor(2_000).send(endpointFor(server.url, WRITE_KEY), body, never)).resolves.toEqual({
      kind: 'response',
      status: 200,
      retryAfterMs: undefined,
      ...onTheWire(body.length),
    });
    await dropped;
    expect(server.requests).toHaveLength(1);
  });

  it.each([200, 503])('counts the status of an answer %i whose body never ends, and drops that body', async (status) => {
    server = await serve(pouring(status));
    const dropped = server.nextConnectionClosed();
    await expect(senderFor(2_000).send(endpointFor(server.url, WRITE_KEY), body, never)).resolves.toMatchObject({ kind: 'response', status });
    await dropped;
  });

  it('does not follow a redirect', async () => {
    server = await serve((_req, res) => {
      res.writeHead(307, { Location: 'http://127.0.0.1:9/elsewhere', 'Content-Length': '0' });
      res.end();
    });
    await expect(senderFor().send(endpointFor(server.url, WRITE_KEY), body, never)).resolves.toMatchObject({ kind: 'response', status: 307 });
    expect(server.requests).toHaveLength(1);
  });

  it('gives a refused connection as a network error with its code, and no write key', async () => {
    server = await serve((_req, res) => res.end('OK'));
    const url = server.url;
    await server.close();
    server = undefined;
    const outcome = await senderFor().send(endpointFor(url, WRITE_KEY), body, never);
    expect(outcome).toMatchObject({ kind: 'network-error', timedOut: false, code: 'ECONNREFUSED' });
    expect(JSON.stringify(outcome)).not.toContain(WRITE_KEY);
  });

  it('ends an attempt with no answer at requestTimeoutMs, and one cut short by shutdown as aborted', async () => {
    server = await serve(() => undefined);
    const endpoint = endpointFor(server.url, WRITE_KEY);
    await expect(senderFor(200).send(endpoint, body, never)).resolves.toMatchObject({ kind: 'network-error', timedOut: true, ...onTheWire(body.length) });
    const shutdown = new AbortController();
    const attempt = senderFor(60_000).send(endpoint, body, shutdown.signal);
    setTimeout(() => shutdown.abort(), 50);
    await expect(attempt).resolves.toEqual({ kind: 'aborted' });
  });
});

describe('HttpSender with a host fetch', () => {
  let server: Server | undefined;
  const never = new AbortController().signal;

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  // Node's own fetch (undici), as a host would pass it.
  const hostFetch: FetchLike = (url, init) => fetch(url, init);

  it('posts through it, and reads the status and Retry-After from its response', async () => {
    server = await serve((_req, res) => {
      res.writeHead(503, { 'Retry-After': '2' });
      res.end('Service Unavailable');
    });
    const sender = new HttpSender({ fetch: hostFetch, gzip: true, requestTimeoutMs: 5_000, allowPrivateNetworks: false });
    const outcome = await sender.send(endpointFor(server.url, WRITE_KEY), body, never);
    const [request] = server.requests;
    expect(request!.headers).toMatchObject({ 'content-encoding': 'gzip', 'content-type': 'application/json' });
    // The bytes are those on the wire: the gzipped body, not the JSON.
    expect(outcome).toEqual({ kind: 'response', status: 503, retryAfterMs: 2_000, ...onTheWire(Number(request!.headers['content-length'])) });
    expect(Number(request!.headers['content-length'])).not.toBe(body.length);
  });

  it('counts the status of an answer whose body stalls, and cancels that body', async () => {
    server = await serve(stalling(200));
    const dropped = server.nextConnectionClosed();
    const sender = new HttpSender({ fetch: hostFetch, gzip: false, requestTimeoutMs: 2_000, allowPrivateNetworks: false });
    await expect(sender.send(endpointFor(server.url, WRITE_KEY), body, never)).resolves.toEqual({
      kind: 'response',
      status: 200,
      retryAfterMs: undefined,
      ...onTheWire(body.length),
    });
    await dropped;
  });

  it.each([200, 503])('counts the status of an answer %i whose body never ends, and cancels that body', async (status) => {
    server = await serve(pouring(status));
    const dropped = server.nextConnectionClosed();
    const sender = new HttpSender({ fetch: hostFetch, gzip: false, requestTimeoutMs: 2_000, allowPrivateNetworks: false });
    await expect(sender.send(endpointFor(server.url, WRITE_KEY), body, never)).resolves.toMatchObject({ kind: 'response', status });
    await dropped;
  });

  it('ends the attempt on time even when the fetch ignores its signal', async () => {
    const ignoring: FetchLike = () => new Promise(() => undefined);
    const sender = new HttpSender({ fetch: ignoring, gzip: false, requestTimeoutMs: 100, allowPrivateNetworks: false });
    await expect(sender.send(endpointFor('http://127.0.0.1:9', WRITE_KEY), body, never)).resolves.toMatchObject({ kind: 'network-error', timedOut: true });
    const shutdown = new AbortController();
    const attempt = new HttpSender({ fetch: ignoring, gzip: false, requestTimeoutMs: 60_000, allowPrivateNetworks: false }).send(
      endpointFor('http://127.0.0.1:9', WRITE_KEY),
      body,
      shutdown.signal,
    );
    shutdown.abort();
    await expect(attempt).resolves.toEqual({ kind: 'aborted' });
  });
});

describe('delivery of events whose answer has a body that stalls or never ends', () => {
  let server: Server | undefined;

  afterEach(async () => {
    await closeHarnesses();
    await server?.close();
    server = undefined;
  });

  async function deliverOne(): Promise<{ results: BatchResult[]; stats: IntegrationStats }> {
    const results: BatchResult[] = [];
    const integration = createIntegration({
      config: { 'env-a': { api_key: WRITE_KEY, base_url: server!.url } },
      flushIntervalMs: 0,
      maxRetries: 2,
      retryBaseDelayMs: 5,
      retryMaxDelayMs: 20,
      requestTimeoutMs: 2_000,
      onBatchResult: (result) => results.push(result),
    });
    integration.postIdentityFetch(identityContext('env-a', 'u1'));
    await integration.flush();
    return { results, stats: integration.stats() };
  }

  it('counts a 200 whose body stalls forever as delivered, after one request', async () => {
    server = await serve(stalling(200));
    const { results, stats } = await deliverOne();
    expect(stats.delivered).toBe(1);
    expect(stats.dropped.retries_exhausted).toBe(0);
    expect(results).toEqual([expect.objectContaining({ result: 'delivered', attempts: 1, status: 200 })]);
    expect(server.requests).toHaveLength(1);
  });

  it('counts a 200 whose body never ends as delivered, after one request', async () => {
    server = await serve(pouring(200));
    const { results, stats } = await deliverOne();
    expect(stats.delivered).toBe(1);
    expect(results).toEqual([expect.objectContaining({ result: 'delivered', attempts: 1, status: 200 })]);
    expect(server.requests).toHaveLength(1);
  });

  it('retries a 503 whose body never ends as a 503', async () => {
    server = await serve(pouring(503));
    const { results, stats } = await deliverOne();
    expect(stats.dropped.retries_exhausted).toBe(1);
    expect(results).toEqual([expect.objectContaining({ result: 'retries_exhausted', attempts: 3, status: 503 })]);
    expect(server.requests).toHaveLength(3);
  });
});
