'use strict';
/**
 * The runners' side of the bench data plane (bench/server.js): starts it in its own process and
 * talks to it over IPC, one request and one answer at a time; and a port that refuses
 * connections, for outages.
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

module.exports = { startServer, closedPort, WRITE_KEY, ENVIRONMENT_KEY };
