import { spawn } from 'node:child_process';
import path from 'node:path';
import { closeHarnesses, startDataPlane } from './helpers/harness';

afterEach(closeHarnesses);

/** Runs a script in a fresh Node process (TypeScript through ts-node) and resolves with its exit. */
function runScript(source: string, env: Record<string, string>): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', source], {
      cwd: path.resolve(__dirname, '..'),
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // A process that does not exit by itself is the failure this guards against.
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stderr });
    });
  });
}

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
    expect(result).toEqual({ code: 0, signal: null, stderr: '' });
    expect(dataPlane.events.map((event) => event.userId)).toEqual(['u0', 'u1', 'u2', 'u3', 'u4']);
  });

  it('a process whose data plane is down still exits by itself (retries do not hold it)', async () => {
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
    expect(result).toEqual({ code: 0, signal: null, stderr: '' });
  });
});
