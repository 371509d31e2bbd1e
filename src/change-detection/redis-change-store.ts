import type { ChangeClaim, ChangeVerdict, SharedChangeStore } from '../types';

/** An ioredis client (`Redis` or `Cluster`): `eval(script, numKeys, ...keysAndArgs)`. */
export interface IoRedisClientLike {
  /** Runs a Lua script. */
  eval(script: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  /** Only read to tell ioredis from node-redis. */
  defineCommand(name: string, definition: { lua: string; numberOfKeys?: number }): void;
}

/** A node-redis v4+ client: `eval(script, { keys, arguments })`. */
export interface NodeRedisClientLike {
  /** Runs a Lua script. */
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

/** A Redis client `RedisChangeStore` can use: ioredis or node-redis. */
export type RedisClientLike = IoRedisClientLike | NodeRedisClientLike;

/** Options of `new RedisChangeStore(client, options)`. */
export interface RedisChangeStoreOptions {
  /** Prepended to every key (default "flagsmith-rudderstack:sent:"). */
  prefix?: string;
  /**
   * How long a claim (an identify being sent by some replica) makes the other replicas skip the
   * same state (default 30 000). Delivery normally confirms or releases the claim long before;
   * this bounds the case where a replica dies in between: the state goes out on the next call
   * after the claim expires.
   */
  claimTtlMs?: number;
}

/*
 * One slot per identity: "s|<hash>" (delivered, expires ttlMs after delivery) or
 * "c|<hash>|<token>" (claimed by the replica sending it, expires after claimTtlMs). Each script
 * is one atomic round trip; KEYS[1] is the only key, so Redis Cluster is fine.
 */

/** ARGV: hash, token, claimTtlMs. 0: unchanged (delivered, or being sent); 1: claimed, send it. */
const CLAIM_SCRIPT = `
local slot = redis.call('GET', KEYS[1])
if slot == 's|' .. ARGV[1] or (slot and string.sub(slot, 1, #ARGV[1] + 3) == 'c|' .. ARGV[1] .. '|') then
  return 0
end
redis.call('SET', KEYS[1], 'c|' .. ARGV[1] .. '|' .. ARGV[2], 'PX', ARGV[3])
return 1`;

/** ARGV: hash, token, ttlMs. Our claim (or an empty slot, as when our claim expired) becomes "delivered". */
const CONFIRM_SCRIPT = `
local slot = redis.call('GET', KEYS[1])
if slot == false or slot == 'c|' .. ARGV[1] .. '|' .. ARGV[2] then
  redis.call('SET', KEYS[1], 's|' .. ARGV[1], 'PX', ARGV[3])
end
return 0`;

/** ARGV: hash, token. Deletes the claim only if it is still ours. */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == 'c|' .. ARGV[1] .. '|' .. ARGV[2] then
  redis.call('DEL', KEYS[1])
end
return 0`;

const DEFAULT_PREFIX = 'flagsmith-rudderstack:sent:';
const DEFAULT_CLAIM_TTL_MS = 30_000;

/**
 * What was sent, shared by every API replica through the host's own Redis client (ioredis or
 * node-redis v4+; this package depends on neither), for `sendOnlyOnChange.store`.
 *
 * The fleet sends each change once: the first replica to see a new state claims it atomically
 * and sends it; a replica seeing the same state while it is claimed or after it was delivered
 * skips it. Only delivery turns a claim into "sent"; a failed delivery deletes the claim, so the
 * next call, on any replica, sends again.
 */
export class RedisChangeStore implements SharedChangeStore {
  readonly #evaluate: (script: string, key: string, args: string[]) => Promise<unknown>;
  readonly #prefix: string;
  readonly #claimTtlMs: string;

  constructor(client: RedisClientLike, options: RedisChangeStoreOptions = {}) {
    if (typeof client !== 'object' || client === null || typeof client.eval !== 'function') {
      throw new TypeError('RedisChangeStore: client must be an ioredis or node-redis (v4+) client');
    }
    const claimTtlMs = options.claimTtlMs ?? DEFAULT_CLAIM_TTL_MS;
    if (!Number.isInteger(claimTtlMs) || claimTtlMs < 1) {
      throw new TypeError(`RedisChangeStore: claimTtlMs must be a whole number of at least 1 (got ${String(options.claimTtlMs)})`);
    }
    if (options.prefix !== undefined && typeof options.prefix !== 'string') {
      throw new TypeError('RedisChangeStore: prefix must be a string');
    }
    this.#prefix = options.prefix ?? DEFAULT_PREFIX;
    this.#claimTtlMs = String(claimTtlMs);
    this.#evaluate = isIoRedis(client)
      ? (script, key, args) => client.eval(script, 1, key, ...args)
      : (script, key, args) => client.eval(script, { keys: [key], arguments: args });
  }

  async claim(claim: ChangeClaim): Promise<ChangeVerdict> {
    const reply = await this.#evaluate(CLAIM_SCRIPT, this.#prefix + claim.key, [claim.hash, claim.token, this.#claimTtlMs]);
    // Anything but the script's 0 sends: a wrong skip loses an identify, a wrong send costs one.
    return reply === 0 ? 'unchanged' : 'changed';
  }

  async confirm(claim: ChangeClaim, ttlMs: number): Promise<void> {
    await this.#evaluate(CONFIRM_SCRIPT, this.#prefix + claim.key, [claim.hash, claim.token, String(ttlMs)]);
  }

  async release(claim: ChangeClaim): Promise<void> {
    await this.#evaluate(RELEASE_SCRIPT, this.#prefix + claim.key, [claim.hash, claim.token]);
  }
}

function isIoRedis(client: RedisClientLike): client is IoRedisClientLike {
  return typeof (client as Partial<IoRedisClientLike>).defineCommand === 'function';
}
