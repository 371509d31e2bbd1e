/**
 * The benchmark (bench/, `npm run bench`) runs end to end with a tiny workload: every contender
 * delivers exactly N correct events to the bench data plane. No timing is asserted.
 * Needs dist/ (npm test builds it first).
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';

interface ContenderResult {
  contender: string;
  verified: boolean;
  failure?: string;
  server: { unique: number; corrupt: number; requests: number };
}

function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(__dirname, '..', '..', 'bench', 'run.js'), ...args],
      { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('npm run bench (smoke)', () => {
  it('runs every contender once with 300 events and verifies each delivered them all', async () => {
    const { code, stdout, stderr } = await runBench(['--n', '300', '--rounds', '1', '--json']);
    const lastLine = stdout.trim().split('\n').pop() ?? '';
    let outcome: { verified: boolean; results: ContenderResult[] };
    try {
      outcome = JSON.parse(lastLine) as typeof outcome;
    } catch {
      throw new Error(`no JSON result (exit ${code}): ${stdout.slice(-2000)} ${stderr.slice(-2000)}`);
    }
    const summary = outcome.results.map((r) => `${r.contender}: ${r.verified ? 'verified' : `FAILED ${r.failure}`}`);
    expect(summary).toEqual([
      'plugin gzip: verified',
      'plugin no-gzip: verified',
      'plugin gzip + metrics: verified',
      'rudder-sdk-node: verified',
      'segment-node: verified',
      'wire limit: verified',
    ]);
    for (const r of outcome.results) {
      expect(r.server.unique).toBe(300);
      expect(r.server.corrupt).toBe(0);
    }
    expect(outcome.verified).toBe(true);
    expect(code).toBe(0);
  }, 150_000);
});
