'use strict';
/**
 * The benchmark's data plane: a lean RudderStack-compatible `POST /v1/batch` endpoint on
 * 127.0.0.1, run in its own process (forked by the runner, controlled over IPC).
 *
 * Unlike src/testing/local-data-plane.ts it keeps no events: per run it holds two typed arrays of
 * N entries. It gunzips (on libuv's pool), parses, and checks EVERY event before answering 200:
 * type identify, a known userId, its traits (and context.traits when present) equal to what that
 * identity's flags map to. Events are deduplicated by messageId per identity: a resent event is
 * counted as a duplicate; a second, different event for an identity is counted as extra.
 *
 * IPC: {cmd:'reset', n, seed, writeKey} -> {reset:true}; {cmd:'report'} -> {report:{...}};
 * {cmd:'missing', ranges:[[from, to], ...]} -> {missing: identities in the ranges not received};
 * {cmd:'stop'}. Sends {ready:true, url} once listening.
 */
const http = require('node:http');
const zlib = require('node:zlib');
const { traitsProblem, identityOf } = require('./workload');

const MAX_BODY = 4_096_000; // the gateway's maxReqSizeInKB
const MAX_PROBLEMS = 5;

let run = newRun(0, 0, '');

function newRun(n, seed, writeKey) {
  return {
    n,
    seed,
    authorization: 'Basic ' + Buffer.from(`${writeKey}:`).toString('base64'),
    seen: new Uint8Array(n),
    messageIdHash: new Uint32Array(n),
    copies: new Uint16Array(n),
    mostCopies: 0,
    requests: 0,
    gzipRequests: 0,
    wireBytes: 0,
    bodyBytes: 0,
    events: 0,
    unique: 0,
    duplicates: 0,
    extra: 0,
    corrupt: 0,
    rejectedRequests: 0,
    problems: [],
    firstRequestAt: 0,
    lastAnswerAt: 0,
    cpuAtReset: process.cpuUsage(),
  };
}

/** FNV-1a over a string's UTF-16 units: enough to tell two messageIds of one identity apart. */
function hashString(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0 || 1;
}

/** Same keys, same values (traits were checked already, so this is all context.traits needs). */
function sameTraits(a, b) {
  if (typeof b !== 'object' || b === null) return false;
  let count = 0;
  for (const key in b) {
    if (a[key] !== b[key]) return false;
    count++;
  }
  let expected = 0;
  for (const _key in a) expected++;
  return count === expected;
}

function problem(text) {
  if (run.problems.length < MAX_PROBLEMS) run.problems.push(text);
}

function answer(res, status, text) {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
  run.lastAnswerAt = Date.now();
}

function reject(res, status, text) {
  run.rejectedRequests++;
  problem(`request answered ${status}: ${text}`);
  answer(res, status, text);
}

/** Checks one event; returns false when it is corrupt. */
function checkEvent(event) {
  if (typeof event !== 'object' || event === null) {
    problem('an event is not an object');
    return false;
  }
  const identity = identityOf(event.userId);
  if (identity < 0 || identity >= run.n) {
    problem(`unknown userId ${JSON.stringify(event.userId)}`);
    return false;
  }
  if (event.type !== 'identify') {
    problem(`event of ${event.userId} has type ${JSON.stringify(event.type)}`);
    return false;
  }
  const messageId = event.messageId;
  if (typeof messageId !== 'string' || messageId === '') {
    problem(`event of ${event.userId} has no messageId`);
    return false;
  }
  let bad = traitsProblem(run.seed, identity, event.traits);
  const contextTraits = event.context && event.context.traits;
  if (!bad && contextTraits !== undefined && !sameTraits(event.traits, contextTraits)) bad = 'context.traits differ from traits';
  if (bad) {
    problem(`event of ${event.userId}: ${bad}`);
    return false;
  }
  const hash = hashString(messageId);
  if (run.seen[identity] === 0) {
    run.seen[identity] = 1;
    run.messageIdHash[identity] = hash;
    run.unique++;
  } else if (run.messageIdHash[identity] === hash) {
    run.duplicates++;
    if (run.copies[identity] < 0xffff) run.copies[identity]++;
    run.mostCopies = Math.max(run.mostCopies, run.copies[identity] + 1);
  } else {
    run.extra++;
    problem(`a second, different event for ${event.userId}`);
  }
  return true;
}

function handleBody(res, body) {
  let payload;
  try {
    payload = JSON.parse(body.toString('utf8'));
  } catch {
    return reject(res, 400, 'invalid json');
  }
  const batch = payload && payload.batch;
  if (!Array.isArray(batch) || batch.length === 0) return reject(res, 400, 'empty batch payload');
  run.bodyBytes += body.length;
  for (let i = 0; i < batch.length; i++) {
    run.events++;
    if (!checkEvent(batch[i])) run.corrupt++;
  }
  answer(res, 200, 'OK');
}

const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  run.requests++;
  if (run.firstRequestAt === 0) run.firstRequestAt = Date.now();
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    chunks.push(chunk);
    size += chunk.length;
  });
  req.on('end', () => {
    run.wireBytes += size;
    if (req.method !== 'POST' || req.url.split('?')[0] !== '/v1/batch') return reject(res, 404, '404 page not found');
    if (req.headers.authorization !== run.authorization) return reject(res, 401, 'invalid write key');
    const raw = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
    if ((req.headers['content-encoding'] || '').toLowerCase() === 'gzip') {
      run.gzipRequests++;
      zlib.gunzip(raw, { maxOutputLength: MAX_BODY }, (error, body) => {
        if (error) return reject(res, error.code === 'ERR_BUFFER_TOO_LARGE' ? 413 : 400, 'invalid json');
        handleBody(res, body);
      });
    } else {
      if (size > MAX_BODY) return reject(res, 413, 'request size exceeds max limit');
      handleBody(res, raw);
    }
  });
});

function report() {
  let missing = 0;
  for (let i = 0; i < run.n; i++) if (run.seen[i] === 0) missing++;
  const cpu = process.cpuUsage(run.cpuAtReset);
  const verified = run.n > 0 && missing === 0 && run.unique === run.n && run.corrupt === 0 && run.extra === 0 && run.rejectedRequests === 0;
  return {
    n: run.n,
    verified,
    missing,
    requests: run.requests,
    gzipRequests: run.gzipRequests,
    wireBytes: run.wireBytes,
    bodyBytes: run.bodyBytes,
    events: run.events,
    unique: run.unique,
    duplicates: run.duplicates,
    /** The most copies of one event that arrived (1 when none came twice). */
    mostCopies: Math.max(run.mostCopies, run.unique > 0 ? 1 : 0),
    extra: run.extra,
    corrupt: run.corrupt,
    rejectedRequests: run.rejectedRequests,
    problems: run.problems,
    serverCpuMs: (cpu.user + cpu.system) / 1000,
    activeMs: run.firstRequestAt ? run.lastAnswerAt - run.firstRequestAt : 0,
  };
}

/** Identities in the half-open ranges [from, to) that no event arrived for. */
function missingIn(ranges) {
  let missing = 0;
  for (const [from, to] of ranges) for (let i = from; i < Math.min(to, run.n); i++) if (run.seen[i] === 0) missing++;
  return missing;
}

process.on('message', (msg) => {
  if (msg.cmd === 'reset') {
    run = newRun(msg.n, msg.seed, msg.writeKey);
    process.send({ reset: true });
  } else if (msg.cmd === 'report') {
    process.send({ report: report() });
  } else if (msg.cmd === 'missing') {
    process.send({ missing: missingIn(msg.ranges) });
  } else if (msg.cmd === 'stop') {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  }
});
// The runner going away ends the server.
process.on('disconnect', () => process.exit(0));

server.listen(0, '127.0.0.1', () => {
  process.send({ ready: true, url: `http://127.0.0.1:${server.address().port}` });
});
