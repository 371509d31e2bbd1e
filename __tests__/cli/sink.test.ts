import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { closeHarnesses, createIntegration, identityContext, waitFor } from '../helpers/harness';
import { requireBuiltCli, runCli, startCli, type CliProcess } from '../helpers/cli';

beforeAll(requireBuiltCli);
afterEach(closeHarnesses);

const running: CliProcess[] = [];
afterEach(async () => {
  for (const sink of running.splice(0)) {
    sink.child.kill('SIGINT');
    await sink.done;
  }
});

/** Starts the command and resolves with its URL, the first line it prints. */
async function startSink(args: string[], env: Record<string, string> = {}): Promise<{ sink: CliProcess; url: string }> {
  const sink = startCli(['sink', '--port', '0', ...args], env);
  running.push(sink);
  await waitFor(() => sink.stdout().includes('\n'), 'the sink to print its URL');
  const url = sink.stdout().split('\n')[0];
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  return { sink, url };
}

function post(url: string, writeKey: string, batch: unknown[]): Promise<Response> {
  return fetch(`${url}/v1/batch`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` },
    body: JSON.stringify({ batch }),
  });
}

describe('flagsmith-rudderstack sink', () => {
  test('prints its URL, then each batch an integration sends, readably; stops on Ctrl-C', async () => {
    const { sink, url } = await startSink([]);
    const integration = createIntegration({ config: { 'env-a': { api_key: 'any-key', base_url: url } } });
    integration.postIdentityFetch(identityContext('env-a', 'user_123', { checkout_v2: 'blue', dark_mode: false }));
    await integration.flush();
    await waitFor(() => sink.stdout().includes('userId "user_123"'), 'the batch to be printed');

    expect(sink.stdout()).toMatch(
      /POST \/v1\/batch {2}1 event\(s\), \d+ B, gzip\n {2}identify {2}userId "user_123"\n {6}checkout_v2 {2}"blue"\n {6}dark_mode {4}false\n/,
    );
    sink.child.kill('SIGINT');
    const result = await sink.done;
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('Stopped (SIGINT): 1 event(s) received, 0 request(s) refused.');
  });

  test('--out writes the events as NDJSON', async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sink-')), 'events.ndjson');
    const { sink, url } = await startSink(['--out', out]);
    expect(
      (
        await post(url, 'k', [
          { type: 'identify', userId: 'a' },
          { type: 'identify', userId: 'b' },
        ])
      ).status,
    ).toBe(200);
    sink.child.kill('SIGINT');
    await sink.done;

    const lines = fs
      .readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { userId: string });
    expect(lines.map((event) => event.userId)).toEqual(['a', 'b']);
  });

  test('checks write keys from SINK_WRITE_KEYS when given', async () => {
    const { sink, url } = await startSink([], { SINK_WRITE_KEYS: 'key-one,key-two' });

    expect((await post(url, 'key-two', [{ type: 'identify', userId: 'a' }])).status).toBe(200);
    const refused = await post(url, 'other', [{ type: 'identify', userId: 'b' }]);
    expect(refused.status).toBe(401);
    expect(await refused.text()).toBe('invalid write key\n');
    await waitFor(() => sink.stdout().includes('answered 401'), 'the refusal to be printed');
  });

  test('--status alone fails every request with that status; --fail-rate 0 fails none', async () => {
    const { url: failing } = await startSink(['--status', '503']);
    const { url: healthy } = await startSink(['--fail-rate', '0', '--status', '503']);

    expect((await post(failing, 'k', [{ type: 'identify', userId: 'a' }])).status).toBe(503);
    expect((await post(healthy, 'k', [{ type: 'identify', userId: 'a' }])).status).toBe(200);
  });

  test('--metrics-port serves what it received at /metrics: events, and requests by the class of their answer', async () => {
    const { sink, url } = await startSink(['--metrics-port', '0'], { SINK_WRITE_KEYS: 'key-one' });
    await waitFor(() => /Metrics of what it receives: (\S+)\n/.test(sink.stderr()), 'the metrics URL');
    const metricsUrl = /Metrics of what it receives: (\S+)\n/.exec(sink.stderr())![1]!;
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);

    expect(
      (
        await post(url, 'key-one', [
          { type: 'identify', userId: 'a' },
          { type: 'identify', userId: 'b' },
        ])
      ).status,
    ).toBe(200);
    expect((await post(url, 'other', [{ type: 'identify', userId: 'c' }])).status).toBe(401);
    await waitFor(() => sink.stdout().includes('answered 401'), 'the refusal to be settled');

    const scrape = await fetch(metricsUrl);
    expect(scrape.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await scrape.text();
    expect(text).toContain('# TYPE flagsmith_rudderstack_sink_events_received_total counter\nflagsmith_rudderstack_sink_events_received_total 2\n');
    expect(text).toContain('flagsmith_rudderstack_sink_requests_total{status_class="2xx"} 1\n');
    expect(text).toContain('flagsmith_rudderstack_sink_requests_total{status_class="4xx"} 1\n');
    expect(text).not.toContain('key-one');
    expect((await fetch(metricsUrl.replace(/\/metrics$/, '/'))).status).toBe(404);
  });

  test('bad arguments: one line and exit 2', async () => {
    const result = await runCli(['sink', '--fail-rate', '1.5']);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe("error: option '--fail-rate <share>' argument '1.5' is invalid. must be a number from 0 to 1.\n");
  });

  test('--help shows an example', async () => {
    const result = await runCli(['sink', '--help']);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Example:\n  $ flagsmith-rudderstack sink --port 8080 --fail-rate 0.3 --status 503 --metrics-port 9464');
  });
});
