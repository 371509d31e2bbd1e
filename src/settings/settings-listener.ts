/**
 * LISTEN for settings changes that any replica makes, and drop what the integration has cached.
 *
 * With pg, one dedicated connection holds the LISTEN (a notification only reaches the session
 * that listens). When it is lost (the server restarted, `pg_terminate_backend`, a network cut
 * that the driver notices), it is re-established with backoff; changes made while it was gone
 * were missed, so every cached setting is dropped once it is back. With PGlite, its own
 * `listen`: one in-process session, nothing to lose.
 */
import { backoffDelayMs } from '../delivery/retry-policy';
import type { Log } from '../log';

/** A connection held for LISTEN: a pg `Client` or a Pool's `PoolClient` has all of it. */
export interface ListenConnection {
  /** Runs `LISTEN`. */
  query(text: string): Promise<unknown>;
  /** A NOTIFY on a channel this session listens to. */
  on(
    event: 'notification',
    listener: (message: {
      /** The channel it was sent on. */
      channel: string;
      /** What it carries: an environment key. */
      payload?: string;
    }) => void,
  ): unknown;
  /** The connection failed. */
  on(event: 'error', listener: (error: Error) => void): unknown;
  /** The connection closed. */
  on(event: 'end', listener: () => void): unknown;
  /** A PoolClient's: called with `true`, so the connection is closed rather than reused. */
  release?(destroy: boolean): void;
  /** A Client's: closes it (used when there is no `release`). */
  end?(): Promise<void>;
}

/** PGlite's `listen`: resolves with the function that stops it. */
export interface PgliteListen {
  listen(channel: string, callback: (payload: string) => void): Promise<() => Promise<void>>;
}

/** What a change means to the listener's owner. */
export interface ChangeSink {
  /** One environment changed (its key is the payload), or, without a key, anything may have. */
  changed(environmentKey?: string): void;
}

/** First retry within this, doubling up to the maximum; full jitter. */
const RECONNECT_BACKOFF = { baseDelayMs: 250, maxDelayMs: 30_000 };
/** How long closing waits for the connection to say it ended. */
const CLOSE_WAIT_MS = 2_000;

/** A connection this listener opened, and whether it has ended. */
interface Held {
  connection: ListenConnection;
  ended: Promise<void>;
}

/** Listens through PGlite; resolves with the function that stops it. */
export async function listenWithPglite(client: PgliteListen, channel: string, sink: ChangeSink): Promise<() => Promise<void>> {
  // PGlite lower-cases an unquoted name, as PostgreSQL does; quoted, it is used as given.
  const unlisten = await client.listen(`"${channel}"`, (payload) => sink.changed(payload || undefined));
  let stopped = false;
  return async () => {
    if (stopped) return;
    stopped = true;
    await unlisten();
  };
}

/**
 * Holds one connection that LISTENs on the channel, and re-establishes it when it is lost.
 * `start` resolves once listening, or rejects when the first attempt fails.
 */
export class SettingsListener {
  readonly #connect: () => Promise<ListenConnection>;
  readonly #channel: string;
  readonly #sink: ChangeSink;
  readonly #log: Log;
  #held: Held | undefined;
  #retry: NodeJS.Timeout | undefined;
  #failures = 0;
  #stopped = false;

  constructor(connect: () => Promise<ListenConnection>, channel: string, sink: ChangeSink, log: Log) {
    this.#connect = connect;
    this.#channel = channel;
    this.#sink = sink;
    this.#log = log;
  }

  async start(): Promise<void> {
    await this.#listen();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retry);
    const held = this.#held;
    this.#held = undefined;
    if (held) await close(held);
  }

  async #listen(): Promise<void> {
    const connection = await this.#connect();
    let ended!: () => void;
    const held: Held = { connection, ended: new Promise((resolve) => (ended = resolve)) };
    // Listeners first: an 'error' event without one would crash the process.
    connection.on('error', (error) => this.#lost(held, error.message));
    connection.on('end', () => {
      ended();
      this.#lost(held, 'the connection closed');
    });
    connection.on('notification', (message) => {
      if (held === this.#held && message.channel === this.#channel) this.#sink.changed(message.payload || undefined);
    });
    try {
      await connection.query(`LISTEN "${this.#channel}"`);
    } catch (error) {
      await close(held);
      throw error;
    }
    if (this.#stopped) {
      await close(held);
      return;
    }
    this.#held = held;
  }

  #lost(held: Held, reason: string): void {
    if (held !== this.#held || this.#stopped) return;
    this.#held = undefined;
    void close(held);
    this.#scheduleRetry(`lost its connection (${reason})`);
  }

  #scheduleRetry(what: string): void {
    const delay = backoffDelayMs(this.#failures, RECONNECT_BACKOFF);
    this.#log.warn(
      `settings change listener on channel "${this.#channel}" ${what}; reconnecting in ${delay} ms. Until it is back, ` +
        'changes made through other replicas take effect within configTtlMs',
      { reason: 'listen_lost' },
    );
    // Unref'd: a lost listener must not keep a process that is done alive.
    this.#retry = setTimeout(() => void this.#reconnect(), delay).unref();
  }

  async #reconnect(): Promise<void> {
    if (this.#stopped) return;
    try {
      await this.#listen();
    } catch (error) {
      this.#failures++;
      if (!this.#stopped) this.#scheduleRetry(`could not reconnect (${error instanceof Error ? error.message : String(error)})`);
      return;
    }
    if (this.#stopped) return;
    this.#failures = 0;
    this.#log.info(`settings change listener on channel "${this.#channel}" is listening again; cached settings dropped, since changes may have been missed`);
    this.#sink.changed();
  }
}

/**
 * Closes a listening connection for good (a pooled one is destroyed, not handed back still
 * listening) and waits, boundedly, until it has ended.
 */
async function close({ connection, ended }: Held): Promise<void> {
  try {
    if (typeof connection.release === 'function') connection.release(true);
    else await connection.end?.();
  } catch {
    // Already closed, or failing to close: either way it no longer listens for us.
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([ended, new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS).unref()))]);
  clearTimeout(timer);
}
