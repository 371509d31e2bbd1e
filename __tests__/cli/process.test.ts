/**
 * The command line as a process: exit codes that tell the truth about delivery, a pipe closed by
 * its reader, signals, and user errors that are one line. Real child processes of the built CLI,
 * real loopback data planes.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { closeHarnesses, startDataPlane, startLoopbackServer } from '../helpers/harness';
import { requireBuiltCli, runCli, startCli } from '../helpers/cli';

const DOCUMENT = path.resolve(__dirname, '../../fixtures/environment-document.json');
const WRITE_KEY = 'wk_process_secret_31';
const KEY_ENV = { RUDDERSTACK_WRITE_KEY: WRITE_KEY };

let dir: string;
beforeAll(() => {
  requireBuiltCli();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-process-'));
});
afterEach(closeHarnesses);

function identitiesFile(name: string, count: number): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, Array.from({ length: count }, (_, i) => JSON.stringify({ identifier: `user-${i}` })).join('\n') + '\n');
  return file;
}

function backfillArgs(url: string, file: string): string[] {
  return ['backfill', '--environment-document', DOCUMENT, '--identities', file, '--data-plane-url', url, '--allow-private-networks'];
}

const users = (count: number): string[] => Array.from({ length: count }, (_, i) => `user-${i}`);

/**
 * A data plane that holds every request unanswered until `release()`, then answers 200 to all,
 * held and later ones alike, recording their events' userIds.
 */
async function startGatedDataPlane(): Promise<{ url: string; firstRequest: Promise<void>; release(): void; userIds: string[] }> {
  const held: Array<() => void> = [];
  const userIds: string[] = [];
  let released = false;
  let arrived: () => void = () => undefined;
  const firstRequest = new Promise<void>((resolve) => (arrived = resolve));
  const url = await startLoopbackServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const answer = (): void => {
        const body = Buffer.concat(chunks);
        const json = request.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(body) : body;
        for (const event of (JSON.parse(json.toString('utf8')) as { batch: Array<{ userId: string }> }).batch) userIds.push(event.userId);
        response.end('OK');
      };
      if (released) return answer();
      held.push(answer);
      arrived();
    });
  });
  return {
    url,
    firstRequest,
    release: () => {
      released = true;
      for (const answer of held.splice(0)) answer();
    },
    userIds,
  };
}

describe('exit codes tell whether everything was delivered', () => {
  test('a data plane that answers one 503: the retry delivers all 50 and the backfill exits 0', async () => {
    const dataPlane = await startDataPlane();
    dataPlane.fail({ status: 503 });

    const result = await runCli(backfillArgs(dataPlane.url, identitiesFile('fifty.ndjson', 50)), KEY_ENV);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Done in [\d.]+ s: 50 identities sent\.\nDelivered: 50\. Dropped: none\.\n$/);
    expect(dataPlane.requests.map((request) => request.status)).toEqual([503, 200]);
    expect(dataPlane.events.map((event) => event.userId).sort()).toEqual(users(50).sort());
  });

  test('a data plane that always answers 503: exit 1, and one line says how many were not delivered', async () => {
    const dataPlane = await startDataPlane({ randomFailures: { rate: 1, status: 503 } });

    const result = await runCli([...backfillArgs(dataPlane.url, identitiesFile('refused.ndjson', 50)), '--max-retries', '1'], KEY_ENV);

    expect(result.code).toBe(1);
    expect(dataPlane.requests.map((request) => request.status)).toEqual([503, 503]);
    expect(result.stdout).toContain('Delivered: 0. Dropped: 50 retries_exhausted.');
    expect(result.stderr.split('\n').filter((line) => line.startsWith('error: '))).toEqual([
      'error: 50 of 50 identities were not delivered (50 retries_exhausted); the warnings above say why; run the same command again once the data plane takes them',
    ]);
    expect(result.stdout + result.stderr).not.toContain(WRITE_KEY);
  });
});

describe('a pipe closed by its reader', () => {
  test('backfill --dry-run into a reader that closes after the first line ends quietly with exit 0', async () => {
    const run = startCli(['backfill', '--environment-document', DOCUMENT, '--identities', identitiesFile('many.ndjson', 20_000), '--dry-run']);
    let firstLine = '';
    run.child.stdout.on('data', (chunk: Buffer) => {
      if (firstLine !== '') return;
      firstLine = chunk.toString('utf8').split('\n', 1)[0]!;
      // As `| head -1` does: the reader goes away; the command is still printing.
      run.child.stdout.destroy();
    });

    const result = await run.done;

    expect(JSON.parse(firstLine)).toMatchObject({ type: 'identify', userId: 'user-0' });
    expect({ code: result.code, signal: result.signal, stderr: result.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
  });
});

describe('SIGTERM during a backfill', () => {
  test('flushes what was read, says where to resume, and exits 143, as Ctrl-C does (with 130)', async () => {
    const total = 5_000;
    const dataPlane = await startGatedDataPlane();
    const run = startCli(backfillArgs(dataPlane.url, identitiesFile('stopped.ndjson', total)), KEY_ENV);
    // Mid-way: the first batch is at the data plane, held there, and the backfill is still running.
    await dataPlane.firstRequest;
    run.child.kill('SIGTERM');
    let ended = false;
    void run.done.then(() => (ended = true));
    // Released once the backfill has taken the signal, so that it stops before the end of the file.
    while (!ended && !run.stderr().includes('SIGTERM: stopping')) await new Promise((resolve) => setTimeout(resolve, 10));
    dataPlane.release();

    const result = await run.done;

    expect(result.code).toBe(143);
    expect(result.stdout).toContain('Interrupted in');
    const resumeAt = Number(/run the same command with --skip (\d+)/.exec(result.stdout)?.[1]);
    expect(resumeAt).toBeGreaterThan(0);
    expect(resumeAt).toBeLessThan(total);
    expect(result.stdout).toContain(`Delivered: ${resumeAt}. Dropped: none.`);
    expect(new Set(dataPlane.userIds)).toEqual(new Set(users(resumeAt)));
  });
});

describe('a user error is one line that says what to do', () => {
  const oneLine = (stderr: string): string[] => stderr.trimEnd().split('\n');

  test('a JSON file that is not an environment document', async () => {
    const document = path.join(dir, 'not-a-document.json');
    fs.writeFileSync(document, JSON.stringify({ flags: [] }));

    const result = await runCli(['backfill', '--environment-document', document, '--identities', identitiesFile('one.ndjson', 1), '--dry-run']);

    expect(result.code).toBe(2);
    expect(oneLine(result.stderr)).toEqual([
      `error: --environment-document ${document} is not an environment document: ` +
        'save the JSON that GET /api/v1/environment-document/ returns (with a server-side environment key)',
    ]);
    expect(result.stdout).toBe('');
  });

  test('a file that is not JSON as the environment document', async () => {
    const document = path.join(dir, 'not-json.json');
    fs.writeFileSync(document, 'environment: production\n');

    const result = await runCli(['backfill', '--environment-document', document, '--identities', identitiesFile('one.ndjson', 1), '--dry-run']);

    expect(result.code).toBe(2);
    expect(oneLine(result.stderr)).toEqual([expect.stringMatching(/^error: --environment-document .* is not JSON: save the JSON that GET/)]);
  });

  test('--debug shows where it happened, and the cause', async () => {
    const document = path.join(dir, 'not-a-document.json');
    fs.writeFileSync(document, JSON.stringify({ flags: [] }));

    const result = await runCli(['backfill', '--debug', '--environment-document', document, '--identities', identitiesFile('one.ndjson', 1), '--dry-run']);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/at loadEnvironmentDocument/);
    expect(result.stderr).toMatch(/\[cause\]: TypeError/);
  });

  test('a directory where a file is expected', async () => {
    const result = await runCli(['backfill', '--environment-document', DOCUMENT, '--identities', dir, '--dry-run']);

    expect(result.code).toBe(2);
    expect(oneLine(result.stderr)).toEqual([`error: --identities: not a file: ${dir}`]);
  });

  test('sink --out in a folder that does not exist', async () => {
    const out = path.join(dir, 'no-such-folder', 'events.ndjson');
    const result = await runCli(['sink', '--port', '0', '--out', out]);

    expect(result.code).toBe(2);
    expect(oneLine(result.stderr)).toEqual([`error: cannot write --out ${out}: ENOENT`]);
  });

  test('sink on a port in use', async () => {
    const taken = await startDataPlane();
    const port = new URL(taken.url).port;
    const result = await runCli(['sink', '--port', port]);

    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toEqual([`error: cannot listen on port ${port} (in use): pass --port with another port, or --port 0 for any free one`]);
  });
});

describe('--help speaks to an installed user', () => {
  test.each(['backfill', 'check', 'sink', 'demo'])('%s --help names only the installed command', async (command) => {
    const result = await runCli([command, '--help']);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Usage: flagsmith-rudderstack ${command}`);
    expect(result.stdout).not.toMatch(/\bnpm (start|run)\b|node dist|src\//);
  });
});
