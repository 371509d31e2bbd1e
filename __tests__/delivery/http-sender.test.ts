/**
 * HttpSender against a real HTTP server on 127.0.0.1, with its default transport and with a host's
 * fetch: what each kind of answer, or no answer, becomes.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { endpointFor, HttpSender } from '../../src/delivery/http-sender';
import type { FetchLike } from '../../src/types';

const WRITE_KEY = 'write-key-never-shown';
const body = Buffer.from('{"batch":[],"sentAt":"2026-11-28T10:00:00.000Z"}');

interface Server {
  url: string;
  connections: number;
  requests: Array<{ headers: http.IncomingHttpHeaders; body: string }>;
  close(): Promise<void>;
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
      await expect(sending.send(endpoint, body, never)).resolves.toEqual({ kind: 'response', status: 200, retryAfterMs: undefined });
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

  it('times out an answer whose body never ends, as fetch would', async () => {
    server = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Length': '1000' });
      res.write('OK');
    });
    const sending = senderFor(200);
    await expect(sending.send(endpointFor(server.url, WRITE_KEY), body, never)).resolves.toMatchObject({ kind: 'network-error', timedOut: true });
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
    await expect(senderFor(200).send(endpoint, body, never)).resolves.toMatchObject({ kind: 'network-error', timedOut: true });
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
    await expect(sender.send(endpointFor(server.url, WRITE_KEY), body, never)).resolves.toEqual({ kind: 'response', status: 503, retryAfterMs: 2_000 });
    const [request] = server.requests;
    expect(request!.headers).toMatchObject({ 'content-encoding': 'gzip', 'content-type': 'application/json' });
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
