import { spawn } from 'node:child_process';
import path from 'node:path';
import { closeHarnesses, startDataPlane } from './helpers/harness';

afterEach(closeHarnesses);
jest.setTimeout(60_000);

/** Runs a script in a fresh Node process (TypeScript through ts-node) and resolves with its exit and output. */
function runScript(
  source: string,
  env: Record<string, string>,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', source], {
      cwd: path.resolve(__dirname, '..'),
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // A process that does not exit by itself is the failure this guards against (a natural exit
    // may wait up to close()'s default deadline, 10 s, for delivery).
    const killer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** An integration sending ten identifies to DATA_PLANE_URL, retrying after 50 ms; the hook runs on the first tick. */
const TEN_IDENTIFIES = `
  const { RudderStackIntegration } = require('./src/integration');
  const integration = new RudderStackIntegration({
    config: { env: { api_key: 'k', base_url: process.env.DATA_PLANE_URL } },
    allowPrivateNetworks: true,
    retryBaseDelayMs: 50,
    retryMaxDelayMs: 50,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  });
  for (let i = 0; i < 10; i++) {
    integration.postIdentityFetch({ environmentKey: 'env', identity: { identifier: 'u' + i }, flags: [] });
  }
`;

const TEN_USERS = Array.from({ length: 10 }, (_, i) => `u${i}`);

describe('process lifecycle', () => {
  it('a process with only the integration alive exits by itself, delivering what it held first', async () => {
    const dataPlane = await startDataPlane();
    const result = await runScript(
      `
      const { RudderStackIntegration } = require('./src/integration');
      const integration = new RudderStackIntegration({
        config: { env: { api_key: 'k', base_url: process.env.DATA_PLANE_URL } },
        allowPrivateNetworks: true,
        flushIntervalMs: 60000,
      });
      for (let i = 0; i < 5; i++) {
        integration.postIdentityFetch({ environmentKey: 'env', identity: { identifier: 'u' + i }, flags: [] });
      }
      `,
      { DATA_PLANE_URL: dataPlane.url },
    );
    expect(result).toEqual({ code: 0, signal: null, stdout: '', stderr: '' });
    expect(dataPlane.events.map((event) => event.userId)).toEqual(['u0', 'u1', 'u2', 'u3', 'u4']);
  });

  it('a process whose data plane is down still exits by itself (retries hold it at most until the drain gives up)', async () => {
    const result = await runScript(
      `
      const { RudderStackIntegration } = require('./src/integration');
      const integration = new RudderStackIntegration({
        config: { env: { api_key: 'k', base_url: 'http://127.0.0.1:1' } },
        allowPrivateNetworks: true,
        logger: { debug() {}, info() {}, warn() {}, error() {} },
      });
      integration.postIdentityFetch({ environmentKey: 'env', identity: { identifier: 'u' }, flags: [] });
      `,
      {},
    );
    expect(result).toEqual({ code: 0, signal: null, stdout: '', stderr: '' });
  });

  it('await flush() after a 503 resolves once the retry delivered everything, and the code after it runs', async () => {
    const dataPlane = await startDataPlane();
    dataPlane.fail({ status: 503 });
    const result = await runScript(
      `${TEN_IDENTIFIES}
      integration.flush().then(() => process.stdout.write('flushed: delivered ' + integration.stats().delivered + '\\n'));
      `,
      { DATA_PLANE_URL: dataPlane.url },
    );
    expect(result).toEqual({ code: 0, signal: null, stdout: 'flushed: delivered 10\n', stderr: '' });
    expect(dataPlane.requests.map((request) => request.status)).toEqual([503, 200]);
    expect(dataPlane.events.map((event) => event.userId)).toEqual(TEN_USERS);
  });

  it('a natural exit with a batch waiting to retry delivers it before the process ends', async () => {
    const dataPlane = await startDataPlane();
    dataPlane.fail({ status: 503 });
    const result = await runScript(TEN_IDENTIFIES, { DATA_PLANE_URL: dataPlane.url });
    expect(result).toEqual({ code: 0, signal: null, stdout: '', stderr: '' });
    expect(dataPlane.requests.map((request) => request.status)).toEqual([503, 200]);
    expect(dataPlane.events.map((event) => event.userId)).toEqual(TEN_USERS);
  });

  it('a natural exit that cannot deliver in time says so in one warning, and the process still ends', async () => {
    const dataPlane = await startDataPlane({ randomFailures: { rate: 1, status: 503 } });
    const result = await runScript(
      // Retries a minute apart: the batch outlasts the drain's deadline.
      TEN_IDENTIFIES.replace('warn() {}', 'warn(message) { process.stderr.write(message + "\\n"); }').replace(
        /retry(Base|Max)DelayMs: 50/g,
        'retry$1DelayMs: 60000',
      ),
      { DATA_PLANE_URL: dataPlane.url },
    );
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^the process is exiting with 10 event\(s\) undelivered/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(dataPlane.events).toHaveLength(0);
  });
});
