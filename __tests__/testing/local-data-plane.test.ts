import * as http from 'node:http';
import * as net from 'node:net';
import { gzipSync } from 'node:zlib';
import { startLocalDataPlane, type LocalDataPlane, type LocalDataPlaneOptions, type ReceivedBatch } from '../../src/testing';

const started: LocalDataPlane[] = [];

async function start(options?: LocalDataPlaneOptions): Promise<LocalDataPlane> {
  const plane = await startLocalDataPlane(options);
  started.push(plane);
  return plane;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((plane) => plane.close()));
});

function basicAuth(writeKey: string, password = ''): string {
  return `Basic ${Buffer.from(`${writeKey}:${password}`).toString('base64')}`;
}

function identify(userId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'identify', userId, traits: { beta: true }, messageId: `m-${userId}`, ...extra };
}

interface Answer {
  status: number;
  text: string;
  headers: Headers;
}

interface PostOptions {
  path?: string;
  method?: string;
  authorization?: string | null;
  headers?: Record<string, string>;
}

async function post(plane: LocalDataPlane, body: string | Buffer, options: PostOptions = {}): Promise<Answer> {
  const authorization = options.authorization === undefined ? basicAuth('write-key') : options.authorization;
  const response = await fetch(`${plane.url}${options.path ?? '/v1/batch'}`, {
    method: options.method ?? 'POST',
    headers: {
      'Content-Type': 'application/json',
      ...(authorization === null ? {} : { Authorization: authorization }),
      ...options.headers,
    },
    body: options.method === 'GET' ? undefined : body,
  });
  return { status: response.status, text: await response.text(), headers: response.headers };
}

function batchOf(...events: unknown[]): string {
  return JSON.stringify({ batch: events, sentAt: '2026-01-02T03:04:05.000Z' });
}

/** The code of the network error a failed fetch reports (fetch wraps it as `cause`). */
async function networkErrorCode(request: Promise<unknown>): Promise<string> {
  try {
    await request;
  } catch (error) {
    return String(((error as Error).cause as { code?: unknown } | undefined)?.code);
  }
  throw new Error('the request was answered');
}

/** Polls until `condition` holds: for server-side states no event announces. */
async function until(condition: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 1000; attempt++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('condition never held');
}

/** A valid batch body of exactly `bytes` bytes. */
function batchOfSize(bytes: number): string {
  const empty = JSON.stringify({ batch: [identify('u1', { traits: { pad: '' } })] });
  return JSON.stringify({ batch: [identify('u1', { traits: { pad: 'x'.repeat(bytes - empty.length) } })] });
}

describe('startLocalDataPlane', () => {
  it('listens on 127.0.0.1 on a free port by default', async () => {
    const plane = await start();
    expect(plane.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(new URL(plane.url).port).not.toBe('0');
  });

  it.each(['0.0.0.0', '192.168.1.10', 'example.com', '::'])('refuses the non-loopback host %s', async (host) => {
    await expect(startLocalDataPlane({ host })).rejects.toThrow(`host "${host}" is not a loopback address`);
  });

  it('accepts another loopback address', async () => {
    const plane = await start({ host: '127.0.0.2' });
    expect(plane.url).toMatch(/^http:\/\/127\.0\.0\.2:\d+$/);
  });
});

describe('a valid request', () => {
  it('is answered 200 "ok" and its events are stored with the decoded write key', async () => {
    const seen: ReceivedBatch[] = [];
    const plane = await start({ onBatch: (batch) => seen.push(batch) });
    const body = batchOf(identify('u1'), { type: 'identify', anonymousId: 'a2' });

    const answer = await post(plane, body, { authorization: basicAuth('wk-1', 'ignored password') });

    expect(answer).toMatchObject({ status: 200, text: 'ok' });
    expect(answer.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(plane.events).toEqual([identify('u1'), { type: 'identify', anonymousId: 'a2' }]);
    expect(plane.batches).toHaveLength(1);
    expect(plane.batches[0]).toMatchObject({
      path: '/v1/batch',
      writeKey: 'wk-1',
      events: plane.events,
      sentAt: '2026-01-02T03:04:05.000Z',
      gzip: false,
      bytes: Buffer.byteLength(body),
    });
    expect(plane.batches[0].receivedAt).toBeInstanceOf(Date);
    expect(seen).toEqual(plane.batches);
    expect(plane.requests).toEqual([
      expect.objectContaining({
        method: 'POST',
        path: '/v1/batch',
        writeKey: 'wk-1',
        status: 200,
        outcome: 'answered',
        gzip: false,
        body: Buffer.from(body),
      }),
    ]);
  });

  it('stores an id with a visible character among invisible ones as sent, as the gateway does', async () => {
    const plane = await start();
    const answer = await post(plane, batchOf(identify('\u200bu1\u200b'), { type: 'identify', userId: '\u200b', anonymousId: '\u00ada2' }));
    expect(answer).toMatchObject({ status: 200, text: 'ok' });
    expect(plane.events).toEqual([identify('\u200bu1\u200b'), { type: 'identify', userId: '\u200b', anonymousId: '\u00ada2' }]);
  });

  it('is gunzipped when Content-Encoding is gzip', async () => {
    const plane = await start();
    const body = batchOf(identify('u1'));

    const answer = await post(plane, gzipSync(body), { headers: { 'Content-Encoding': 'gzip' } });

    expect(answer).toMatchObject({ status: 200, text: 'ok' });
    expect(plane.events).toEqual([identify('u1')]);
    expect(plane.batches[0]).toMatchObject({ gzip: true, bytes: Buffer.byteLength(body) });
  });

  it('on /v1/identify is one event, stored as sent', async () => {
    const plane = await start();
    const event = { userId: 'u1', traits: { a: 1 }, sentAt: '2026-01-02T03:04:05.000Z' };

    const answer = await post(plane, JSON.stringify(event), { path: '/v1/identify' });

    expect(answer).toMatchObject({ status: 200, text: 'ok' });
    expect(plane.events).toEqual([event]);
    expect(plane.batches[0]).toMatchObject({ path: '/v1/identify', sentAt: '2026-01-02T03:04:05.000Z' });
  });

  it('is accepted from a listed write key when writeKeys is set', async () => {
    const plane = await start({ writeKeys: ['good'] });
    const answer = await post(plane, batchOf(identify('u1')), { authorization: basicAuth('good') });
    expect(answer).toMatchObject({ status: 200, text: 'ok' });
    expect(plane.batches[0].writeKey).toBe('good');
  });
});

describe('rejections, answered like rudder-server and storing nothing', () => {
  it.each([
    ['no Authorization header', null],
    ['a Bearer token', 'Bearer abc'],
    ['undecodable base64', 'Basic %%%not-base64'],
    ['credentials without a colon', `Basic ${Buffer.from('just-a-key').toString('base64')}`],
    ['an empty user', basicAuth('', 'password')],
  ])('401 "failed to read writekey from header" for %s', async (_case, authorization) => {
    const plane = await start();
    const answer = await post(plane, batchOf(identify('u1')), { authorization });
    expect(answer).toMatchObject({ status: 401, text: 'failed to read writekey from header\n' });
    expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    expect(plane.events).toEqual([]);
    expect(plane.requests[0]).toMatchObject({ writeKey: null, status: 401, outcome: 'answered' });
  });

  it('401 "invalid write key" for a key not in writeKeys', async () => {
    const plane = await start({ writeKeys: ['good'] });
    const answer = await post(plane, batchOf(identify('u1')), { authorization: basicAuth('other') });
    expect(answer).toMatchObject({ status: 401, text: 'invalid write key\n' });
    expect(plane.events).toEqual([]);
    expect(plane.requests[0]).toMatchObject({ writeKey: 'other', status: 401 });
  });

  it.each([
    ['GET', '/v1/batch'],
    ['POST', '/v1/track'],
    ['POST', '/'],
  ])('404 for %s %s', async (method, path) => {
    const plane = await start();
    const answer = await post(plane, batchOf(identify('u1')), { method, path });
    expect(answer).toMatchObject({ status: 404, text: '404 page not found\n' });
    expect(plane.events).toEqual([]);
    expect(plane.requests[0]).toMatchObject({ method, path, status: 404 });
  });

  it('400 "invalid json" for a body that is not JSON', async () => {
    const plane = await start();
    const answer = await post(plane, '{"batch": [');
    expect(answer).toMatchObject({ status: 400, text: 'invalid json\n' });
    expect(plane.events).toEqual([]);
  });

  it('400 "invalid json" for a gzip-labelled body that is not gzip', async () => {
    const plane = await start();
    const answer = await post(plane, batchOf(identify('u1')), { headers: { 'Content-Encoding': 'gzip' } });
    expect(answer).toMatchObject({ status: 400, text: 'invalid json\n' });
    expect(plane.events).toEqual([]);
    expect(plane.requests[0]).toMatchObject({ gzip: true, status: 400 });
  });

  it.each([
    ['no batch', '{"sentAt":"2026-01-02T03:04:05.000Z"}'],
    ['an empty batch', '{"batch":[]}'],
    ['a null batch', '{"batch":null}'],
  ])('400 "empty batch payload" for %s', async (_case, body) => {
    const plane = await start();
    expect(await post(plane, body)).toMatchObject({ status: 400, text: 'empty batch payload\n' });
    expect(plane.events).toEqual([]);
  });

  it.each([
    ['no ids', { type: 'identify', traits: {} }],
    ['blank ids', { type: 'identify', userId: '  ', anonymousId: '' }],
    ['null ids', { type: 'identify', userId: null }],
    ['a zero-width space for a userId', { type: 'identify', userId: '\u200b' }],
    ['ids the gateway sanitizes to nothing', { type: 'identify', userId: '\u00ad\u2060\u034f ', anonymousId: '\u3164\u2800\u115f\u0007' }],
  ])('400 "request neither has anonymousId nor userId" for one event with %s, rejecting the whole request', async (_case, bad) => {
    const plane = await start();
    const answer = await post(plane, batchOf(identify('u1'), bad, identify('u3')));
    expect(answer).toMatchObject({ status: 400, text: 'request neither has anonymousId nor userId\n' });
    expect(plane.events).toEqual([]);
    expect(plane.batches).toEqual([]);
  });

  it.each([
    ['a string event', 'identify'],
    ['a null event', null],
    ['an array event', [identify('u2')]],
    ['an event without type', { userId: 'u2' }],
    ['an event with an empty type', { type: '', userId: 'u2' }],
  ])('400 "event is not a valid rudder event" for %s in a batch', async (_case, bad) => {
    const plane = await start();
    const answer = await post(plane, batchOf(identify('u1'), bad));
    expect(answer).toMatchObject({ status: 400, text: 'event is not a valid rudder event\n' });
    expect(plane.events).toEqual([]);
  });

  it('400 "event is not a valid rudder event" for a /v1/identify body that is not an object', async () => {
    const plane = await start();
    const answer = await post(plane, JSON.stringify([identify('u1')]), { path: '/v1/identify' });
    expect(answer).toMatchObject({ status: 400, text: 'event is not a valid rudder event\n' });
  });

  it('checks the write key before the body', async () => {
    const plane = await start({ writeKeys: ['good'] });
    const answer = await post(plane, 'not json', { authorization: basicAuth('other') });
    expect(answer.status).toBe(401);
  });
});

describe('the request size limit (decompressed bytes)', () => {
  it('accepts a body of exactly maxRequestBytes and answers 413 one byte over', async () => {
    const plane = await start({ maxRequestBytes: 1000 });

    expect(await post(plane, batchOfSize(1000))).toMatchObject({ status: 200, text: 'ok' });
    expect(await post(plane, batchOfSize(1001))).toMatchObject({ status: 413, text: 'request size exceeds max limit\n' });

    expect(plane.events).toHaveLength(1);
    expect(plane.requests.map((request) => request.status)).toEqual([200, 413]);
    expect(plane.requests[1].body).toEqual(Buffer.alloc(0));
  });

  it('counts the gunzipped size, not the compressed one', async () => {
    const plane = await start({ maxRequestBytes: 1000 });
    const compressed = gzipSync(batchOfSize(1001));
    expect(compressed.length).toBeLessThan(1000);

    const answer = await post(plane, compressed, { headers: { 'Content-Encoding': 'gzip' } });

    expect(answer).toMatchObject({ status: 413, text: 'request size exceeds max limit\n' });
    expect(plane.events).toEqual([]);
  });

  it('defaults to 4 096 000 bytes', async () => {
    const plane = await start();
    expect((await post(plane, batchOfSize(4_096_000))).status).toBe(200);
    expect((await post(plane, batchOfSize(4_096_001))).status).toBe(413);
  });

  it('answers 413 to a gzip bomb', async () => {
    const plane = await start();
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, ' '));
    const answer = await post(plane, bomb, { headers: { 'Content-Encoding': 'gzip' } });
    expect(answer).toMatchObject({ status: 413, text: 'request size exceeds max limit\n' });
  });
});

describe('fail(): scripted answers', () => {
  it('answers a scripted status with the gateway text and headers, storing nothing', async () => {
    const plane = await start();
    plane.fail({ status: 429, headers: { 'Retry-After': '7' } });

    const answer = await post(plane, batchOf(identify('u1')));

    expect(answer).toMatchObject({ status: 429, text: 'max requests limit reached\n' });
    expect(answer.headers.get('retry-after')).toBe('7');
    expect(plane.events).toEqual([]);
    expect(plane.requests[0]).toMatchObject({ status: 429, outcome: 'answered', writeKey: 'write-key' });
  });

  it('uses the script in order, then resumes normal behaviour', async () => {
    const plane = await start();
    plane.fail([{ status: 503 }, { status: 500, body: 'storage failed' }]);
    plane.fail({ status: 404 });

    const answers = [];
    for (const userId of ['u1', 'u2', 'u3', 'u4']) {
      const { status, text } = await post(plane, batchOf(identify(userId)));
      answers.push([status, text]);
    }

    expect(answers).toEqual([
      [503, 'service unavailable\n'],
      [500, 'storage failed'],
      [404, 'source is disabled\n'],
      [200, 'ok'],
    ]);
    expect(plane.events).toEqual([identify('u4')]);
  });

  it('reset: the client gets a connection reset and nothing is stored', async () => {
    const plane = await start();
    plane.fail({ action: 'reset' });

    expect(await networkErrorCode(post(plane, batchOf(identify('u1'))))).toBe('ECONNRESET');
    expect(plane.events).toEqual([]);
    expect(plane.requests[0]).toMatchObject({ status: null, outcome: 'reset', body: Buffer.from(batchOf(identify('u1'))) });

    expect((await post(plane, batchOf(identify('u2')))).status).toBe(200);
    expect(plane.events).toEqual([identify('u2')]);
  });

  it('accept-then-drop: the events are stored and the client sees the socket close', async () => {
    const seen: ReceivedBatch[] = [];
    const plane = await start({ onBatch: (batch) => seen.push(batch) });
    plane.fail({ action: 'accept-then-drop' });

    expect(await networkErrorCode(post(plane, batchOf(identify('u1'))))).toBe('UND_ERR_SOCKET');

    expect(plane.events).toEqual([identify('u1')]);
    expect(seen).toHaveLength(1);
    expect(plane.requests[0]).toMatchObject({ status: null, outcome: 'dropped-after-body' });
  });

  it('accept-then-drop stores nothing from a request the gateway would reject', async () => {
    const plane = await start();
    plane.fail({ action: 'accept-then-drop' });
    expect(await networkErrorCode(post(plane, batchOf({ type: 'identify' })))).toBe('UND_ERR_SOCKET');
    expect(plane.events).toEqual([]);
  });

  it('hang: never answers until close(), which ends the request and returns', async () => {
    const plane = await start();
    plane.fail({ action: 'hang' });

    const failure = networkErrorCode(post(plane, batchOf(identify('u1'))));
    await until(() => plane.requests.length === 1);
    expect(plane.requests[0]).toMatchObject({ status: null, outcome: 'hang' });
    expect(plane.events).toEqual([]);

    await plane.close();
    expect(await failure).toBe('UND_ERR_SOCKET');
    expect(await networkErrorCode(post(plane, batchOf(identify('u2'))))).toBe('ECONNREFUSED');
  });

  it.each([
    [{ status: 99 }, 'status must be an integer from 200 to 599'],
    [{ status: 700 }, 'status must be an integer from 200 to 599'],
    [{ status: 503, headers: { 'Bad Header': 'x' } }, 'Header name must be a valid HTTP token'],
    [{ action: 'explode' }, 'unknown action "explode"'],
  ])('refuses the malformed spec %j', async (spec, message) => {
    const plane = await start();
    expect(() => plane.fail(spec as never)).toThrow(message);
  });
});

describe('a client that goes away mid-body', () => {
  it('is recorded as client-aborted, unanswered, and the server keeps serving', async () => {
    const plane = await start();
    const { port } = new URL(plane.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write('POST /v1/batch HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n' + `Authorization: ${basicAuth('k')}\r\n\r\n`);
    // Node answers 100 Continue as it hands the request to the handler, so the request is in.
    await new Promise((resolve) => socket.once('data', resolve));
    socket.write('{"batch": [');
    socket.destroy();

    await until(() => plane.requests.length === 1);
    expect(plane.requests[0]).toMatchObject({ writeKey: 'k', status: null, outcome: 'client-aborted' });
    expect((await post(plane, batchOf(identify('u1')))).status).toBe(200);
  });
});

describe('waitForEvents', () => {
  it('resolves once enough events arrived', async () => {
    const plane = await start();
    const waiting = plane.waitForEvents(3);

    await post(plane, batchOf(identify('u1'), identify('u2')));
    await post(plane, batchOf(identify('u3')));

    expect(await waiting).toEqual([identify('u1'), identify('u2'), identify('u3')]);
  });

  it('resolves at once when the events are already there', async () => {
    const plane = await start();
    await post(plane, batchOf(identify('u1')));
    expect(await plane.waitForEvents(1)).toEqual([identify('u1')]);
  });

  it('rejects after the timeout, saying how many arrived and what was answered', async () => {
    const plane = await start();
    plane.fail({ status: 503 });
    await post(plane, batchOf(identify('u1')));
    await post(plane, batchOf(identify('u2')));

    await expect(plane.waitForEvents(3, 20)).rejects.toThrow(
      'waitForEvents(3): expected at least 3 event(s), 1 arrived within 20 ms; 2 request(s) reached it: 1 × 503 /v1/batch, 1 × 200 /v1/batch',
    );
  });

  it('says so when no request arrived at all', async () => {
    const plane = await start();
    await expect(plane.waitForEvents(1, 20)).rejects.toThrow('0 arrived within 20 ms; no request reached the data plane');
  });

  it('rejects pending waits on close()', async () => {
    const plane = await start();
    const waiting = plane.waitForEvents(1);
    await plane.close();
    await expect(waiting).rejects.toThrow('waitForEvents(1): the data plane was closed; expected at least 1 event(s), 0 arrived');
  });
});

describe('reset() and close()', () => {
  it('reset() clears what was received and the script', async () => {
    const plane = await start();
    await post(plane, batchOf(identify('u1')));
    plane.fail({ status: 503 });

    plane.reset();

    expect([plane.events, plane.batches, plane.requests]).toEqual([[], [], []]);
    expect((await post(plane, batchOf(identify('u2')))).status).toBe(200);
    expect(plane.events).toEqual([identify('u2')]);
  });

  it('close() returns with a keep-alive connection open, and can be called twice', async () => {
    const plane = await start();
    const agent = new http.Agent({ keepAlive: true });
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const request = http.request(`${plane.url}/v1/batch`, {
        method: 'POST',
        agent,
        headers: { Authorization: basicAuth('k') },
      });
      request.on('response', (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode));
      });
      request.on('error', reject);
      request.end(batchOf(identify('u1')));
    });
    expect(status).toBe(200);

    await plane.close();
    await plane.close();
    agent.destroy();
    expect(plane.events).toEqual([identify('u1')]);
  });
});
