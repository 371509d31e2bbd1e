import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { closeHarnesses, startDataPlane } from '../helpers/harness';
import { requireBuiltCli, runCli } from '../helpers/cli';

const WRITE_KEY = 'wk_check_secret_4f9a2c';

beforeAll(requireBuiltCli);
afterEach(closeHarnesses);

/** No line of the command's output may hold the write key, in any case (a host name shows lower-cased). */
function expectKeyNotShown(result: { stdout: string; stderr: string }): void {
  expect((result.stdout + result.stderr).toLowerCase()).not.toContain(WRITE_KEY.toLowerCase());
}

/** The command's resolver fails for every name, as for an unknown one, with no DNS query sent. */
const UNRESOLVABLE_HOST_NAMES = {
  NODE_OPTIONS: `--require ${path.resolve(__dirname, '../helpers/unresolvable-dns.js')}`,
  UNRESOLVABLE_DNS: '1',
};

describe('flagsmith-rudderstack check', () => {
  test('delivers one marked test identify and exits 0', async () => {
    const dataPlane = await startDataPlane({ writeKeys: [WRITE_KEY] });
    const result = await runCli(['check', '--data-plane-url', dataPlane.url, '--allow-private-networks'], { RUDDERSTACK_WRITE_KEY: WRITE_KEY });

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Delivered: the data plane accepted the test identify');
    expect(dataPlane.events).toHaveLength(1);
    expect(dataPlane.events[0]).toMatchObject({ type: 'identify', userId: 'flagsmith-rudderstack-check' });
    expect(String((dataPlane.events[0].traits as Record<string, unknown>).flagsmith_rudderstack_check)).toMatch(
      /^test event sent by flagsmith-rudderstack check/,
    );
    expectKeyNotShown(result);
  });

  test('reads the write key from --write-key-file, without its trailing line break', async () => {
    const dataPlane = await startDataPlane({ writeKeys: [WRITE_KEY] });
    const keyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'check-')), 'write-key');
    fs.writeFileSync(keyFile, `${WRITE_KEY}\n`);
    const result = await runCli(['check', '--data-plane-url', dataPlane.url, '--allow-private-networks', '--write-key-file', keyFile]);

    expect(result.code).toBe(0);
    expect(dataPlane.batches[0].writeKey).toBe(WRITE_KEY);
  });

  test.each([
    [401, 'the data plane does not know this write key (HTTP 401): copy the Write Key of an HTTP API source.'],
    [404, 'the source is disabled, or this URL is not a RudderStack data plane (HTTP 404)'],
    [503, 'the data plane failed to answer (HTTP 503): it is down or overloaded'],
    [429, 'the data plane is rate limiting this source (HTTP 429)'],
  ])('says in one sentence what HTTP %i means and exits 1', async (status, meaning) => {
    const dataPlane = await startDataPlane();
    dataPlane.fail({ status });
    const result = await runCli(['check', '--data-plane-url', dataPlane.url, '--allow-private-networks'], { RUDDERSTACK_WRITE_KEY: WRITE_KEY });

    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`Not delivered: ${meaning}`);
    expectKeyNotShown(result);
  });

  test('an unknown write key is a 401 from the data plane itself', async () => {
    const dataPlane = await startDataPlane({ writeKeys: ['another-key'] });
    const result = await runCli(['check', '--data-plane-url', dataPlane.url, '--allow-private-networks'], { RUDDERSTACK_WRITE_KEY: WRITE_KEY });

    expect(result.code).toBe(1);
    expect(result.stdout).toContain('does not know this write key');
  });

  test('says when no answer came in time', async () => {
    const dataPlane = await startDataPlane();
    dataPlane.fail({ action: 'hang' });
    const result = await runCli(['check', '--data-plane-url', dataPlane.url, '--allow-private-networks', '--timeout-ms', '300'], {
      RUDDERSTACK_WRITE_KEY: WRITE_KEY,
    });

    expect(result.code).toBe(1);
    expect(result.stdout).toContain('Not delivered: no answer within 300 ms');
  });

  test('says when the data plane cannot be reached', async () => {
    const dataPlane = await startDataPlane();
    const url = dataPlane.url;
    await dataPlane.close();
    const result = await runCli(['check', '--data-plane-url', url, '--allow-private-networks'], { RUDDERSTACK_WRITE_KEY: WRITE_KEY });

    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/Not delivered: could not reach the data plane \(ECONNREFUSED/);
  });

  test('shows the data plane URL without a key pasted into its path', async () => {
    const dataPlane = await startDataPlane({ writeKeys: [WRITE_KEY] });
    const result = await runCli(['check', '--data-plane-url', `${dataPlane.url}/${WRITE_KEY}`, '--allow-private-networks'], {
      RUDDERSTACK_WRITE_KEY: WRITE_KEY,
    });

    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`to ${dataPlane.url}/`);
    expect(result.stdout).toContain('Not delivered: the source is disabled, or this URL is not a RudderStack data plane (HTTP 404)');
    expectKeyNotShown(result);
  });

  test('keeps a key typed into the host name out of its output when that name does not resolve', async () => {
    const result = await runCli(['check', '--data-plane-url', `http://${WRITE_KEY}.invalid`], { RUDDERSTACK_WRITE_KEY: WRITE_KEY, ...UNRESOLVABLE_HOST_NAMES });

    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/Not delivered: could not reach the data plane \(ENOTFOUND/);
    expectKeyNotShown(result);
  });

  test.each([
    ['as the password', `http://user:${WRITE_KEY}@127.0.0.1:9`],
    ['in the query', `http://127.0.0.1:9/?writeKey=${WRITE_KEY}`],
  ])('keeps a key typed %s of the URL out of its output', async (_, url) => {
    const result = await runCli(['check', '--data-plane-url', url, '--allow-private-networks'], { RUDDERSTACK_WRITE_KEY: WRITE_KEY });

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('invalid settings');
    expectKeyNotShown(result);
  });

  test('reports invalid settings with validateSettings messages and the flag to use', async () => {
    const result = await runCli(['check', '--data-plane-url', 'http://127.0.0.1:9'], { RUDDERSTACK_WRITE_KEY: WRITE_KEY });

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('error: invalid settings:');
    expect(result.stderr).toContain('a loopback address');
    expect(result.stderr).toContain('pass --allow-private-networks');
  });

  test('without a write key: one line and exit 2', async () => {
    const result = await runCli(['check', '--data-plane-url', 'https://hosted.rudderlabs.com']);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe('error: no write key: set RUDDERSTACK_WRITE_KEY or pass --write-key-file FILE\n');
  });

  test('a bare --write-key is not an option: one line and exit 2', async () => {
    const result = await runCli(['check', '--write-key', WRITE_KEY]);

    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual(["error: unknown option '--write-key'"]);
  });

  test('--help shows an example', async () => {
    const result = await runCli(['check', '--help']);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Example:\n  $ RUDDERSTACK_WRITE_KEY=... flagsmith-rudderstack check');
  });
});
