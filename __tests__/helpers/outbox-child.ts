/**
 * One replica for the outbox crash suite, run as a child process: an integration with the
 * durable outbox on a pg Pool (search_path = OUTBOX_SCHEMA), sending environment "env-crash" to
 * DATA_PLANE_URL. It accepts an event every TICK_MS (identifier `${CHILD_NAME}-${n}`, at most
 * MAX_EVENTS), and after each `await integration.whenDurable()` writes one JSON line to stdout
 * with the identifiers it made durable (writes to a pipe are synchronous on Linux: a line the
 * parent reads was durable before any kill). Lines: `{"ready":true}`, `{"durable":[...],"stats":{...}}`,
 * `{"stopped":true,"stats":{...}}` once "stop" arrives on stdin and the last events are durable,
 * `{"closed":true,"stats":{...}}` after SIGTERM's close(). INTEGRATION_OPTIONS (JSON) adds options.
 */
import { Pool } from 'pg';
import { RudderStackIntegration } from '../../src/integration';
import { PostgresOutbox } from '../../src/outbox/postgres-outbox';
import type { RudderStackIntegrationOptions } from '../../src/types';

const CHILD_ENVIRONMENT = 'env-crash';

function setting(name: string): string {
  const value = process.env[name];
  if (value === undefined) throw new Error(`outbox-child: ${name} is not set`);
  return value;
}

function say(line: object): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function main(): Promise<void> {
  const name = setting('CHILD_NAME');
  const maxEvents = process.env.MAX_EVENTS === undefined ? Number.POSITIVE_INFINITY : Number(process.env.MAX_EVENTS);
  const pool = new Pool({ connectionString: setting('DATABASE_URL'), options: `-c search_path=${setting('OUTBOX_SCHEMA')}`, application_name: name });
  // A backend that goes away is the pool's business; the outbox reports the failed statement.
  pool.on('error', () => undefined);
  const outbox = new PostgresOutbox(pool, { table: setting('OUTBOX_TABLE'), leaseMs: Number(setting('LEASE_MS')) });
  await outbox.migrate();
  const extra = JSON.parse(process.env.INTEGRATION_OPTIONS ?? '{}') as Partial<RudderStackIntegrationOptions>;
  const integration = new RudderStackIntegration({
    config: { [CHILD_ENVIRONMENT]: { api_key: setting('WRITE_KEY'), base_url: setting('DATA_PLANE_URL') } },
    durable: outbox,
    allowPrivateNetworks: true,
    flushIntervalMs: 20,
    logger: {
      debug() {},
      info() {},
      warn: (text: string) => process.stderr.write(`${name} warn: ${text}\n`),
      error: (text: string) => process.stderr.write(`${name} error: ${text}\n`),
    },
    ...extra,
  });

  let accepting = maxEvents > 0;
  let made = 0;
  let accepted: string[] = [];
  const accept = setInterval(
    () => {
      if (!accepting) return;
      const identifier = `${name}-${made++}`;
      integration.postIdentityFetch({
        environmentKey: CHILD_ENVIRONMENT,
        identity: { identifier },
        flags: [{ feature: { name: 'crash_seq' }, enabled: true, feature_state_value: made }],
      });
      accepted.push(identifier);
      if (made >= maxEvents) accepting = false;
    },
    Number(process.env.TICK_MS ?? 2),
  );

  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (text: string) => {
    if (text.includes('stop')) accepting = false;
  });
  process.once('SIGTERM', () => {
    clearInterval(accept);
    void integration
      .close()
      .then(() => say({ closed: true, stats: integration.stats() }))
      .then(() => pool.end())
      .then(() => process.exit(0));
  });

  say({ ready: true });
  let stopped = false;
  for (;;) {
    const batch = accepted;
    accepted = [];
    await integration.whenDurable();
    if (batch.length > 0) say({ durable: batch, stats: integration.stats() });
    if (!accepting && accepted.length === 0 && !stopped) {
      stopped = true;
      say({ stopped: true, stats: integration.stats() });
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`outbox-child failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
