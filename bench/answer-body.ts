/**
 * What an answer's body costs once its status is known (issue 12, item 5). Not a test: run it
 * and read the figures.
 *
 *   npx ts-node --transpile-only bench/answer-body.ts
 *
 * The data plane runs in a child process on 127.0.0.1, so the CPU figure is the client's alone:
 * - copies: requests made for one identify answered 200 whose body then stalls forever, with
 *   maxRetries 2 and with the default maxRetries (timeouts and backoff shortened so the run is short);
 * - endless body: one attempt against a 200 whose body never ends (written as fast as the socket
 *   takes it), with requestTimeoutMs 2 000: wall time and this process's CPU over the attempt.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { endpointFor, HttpSender } from '../src/delivery/http-sender';
import { RudderStackIntegration } from '../src/integration';

const WRITE_KEY = 'bench-write-key';

function serve(): void {
  const chunk = Buffer.alloc(64 * 1024, 'x');
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      process.send?.({ request: req.url });
      if (req.url?.startsWith('/stall/')) {
        res.writeHead(200, { 'Content-Length': '1000' });
        res.write('OK');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      const pour = (): void => {
        while (!res.destroyed && res.write(chunk));
      };
      res.on('drain', pour);
      pour();
    });
  });
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
}

async function startServer(): Promise<{ child: ChildProcess; url: string; requests: () => number }> {
  const child = fork(__filename, ['serve'], { execArgv: process.execArgv });
  let requests = 0;
  const port = await new Promise<number>((resolve) => {
    child.on('message', (message: { port?: number; request?: string }) => {
      if (message.port) resolve(message.port);
      if (message.request) requests++;
    });
  });
  return { child, url: `http://127.0.0.1:${port}`, requests: () => requests };
}

async function copiesOfStalled200(url: string, requests: () => number, maxRetries?: number): Promise<string> {
  const before = requests();
  const results: string[] = [];
  const integration = new RudderStackIntegration({
    config: { env: { api_key: WRITE_KEY, base_url: `${url}/stall` } },
    allowPrivateNetworks: true,
    flushIntervalMs: 0,
    requestTimeoutMs: 300,
    retryBaseDelayMs: 10,
    retryMaxDelayMs: 50,
    ...(maxRetries === undefined ? {} : { maxRetries }),
    logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
    onBatchResult: (result) => results.push(result.result),
  });
  integration.postIdentityFetch({ environmentKey: 'env', identity: { identifier: 'u1' }, flags: [] });
  await integration.flush();
  await integration.close();
  // The last request's arrival may trail the verdict by an IPC message.
  await new Promise((resolve) => setTimeout(resolve, 100));
  return `maxRetries ${maxRetries ?? 'default'}: ${requests() - before} request(s), result ${results.join(', ')}`;
}

async function endlessBodyAttempt(url: string): Promise<string> {
  const sender = new HttpSender({ gzip: false, requestTimeoutMs: 2_000, allowPrivateNetworks: true });
  const body = Buffer.from('{"batch":[],"sentAt":"2026-12-01T00:00:00.000Z"}');
  const startedAt = process.hrtime.bigint();
  const cpuBefore = process.cpuUsage();
  const outcome = await sender.send(endpointFor(`${url}/endless`, WRITE_KEY), body, new AbortController().signal);
  const cpu = process.cpuUsage(cpuBefore);
  const wallMs = Number(process.hrtime.bigint() - startedAt) / 1e6;
  sender.close();
  const cpuMs = (cpu.user + cpu.system) / 1000;
  return (
    `endless 200 body: outcome ${JSON.stringify(outcome)}, attempt ${wallMs.toFixed(0)} ms, ` +
    `CPU ${cpuMs.toFixed(0)} ms (${((100 * cpuMs) / wallMs).toFixed(0)} % of a core)`
  );
}

async function main(): Promise<void> {
  const server = await startServer();
  try {
    console.log(await copiesOfStalled200(server.url, server.requests, 2));
    console.log(await copiesOfStalled200(server.url, server.requests));
    console.log(await endlessBodyAttempt(server.url));
  } finally {
    server.child.kill();
  }
}

if (process.argv[2] === 'serve') serve();
else void main();
