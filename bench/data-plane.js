'use strict';
/**
 * The runners' side of the bench data plane (bench/server.js): starts it in its own process and
 * talks to it over IPC, one request and one answer at a time; reads a run's verdict from its
 * count; and gives a port that refuses connections, for outages.
 */
const { fork } = require('node:child_process');
const net = require('node:net');
const path = require('node:path');

const WRITE_KEY = 'bench-write-key';
const ENVIRONMENT_KEY = 'bench-environment';

/** The data plane process, with a request/answer helper over IPC. */
async function startServer() {
  const child = fork(path.join(__dirname, 'server.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiters = [];
  child.on('message', (msg) => {
    const waiter = waiters.shift();
    if (waiter) waiter(msg);
  });
  const next = () => new Promise((resolve) => waiters.push(resolve));
  const ready = await next();
  return {
    url: ready.url,
    async reset(n, seed) {
      child.send({ cmd: 'reset', n, seed, writeKey: WRITE_KEY });
      await next();
    },
    async report() {
      child.send({ cmd: 'report' });
      return (await next()).report;
    },
    /** How many identities in the [from, to) ranges the data plane has not received. */
    async missing(ranges) {
      child.send({ cmd: 'missing', ranges });
      return (await next()).missing;
    },
    stop() {
      return new Promise((resolve) => {
        child.once('exit', resolve);
        child.send({ cmd: 'stop' });
      });
    },
  };
}

/** A contender's job: what its process is to feed, and to which data plane. */
function jobFor(args, contender, n, url, extra = {}) {
  return {
    contender,
    url,
    writeKey: WRITE_KEY,
    environmentKey: ENVIRONMENT_KEY,
    seed: args.seed,
    n,
    burst: args.burst,
    window: args.window,
    mode: 'measure',
    // At least 1 000 events/s, or it is a failure; keeps every run bounded.
    timeoutMs: 30_000 + n,
    ...extra,
  };
}

/**
 * What went wrong in a contender's run, by the client's own account and, unless it delivers
 * nothing (`delivers: false`), by the data plane's count of its `n` events; empty when it verified.
 */
function runProblems(result, n, { delivers = true } = {}) {
  const problems = [];
  if (result.error) problems.push(result.error);
  const s = result.server;
  if (delivers && !s.verified) {
    problems.push(
      `data plane: ${s.unique} of ${n} identities delivered (${s.missing} missing, ${s.corrupt} corrupt, ${s.extra} extra, ${s.duplicates} duplicates, ` +
        `${s.rejectedRequests} rejected requests)${s.problems.length ? `: ${s.problems.join('; ')}` : ''}`,
    );
  }
  if (result.clientFailed) problems.push(`client reported ${result.clientFailed} failed event(s)`);
  if (result.thrown) problems.push(`${result.thrown} call(s) threw`);
  return problems;
}

/** A loopback port nothing listens on: connections are refused. */
function closedPort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

module.exports = { startServer, closedPort, runProblems, jobFor };
