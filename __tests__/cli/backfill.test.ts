import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { offlineFlagsmith } from '../../src/host/offline-flagsmith';
import { toTraits } from '../../src/mapping';
import { closeHarnesses, startDataPlane } from '../helpers/harness';
import { requireBuiltCli, runCli, startCli } from '../helpers/cli';

const DOCUMENT = path.resolve(__dirname, '../../fixtures/environment-document.json');
const WRITE_KEY = 'wk_backfill_secret_77';
const PLANS = ['free', 'pro', 'enterprise'];

let dir: string;
beforeAll(() => {
  requireBuiltCli();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backfill-'));
});
afterEach(closeHarnesses);

interface Identity {
  identifier: string;
  traits: Record<string, string | number | boolean>;
}

function identities(count: number): Identity[] {
  return Array.from({ length: count }, (_, i) => ({ identifier: `user-${i}`, traits: { plan: PLANS[i % 3], seats: i } }));
}

function writeNdjson(name: string, records: unknown[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, records.map((record) => JSON.stringify(record)).join('\n') + '\n');
  return file;
}

/** What the hook would send for each identity: flags evaluated by flagsmith-nodejs from the same document. */
async function expectedTraits(records: Identity[]): Promise<Map<string, unknown>> {
  const flagsmith = offlineFlagsmith(DOCUMENT);
  const expected = new Map<string, unknown>();
  for (const { identifier, traits } of records) expected.set(identifier, { ...toTraits(await flagsmith.getIdentityFlags(identifier, traits)) });
  await flagsmith.close();
  return expected;
}

function sendArgs(url: string, file: string): string[] {
  return ['backfill', '--environment-document', DOCUMENT, '--identities', file, '--data-plane-url', url, '--allow-private-networks'];
}

describe('flagsmith-rudderstack backfill', () => {
  test('sends each identity of an NDJSON file with the flags flagsmith-nodejs evaluates for it', async () => {
    const records = identities(30);
    const file = writeNdjson('thirty.ndjson', records);
    const dataPlane = await startDataPlane({ writeKeys: [WRITE_KEY] });

    const result = await runCli(sendArgs(dataPlane.url, file), { RUDDERSTACK_WRITE_KEY: WRITE_KEY });

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Done in [\d.]+ s: 30 identities sent\.\nDelivered: 30\. Dropped: none\.\n$/);
    const expected = await expectedTraits(records);
    const received = new Map(dataPlane.events.map((event) => [event.userId, event.traits]));
    expect(received).toEqual(expected);
    // The segment override shows: enterprise identities get sso_login.
    expect(received.get('user-2')).toMatchObject({ sso_login: 'saml', api_rate_limit: 5000 });
    expect(result.stdout + result.stderr).not.toContain(WRITE_KEY);
  });

  test('reads CSV: an identifier column and typed trait columns; a row without identifier is reported and counted', async () => {
    const file = path.join(dir, 'people.csv');
    fs.writeFileSync(file, 'identifier,plan,seats\nalice,enterprise,10\nbob,free,\n,pro,3\ncarol,pro,007\n');
    const dataPlane = await startDataPlane();

    const result = await runCli(sendArgs(dataPlane.url, file), { RUDDERSTACK_WRITE_KEY: WRITE_KEY });

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('skipped row 3: no identifier');
    expect(result.stdout).toContain('3 identities sent, 1 invalid record(s) skipped.');
    const expected = await expectedTraits([
      { identifier: 'alice', traits: { plan: 'enterprise', seats: 10 } },
      { identifier: 'bob', traits: { plan: 'free' } },
      { identifier: 'carol', traits: { plan: 'pro', seats: '007' } },
    ]);
    expect(new Map(dataPlane.events.map((event) => [event.userId, event.traits]))).toEqual(expected);
  });

  test('--skip N starts after the first N identities', async () => {
    const records = identities(30);
    const file = writeNdjson('skip.ndjson', records);
    const dataPlane = await startDataPlane();

    const result = await runCli([...sendArgs(dataPlane.url, file), '--skip', '25'], { RUDDERSTACK_WRITE_KEY: WRITE_KEY });

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('5 identities sent, the first 25 skipped as asked.');
    // Sorted: an event accepted while the settings load may be batched after the next ones.
    expect(dataPlane.events.map((event) => event.userId).sort()).toEqual(['user-25', 'user-26', 'user-27', 'user-28', 'user-29']);
  });

  test('--dry-run prints the identify events as NDJSON and sends nothing', async () => {
    const records = identities(5);
    const file = writeNdjson('dry.ndjson', records);

    const result = await runCli(['backfill', '--environment-document', DOCUMENT, '--identities', file, '--dry-run']);

    expect(result.code).toBe(0);
    const events = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; userId: string; traits: unknown });
    const expected = await expectedTraits(records);
    expect(events.map((event) => [event.userId, event.traits])).toEqual([...expected]);
    expect(events.every((event) => event.type === 'identify')).toBe(true);
    expect(result.stderr).toContain('5 identities printed.');
  });

  test('Ctrl-C flushes what was read and says where to resume; every identity before that point was delivered', async () => {
    const total = 100_000;
    const file = writeNdjson('large.ndjson', identities(total));
    const dataPlane = await startDataPlane();
    const run = startCli(sendArgs(dataPlane.url, file), { RUDDERSTACK_WRITE_KEY: WRITE_KEY });
    // Interrupted mid-run: once the first batch has arrived.
    await dataPlane.waitForEvents(1, 20_000);
    run.child.kill('SIGINT');
    const result = await run.done;

    expect(result.code).toBe(130);
    const resumeAt = Number(/run the same command with --skip (\d+)/.exec(result.stdout)?.[1]);
    expect(resumeAt).toBeGreaterThan(0);
    expect(resumeAt).toBeLessThan(total);
    expect(result.stdout).toContain(`Interrupted in`);
    expect(result.stdout).toContain(`Delivered: ${resumeAt}. Dropped: none.`);
    const delivered = new Set(dataPlane.events.map((event) => event.userId));
    expect(delivered).toEqual(new Set(Array.from({ length: resumeAt }, (_, i) => `user-${i}`)));
  });

  test('stops reading at the first 401 and says what to fix, instead of sending every identity to a refusing data plane', async () => {
    const file = writeNdjson('refused.ndjson', identities(5_000));
    const dataPlane = await startDataPlane({ writeKeys: ['the-right-key'] });

    const result = await runCli(sendArgs(dataPlane.url, file), { RUDDERSTACK_WRITE_KEY: WRITE_KEY });

    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/Stopped early: the data plane refused the write key \(HTTP 401\)\. Fix the settings/);
    const sent = Number(/: (\d+) identities sent/.exec(result.stdout)?.[1]);
    // It stopped long before the end of the file; everything it did send was refused, nothing delivered.
    expect(sent).toBeLessThan(5_000);
    expect(dataPlane.events).toHaveLength(0);
    expect(result.stdout + result.stderr).not.toContain(WRITE_KEY);
  });

  test('a missing identities file: one line and exit 2', async () => {
    const result = await runCli(['backfill', '--environment-document', DOCUMENT, '--identities', path.join(dir, 'nope.ndjson'), '--dry-run']);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`error: --identities: no such file: ${path.join(dir, 'nope.ndjson')}\n`);
  });

  test('--help shows an example', async () => {
    const result = await runCli(['backfill', '--help']);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Example:\n  $ RUDDERSTACK_WRITE_KEY=... flagsmith-rudderstack backfill');
  });
});
