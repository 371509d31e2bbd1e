/**
 * The durable outbox across SIGKILLs: real child processes (helpers/outbox-child.ts, one
 * integration each) sharing one table on the real PostgreSQL server, sending to the local data
 * plane on 127.0.0.1. PGlite lives inside one process, so without a server the suite is skipped
 * with a notice, except in CI, where the server is required.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as path from 'node:path';
import type { Pool } from 'pg';
import type { ReceivedBatch, ReceivedEvent, ReceivedRequest } from '../../src/testing';
import type { IntegrationStats } from '../../src/types';
import { DRAIN } from '../../src/delivery/outbox-drain';
import { PostgresOutbox } from '../../src/outbox/postgres-outbox';
import { closeHarnesses, onCleanup, startDataPlane } from '../helpers/harness';
import { databaseUrl, describeWithPostgresServer, openServerDatabase, type TestDatabase } from '../helpers/postgres';
import { transpileTree, type TranspiledTree } from '../helpers/transpiled';

jest.setTimeout(60_000);

const WRITE_KEY = 'wk_CRASH_s3cr3t_90b1c7';

/** One line a child wrote (see helpers/outbox-child.ts). */
interface ChildLine {
  ready?: true;
  durable?: string[];
  stopped?: true;
  closed?: true;
  stats?: IntegrationStats;
}

type KillKind = 'random' | 'after-durable' | 'mid-commit' | 'mid-request' | 'delivered-unconfirmed' | 'holding-claims' | 'outage';

interface Kill {
  kind: KillKind;
  child: string;
  /** Rows the killed child held (claimed) just after the kill, by identifier. */
  held: string[];
}

const kills: Kill[] = [];
let db: TestDatabase;
let tree: TranspiledTree;
let tableNumber = 0;

/** A running child: every line it wrote, parsed; the identifiers it reported durable. */
class Replica {
  readonly name: string;
  readonly durable: string[] = [];
  readonly lines: ChildLine[] = [];
  /** From its last line that had them. */
  stats: IntegrationStats | undefined;
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #process: ChildProcessWithoutNullStreams;
  readonly #listeners = new Set<(line: ChildLine) => void>();
  #buffer = '';

  constructor(name: string, env: Record<string, string>) {
    this.name = name;
    this.#process = spawn(process.execPath, [path.join(tree.dir, '__tests__/helpers/outbox-child.js')], {
      env: { ...process.env, ...tree.env, WRITE_KEY, CHILD_NAME: name, DATABASE_URL: databaseUrl(), OUTBOX_SCHEMA: db.schema, ...env },
    });
    this.#process.stdout.on('data', (chunk: Buffer) => this.#read(chunk.toString('utf8')));
    this.#process.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
    this.exited = new Promise((resolve) => this.#process.on('close', (code, signal) => resolve({ code, signal })));
    onCleanup(() => this.kill());
  }

  get pid(): number {
    return this.#process.pid!;
  }

  /** Called for every line from now on, as it is read (a kill from here lands before the child writes anything else). */
  onLine(listener: (line: ChildLine) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves with the first line, written so far or later, that matches. */
  async until(matches: (line: ChildLine) => boolean, what: string, timeoutMs = 15_000): Promise<ChildLine> {
    const found = this.lines.find(matches);
    if (found) return found;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        remove();
        reject(new Error(`${this.name}: timed out after ${timeoutMs} ms waiting for ${what}; stderr: ${this.stderr}`));
      }, timeoutMs);
      const remove = this.onLine((line) => {
        if (!matches(line)) return;
        clearTimeout(timer);
        remove();
        resolve(line);
      });
      void this.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        remove();
        reject(new Error(`${this.name} exited (${code ?? signal}) while waiting for ${what}; stderr: ${this.stderr}`));
      });
    });
  }

  ready(): Promise<ChildLine> {
    return this.until((line) => line.ready === true, 'ready');
  }

  /** Sends SIGKILL now (synchronously: nothing the child does after this call is seen). */
  killNow(): void {
    if (this.#process.exitCode === null && this.#process.signalCode === null) this.#process.kill('SIGKILL');
  }

  /** SIGKILL, then waits until its output has been read to the end. */
  async kill(): Promise<void> {
    this.killNow();
    await this.exited;
  }

  /** Stops accepting events; resolves when the last accepted ones are durable. */
  async stopAccepting(): Promise<void> {
    this.#process.stdin.write('stop\n');
    await this.until((line) => line.stopped === true, 'the last events to be durable after stop');
  }

  /** SIGTERM: close(), then exit. */
  async terminate(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.#process.kill('SIGTERM');
    return this.exited;
  }

  #read(text: string): void {
    this.#buffer += text;
    const lines = this.#buffer.split('\n');
    // Only whole lines count: a line cut by the kill was not reported.
    this.#buffer = lines.pop()!;
    for (const raw of lines) {
      let line: ChildLine;
      try {
        line = JSON.parse(raw) as ChildLine;
      } catch {
        this.stderr += `(stdout, not a report) ${raw}\n`;
        continue;
      }
      this.lines.push(line);
      if (line.durable) this.durable.push(...line.durable);
      if (line.stats) this.stats = line.stats;
      for (const listener of [...this.#listeners]) listener(line);
    }
  }
}

/** A data plane whose batches and requests the test can watch as they arrive. */
async function watchedDataPlane(options: Parameters<typeof startDataPlane>[0] = {}) {
  const watchers = { batch: new Set<(batch: ReceivedBatch) => void>(), request: new Set<(request: ReceivedRequest) => void>() };
  const dataPlane = await startDataPlane({
    writeKeys: [WRITE_KEY],
    ...options,
    onBatch: (batch) => watchers.batch.forEach((watch) => watch(batch)),
    onRequest: (request) => watchers.request.forEach((watch) => watch(request)),
  });
  return { dataPlane, watchers };
}

/** A table of its own for each test (the children migrate it too, as replicas starting together would). */
async function freshTable(): Promise<string> {
  const table = `crash_${++tableNumber}`;
  await new PostgresOutbox(db.client, { table }).migrate();
  return table;
}

async function pendingRows(table: string): Promise<number> {
  const { rows } = await db.client.query(`SELECT count(*)::int AS count FROM ${table}`, []);
  return (rows[0] as { count: number }).count;
}

/** Identifiers of the rows a child (by pid, part of its owner name) holds claimed. */
async function heldBy(table: string, pid: number): Promise<string[]> {
  const { rows } = await db.client.query(`SELECT event FROM ${table} WHERE claimed_by LIKE $1`, [`%:${pid}:%`]);
  return (rows as Array<{ event: string }>).map((row) => String((JSON.parse(row.event) as ReceivedEvent).userId));
}

async function eventually(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Polls until the condition holds or the time is up, without failing: the assertions after it say what is missing. */
async function awaitQuietly(condition: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  await eventually(condition, 'a condition the assertions after it check', timeoutMs).catch(() => undefined);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The messageIds each identifier arrived with, one per copy. */
function copiesByIdentifier(events: readonly ReceivedEvent[]): Map<string, string[]> {
  const copies = new Map<string, string[]>();
  for (const event of events) {
    const userId = String(event.userId);
    copies.set(userId, [...(copies.get(userId) ?? []), String(event.messageId)]);
  }
  return copies;
}

interface DeliveryCheck {
  /** Reported durable, never delivered. */
  missing: string[];
  /** Delivered more than once with different messageIds. */
  changedMessageId: string[];
  /** More extra copies than kills that could have caused them. */
  overBound: string[];
  /** Copies beyond the first, in all. */
  extraCopies: number;
}

/**
 * At least once, with the messageId of the first copy on every copy; and at most one extra copy
 * per kill of the child that accepted the event or of any child started after it (the ones that
 * could have held its row).
 */
function checkDeliveries(events: readonly ReceivedEvent[], durable: readonly string[], killsAfter: (userId: string) => number): DeliveryCheck {
  const copies = copiesByIdentifier(events);
  const check: DeliveryCheck = { missing: [], changedMessageId: [], overBound: [], extraCopies: 0 };
  for (const userId of durable) if (!copies.has(userId)) check.missing.push(userId);
  for (const [userId, messageIds] of copies) {
    if (new Set(messageIds).size > 1) check.changedMessageId.push(userId);
    check.extraCopies += messageIds.length - 1;
    if (messageIds.length - 1 > killsAfter(userId)) check.overBound.push(`${userId} x${messageIds.length}`);
  }
  // A failure shows how many, and the first few.
  for (const list of [check.missing, check.changedMessageId, check.overBound]) {
    if (list.length > 10) list.splice(10, list.length, `... ${list.length - 10} more`);
  }
  return check;
}

function droppedIn(stats: IntegrationStats | undefined): number {
  return Object.values(stats?.dropped ?? {}).reduce((sum, count) => sum + count, 0);
}

function childEnv(table: string, dataPlaneUrl: string, leaseMs: number, extra: Record<string, string> = {}): Record<string, string> {
  return { OUTBOX_TABLE: table, DATA_PLANE_URL: dataPlaneUrl, LEASE_MS: String(leaseMs), ...extra };
}

describeWithPostgresServer('Outbox crash suite')('the durable outbox across SIGKILLs (child processes on the PostgreSQL server)', () => {
  beforeAll(async () => {
    tree = transpileTree('__tests__/helpers/outbox-child.ts');
    db = await openServerDatabase();
  });
  afterAll(async () => {
    await db?.close();
    tree?.remove();
    console.info(
      `Outbox crash suite: ${kills.length} SIGKILLs (${Object.entries(
        kills.reduce<Record<string, number>>((counts, kill) => ({ ...counts, [kill.kind]: (counts[kill.kind] ?? 0) + 1 }), {}),
      )
        .map(([kind, count]) => `${kind} ${count}`)
        .join(', ')})`,
    );
  });
  afterEach(closeHarnesses);

  it('loses nothing that whenDurable() reported across 20 SIGKILLs at random moments, mid-commit and mid-request, and keeps each messageId', async () => {
    const leaseMs = 2_000;
    const { dataPlane, watchers } = await watchedDataPlane();
    const table = await freshTable();
    const children: Replica[] = [];
    const start = (): Replica => {
      const child = new Replica(`c${children.length}`, childEnv(table, dataPlane.url, leaseMs));
      children.push(child);
      return child;
    };
    const firstDurable = (child: Replica) => child.until((line) => line.durable !== undefined, 'a first durable line');

    /** Each resolves once it has sent the SIGKILL. */
    const strategies: Record<Exclude<KillKind, 'holding-claims' | 'outage'>, (child: Replica) => Promise<void>> = {
      // From the spawn: some land while it starts (connecting, migrating), most while it runs.
      random: async (child) => {
        await sleep(100 + Math.random() * 1_200);
        child.killNow();
      },
      // The next group commit is gathering or in flight: one every few milliseconds.
      'after-durable': async (child) => {
        await child.ready();
        const nth = 1 + Math.floor(Math.random() * 15);
        let seen = 0;
        await child.until((line) => line.durable !== undefined && ++seen === nth, `durable line ${nth}`);
        child.killNow();
      },
      // Certainly mid-commit: the table is locked against writes and the child's INSERT waits on it.
      'mid-commit': async (child) => {
        await firstDurable(child);
        const locker = await (db.client as Pool).connect();
        try {
          await locker.query('BEGIN');
          await locker.query(`LOCK TABLE ${table} IN SHARE ROW EXCLUSIVE MODE`);
          await eventually(async () => {
            const { rows } = await locker.query(
              "SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO%'",
              [child.name],
            );
            return rows.length > 0;
          }, `${child.name}'s INSERT to wait on the lock`);
          child.killNow();
        } finally {
          await locker.query('ROLLBACK');
          locker.release();
        }
      },
      // Certainly mid-request: the data plane has read the batch and will never answer.
      'mid-request': async (child) => {
        await firstDurable(child);
        const hung = new Promise<void>((resolve) => {
          const watch = (request: ReceivedRequest): void => {
            if (request.outcome !== 'hang') return;
            watchers.request.delete(watch);
            resolve();
          };
          watchers.request.add(watch);
        });
        dataPlane.fail({ action: 'hang' });
        await hung;
        child.killNow();
      },
      // Delivered, but the child dies before the 200 reaches it: its rows stay and are sent again.
      'delivered-unconfirmed': async (child) => {
        await firstDurable(child);
        await new Promise<void>((resolve) => {
          const watch = (): void => {
            child.killNow();
            watchers.batch.delete(watch);
            resolve();
          };
          watchers.batch.add(watch);
        });
      },
    };
    const order = Object.keys(strategies) as Array<keyof typeof strategies>;

    for (let i = 0; i < 20; i++) {
      const child = start();
      const kind = order[i % order.length]!;
      await strategies[kind](child);
      await child.exited;
      kills.push({ kind, child: child.name, held: await heldBy(table, child.pid) });
    }

    // The last one is left alone: it delivers what the killed ones left, by itself.
    const last = start();
    await firstDurable(last);
    await sleep(300);
    await last.stopAccepting();
    const durable = children.flatMap((child) => child.durable);
    const delivered = (): Set<string> => new Set(dataPlane.events.map((event) => String(event.userId)));
    await awaitQuietly(() => durable.every((userId) => delivered().has(userId)));
    await awaitQuietly(async () => (await pendingRows(table)) === 0);
    expect(await pendingRows(table)).toBe(0);
    expect(await last.terminate()).toEqual({ code: 0, signal: null });
    expect(last.lines.at(-1)).toMatchObject({ closed: true });
    expect(droppedIn(last.stats)).toBe(0);

    const crashKills = kills.filter((kill) => kill.child.startsWith('c'));
    const childIndex = (name: string): number => Number(/^c(\d+)/.exec(name)![1]);
    const check = checkDeliveries(dataPlane.events, durable, (userId) => crashKills.filter((kill) => childIndex(kill.child) >= childIndex(userId)).length);
    const held = crashKills.flatMap((kill) => kill.held);
    console.info(
      `crash: ${crashKills.length} kills, ${durable.length} events reported durable, ${dataPlane.events.length} copies delivered ` +
        `(${check.extraCopies} extra), ${held.length} rows held by killed children, all redelivered: ${held.every((userId) => delivered().has(userId))}`,
    );
    expect(crashKills).toHaveLength(20);
    expect(check).toEqual({ missing: [], changedMessageId: [], overBound: [], extraCopies: expect.any(Number) });
    // Each batch delivered but never confirmed is sent again: the bound above is not vacuous.
    expect(check.extraCopies).toBeGreaterThanOrEqual(crashKills.filter((kill) => kill.kind === 'delivered-unconfirmed').length);
    expect(held.length).toBeGreaterThan(0);
    expect(held.filter((userId) => !delivered().has(userId))).toEqual([]);
  });

  it('a replica killed while holding claims: another delivers its rows within leaseMs + 1 s of the kill, and takes none while the lease holds', async () => {
    const leaseMs = 3_000;
    const events = 300;
    const { dataPlane, watchers } = await watchedDataPlane();
    const table = await freshTable();
    // Every request A makes hangs: it holds its rows, renewing their lease, until it dies.
    dataPlane.fail(Array.from({ length: 50 }, () => ({ action: 'hang' as const })));
    const a = new Replica('a', childEnv(table, dataPlane.url, leaseMs, { MAX_EVENTS: String(events), TICK_MS: '1' }));
    await a.until((line) => line.stopped === true, "A's events to be durable");
    expect(a.durable).toHaveLength(events);
    await eventually(() => dataPlane.requests.filter((request) => request.outcome === 'hang').length === 2, "A's two request slots to hang");
    expect(await heldBy(table, a.pid)).toHaveLength(events);

    const b = new Replica('b', childEnv(table, dataPlane.url, leaseMs, { MAX_EVENTS: '0' }));
    await b.ready();
    // B looks at the outbox at least once per poll interval: it sees the rows, and leaves them to A.
    await sleep(DRAIN.pollIntervalMs * 1.5);
    expect(dataPlane.events).toHaveLength(0);
    expect(await heldBy(table, a.pid)).toHaveLength(events);

    let lastArrival = 0;
    const wanted = new Set(a.durable);
    watchers.batch.add((batch) => {
      for (const event of batch.events) wanted.delete(String(event.userId));
      if (wanted.size === 0 && lastArrival === 0) lastArrival = performance.now();
    });
    dataPlane.reset();
    const killedAt = performance.now();
    a.killNow();
    await a.exited;
    kills.push({ kind: 'holding-claims', child: a.name, held: a.durable });
    await awaitQuietly(() => lastArrival > 0, leaseMs + 10_000);
    expect(checkDeliveries(dataPlane.events, a.durable, () => 0)).toEqual({ missing: [], changedMessageId: [], overBound: [], extraCopies: 0 });
    const takeoverMs = Math.round(lastArrival - killedAt);
    // The bound is the promise, leaseMs + 1 s from the kill. A renewed its lease last
    // before the kill, so its rows are due at most leaseMs after it. B's drain sleeps until the
    // earliest lease ends (dueEnvironments says when); DRAIN.pollIntervalMs only caps that sleep,
    // so it adds nothing. The second is for the claim, the requests and the deletes.
    console.info(`takeover: B delivered all ${events} rows of the killed A ${takeoverMs} ms after the kill (leaseMs ${leaseMs}, bound ${leaseMs + 1_000})`);
    expect(takeoverMs).toBeLessThanOrEqual(leaseMs + 1_000);
    await eventually(async () => (await pendingRows(table)) === 0, 'the outbox to be empty');
    expect(await b.terminate()).toEqual({ code: 0, signal: null });
    expect(b.stats).toMatchObject({ claimed: events, delivered: events, parked: 0 });
    expect(droppedIn(b.stats)).toBe(0);
  });

  it('an outage longer than the old retry budget, with kills during it, loses nothing', async () => {
    const leaseMs = 2_000;
    const maxRetryDurationMs = 300;
    const state = { down: true, first503: 0, last503: 0 };
    const { dataPlane, watchers } = await watchedDataPlane({ randomFailures: { rate: 1, status: 503, random: () => (state.down ? 0 : 1) } });
    watchers.request.add((request) => {
      if (request.status !== 503) return;
      state.first503 ||= performance.now();
      state.last503 = performance.now();
    });
    const table = await freshTable();
    const options = JSON.stringify({ maxRetryDurationMs, maxRetries: 2, retryBaseDelayMs: 50, retryMaxDelayMs: 200 });
    const children: Replica[] = [];
    const start = (): Replica => {
      const child = new Replica(`o${children.length}`, childEnv(table, dataPlane.url, leaseMs, { INTEGRATION_OPTIONS: options, TICK_MS: '5' }));
      children.push(child);
      return child;
    };

    // Two replicas in turn, each killed after its rows were tried and handed back past the budget.
    for (let i = 0; i < 2; i++) {
      const child = start();
      const startedAt = performance.now();
      await child.until(
        (line) => (line.stats?.parked ?? 0) > 0 && performance.now() - startedAt > 3 * maxRetryDurationMs,
        'rows handed back to the outbox after the retry budget ran out',
      );
      expect(droppedIn(child.stats)).toBe(0);
      child.killNow();
      await child.exited;
      kills.push({ kind: 'outage', child: child.name, held: await heldBy(table, child.pid) });
    }
    const last = start();
    await last.until((line) => line.durable !== undefined, 'a first durable line');
    state.down = false;
    const outageMs = state.last503 - state.first503;
    expect(outageMs).toBeGreaterThan(maxRetryDurationMs);
    await last.stopAccepting();

    const durable = children.flatMap((child) => child.durable);
    await awaitQuietly(() => {
      const delivered = new Set(dataPlane.events.map((event) => String(event.userId)));
      return durable.every((userId) => delivered.has(userId));
    });
    await awaitQuietly(async () => (await pendingRows(table)) === 0);
    expect(await pendingRows(table)).toBe(0);
    expect(await last.terminate()).toEqual({ code: 0, signal: null });
    expect(droppedIn(last.stats)).toBe(0);
    const childIndex = (name: string): number => Number(/^o(\d+)/.exec(name)![1]);
    const check = checkDeliveries(dataPlane.events, durable, (userId) => Math.max(0, 2 - childIndex(userId)));
    console.info(
      `outage: 503 for ${Math.round(outageMs)} ms (maxRetryDurationMs ${maxRetryDurationMs}), 2 kills during it, ` +
        `${durable.length} events reported durable, ${check.missing.length} missing, ${check.extraCopies} extra copies`,
    );
    expect(check).toEqual({ missing: [], changedMessageId: [], overBound: [], extraCopies: expect.any(Number) });
  });
});
