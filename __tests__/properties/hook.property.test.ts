/**
 * Property tests over the hook with arbitrary, hostile contexts: wrong types, missing fields,
 * huge and unicode strings, NaN/Infinity, BigInt, symbols, functions, circular values, getters
 * and proxies that throw, thousands of flags. Against a real local data plane:
 * - the hook never throws;
 * - every request body the data plane gets is valid JSON, and none is refused (the data plane
 *   answers 400 to an event without a userId: such events must be filtered, not sent);
 * - every call is accounted for: received = skipped + unchanged + sum(dropped) + delivered +
 *   queued + inFlight - splitEvents;
 * - Object.prototype is untouched, whatever the feature names and trait keys.
 */
import fc from 'fast-check';
import type { LocalDataPlane } from '../../src/testing';
import type { ConfigSource, IdentityFetchContext, RudderStackSettings } from '../../src/types';
import { accountedFor, checkSecretsAfterEachTest, faultDataPlane, faultIntegration, OTHER_KEY, settingsFor, WRITE_KEY } from '../faults/support';

checkSecretsAfterEachTest();

// ---- hostile values -------------------------------------------------------------------------
//
// fast-check reads, clones and prints what it generates, and a value whose every read throws
// would blow up fast-check itself. So the arbitraries generate plain descriptions, with markers
// where a hostile value goes, and `materialize` builds the hostile values inside the property.

type ThrownKind = 'error' | 'string' | 'undefined' | 'symbol' | 'bigint';
type Marker =
  | { '§': 'circular' | 'revoked' | 'symbol' | 'function' | 'badDate' | 'throwingToJSON' }
  | { '§': 'proxy'; thrown: ThrownKind }
  | { '§': 'getters'; base: Record<string, unknown>; keys: string[]; thrown: ThrownKind }
  | { '§': 'allFlags'; items: unknown[] }
  | { '§': 'allFlagsThrows'; thrown: ThrownKind };

function thrownOf(kind: ThrownKind): unknown {
  switch (kind) {
    case 'error':
      return new Error('getter exploded');
    case 'string':
      return 'a string';
    case 'undefined':
      return undefined;
    case 'symbol':
      return Symbol('thrown');
    case 'bigint':
      return 42n;
  }
}

function circular(): unknown {
  const node: Record<string, unknown> = { name: 'loop' };
  node.self = node;
  node.list = [node];
  return node;
}

/** Every read throws (including the ones JSON.stringify, Array.isArray, instanceof make). */
function throwingProxy(thrown: () => unknown): unknown {
  const trap = (): never => {
    throw thrown();
  };
  return new Proxy({}, { get: trap, has: trap, ownKeys: trap, getPrototypeOf: trap, getOwnPropertyDescriptor: trap });
}

function revokedProxy(): unknown {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

function withThrowingGetters<T extends object>(target: T, keys: string[], thrown: () => unknown): T {
  for (const key of keys) {
    Object.defineProperty(target, key, {
      enumerable: true,
      configurable: true,
      get: () => {
        throw thrown();
      },
    });
  }
  return target;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Builds the hostile values a description names; copies the rest (own keys kept as own keys, `__proto__` too). */
function materialize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(materialize);
  if (!isPlainObject(value)) return value;
  if (Object.hasOwn(value, '§')) return build(value as unknown as Marker);
  const copy = Object.create(Object.getPrototypeOf(value) as object | null) as Record<string, unknown>;
  for (const key of Reflect.ownKeys(value)) {
    Object.defineProperty(copy, key, { value: materialize(value[key as string]), enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

function build(marker: Marker): unknown {
  switch (marker['§']) {
    case 'circular':
      return circular();
    case 'revoked':
      return revokedProxy();
    case 'symbol':
      return Symbol('sym');
    case 'function':
      return () => 'function value';
    case 'badDate':
      return new Date(Number.NaN);
    case 'throwingToJSON':
      return {
        toJSON: () => {
          throw new Error('toJSON');
        },
      };
    case 'proxy':
      return throwingProxy(() => thrownOf(marker.thrown));
    case 'getters':
      return withThrowingGetters(materialize(marker.base) as object, marker.keys, () => thrownOf(marker.thrown));
    case 'allFlags':
      return { allFlags: () => materialize(marker.items) };
    case 'allFlagsThrows':
      return {
        allFlags: () => {
          throw thrownOf(marker.thrown);
        },
      };
  }
}

const thrownKind = fc.constantFrom<ThrownKind>('error', 'string', 'undefined', 'symbol', 'bigint');

const special: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(NaN, Infinity, -Infinity, -0, 0, null, undefined, true, false, '', ' ', '\u0000', '\ud800', 'é', '🚀'),
  fc.bigInt().map((value): unknown => value),
  fc.constantFrom<Marker>({ '§': 'circular' }, { '§': 'revoked' }, { '§': 'symbol' }, { '§': 'function' }, { '§': 'badDate' }, { '§': 'throwingToJSON' }),
  thrownKind.map((thrown): Marker => ({ '§': 'proxy', thrown })),
);

const unicodeString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary-ascii', maxLength: 40 }),
);

const hugeString = fc.oneof(
  fc.integer({ min: 1_000, max: 40_000 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 500, max: 10_000 }).map((n) => '\u{1F680}é\ud800'.repeat(n)),
);

const hostile: fc.Arbitrary<unknown> = fc.oneof(
  {
    arbitrary: fc.anything({
      maxDepth: 2,
      withBigInt: true,
      withBoxedValues: true,
      withMap: true,
      withSet: true,
      withObjectString: true,
      withNullPrototype: true,
    }),
    weight: 3,
  },
  { arbitrary: special, weight: 3 },
  { arbitrary: unicodeString, weight: 2 },
  { arbitrary: hugeString, weight: 1 },
);

const featureName: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '__defineGetter__', 'valueOf', ''), weight: 3 },
  { arbitrary: unicodeString, weight: 3 },
  { arbitrary: hostile, weight: 1 },
);

const flagValue: fc.Arbitrary<unknown> = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), hostile);

const apiFlag = fc.record(
  { feature: fc.oneof(fc.record({ name: featureName }), hostile), enabled: fc.oneof(fc.boolean(), hostile), feature_state_value: flagValue },
  { requiredKeys: [] },
);
const sdkFlag = fc.record({ featureName, enabled: fc.oneof(fc.boolean(), hostile), value: flagValue }, { requiredKeys: [] });
const flagItem: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: apiFlag, weight: 4 },
  { arbitrary: sdkFlag, weight: 2 },
  { arbitrary: hostile, weight: 1 },
  { arbitrary: fc.tuple(apiFlag, thrownKind).map(([base, thrown]): Marker => ({ '§': 'getters', base, keys: ['enabled'], thrown })), weight: 1 },
);

const flagsInput: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.array(flagItem, { maxLength: 25 }), weight: 5 },
  { arbitrary: fc.array(flagItem, { maxLength: 25 }).map((items): Marker => ({ '§': 'allFlags', items })), weight: 2 },
  { arbitrary: thrownKind.map((thrown): Marker => ({ '§': 'allFlagsThrows', thrown })), weight: 1 },
  { arbitrary: hostile, weight: 1 },
);

const identifier: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.string({ minLength: 1, maxLength: 30 }), weight: 4 },
  { arbitrary: fc.constantFrom('', ' ', '\t\n', '\u00a0', '\u2003'), weight: 1 },
  { arbitrary: unicodeString, weight: 2 },
  { arbitrary: hostile, weight: 2 },
);

const traitsInput: fc.Arbitrary<unknown> = fc.oneof(
  fc.dictionary(fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype'), fc.string({ maxLength: 10 })), flagValue, { maxKeys: 5 }),
  fc.array(fc.record({ trait_key: featureName, trait_value: flagValue }), { maxLength: 5 }),
  hostile,
);

const identity: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.record({ identifier, traits: traitsInput }, { requiredKeys: [] }), weight: 5 },
  { arbitrary: hostile, weight: 1 },
  { arbitrary: thrownKind.map((thrown): Marker => ({ '§': 'getters', base: {}, keys: ['identifier'], thrown })), weight: 1 },
);

const environmentKey: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.constantFrom('env-a', 'env-b', 'env-off'), weight: 6 },
  { arbitrary: hostile, weight: 1 },
);

const context: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.record({ environmentKey, identity, flags: flagsInput }, { requiredKeys: ['environmentKey'] }), weight: 8 },
  {
    arbitrary: fc
      .tuple(fc.record({ environmentKey, identity, flags: flagsInput }), fc.subarray(['environmentKey', 'identity', 'flags']), thrownKind)
      .map(([base, keys, thrown]): Marker => ({ '§': 'getters', base, keys, thrown })),
    weight: 1,
  },
  { arbitrary: hostile, weight: 1 },
);

// ---- the system under test ------------------------------------------------------------------

function configFor(dataPlane: LocalDataPlane): ConfigSource {
  const settings: Record<string, RudderStackSettings> = { 'env-a': settingsFor(dataPlane), 'env-b': settingsFor(dataPlane, OTHER_KEY) };
  return { get: (key) => (Object.hasOwn(settings, key) ? settings[key]! : null) };
}

function expectEveryRequestAcceptedAndJson(dataPlane: LocalDataPlane): void {
  for (const request of dataPlane.requests) {
    expect(() => JSON.parse(request.body.toString('utf8'))).not.toThrow();
    if (request.status !== 200) throw new Error(`the data plane refused a request (${request.status}): ${request.body.toString('utf8').slice(0, 500)}`);
  }
}

function prototypeSnapshot(): Array<[string | symbol, unknown]> {
  return Reflect.ownKeys(Object.prototype).map((key) => {
    const descriptor = Object.getOwnPropertyDescriptor(Object.prototype, key)!;
    return [key, descriptor.value ?? descriptor.get];
  });
}

const PROTOTYPE_BEFORE = prototypeSnapshot();

afterAll(() => {
  expect(prototypeSnapshot()).toEqual(PROTOTYPE_BEFORE);
});

describe('the hook, given arbitrary contexts', () => {
  it('never throws, sends only valid JSON the data plane accepts, and accounts for every call', async () => {
    const dataPlane = await faultDataPlane();
    const { integration } = faultIntegration({ config: configFor(dataPlane), gzip: false, flushIntervalMs: 5 });
    let calls = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(context, { minLength: 1, maxLength: 15 }), async (contexts) => {
        for (const item of contexts) {
          const built = materialize(item);
          expect(() => integration.postIdentityFetch(built as IdentityFetchContext)).not.toThrow();
          calls++;
        }
        await integration.flush();
        const stats = integration.stats();
        expect(stats.received).toBe(calls);
        expect(stats.queued + stats.inFlight).toBe(0);
        expect(accountedFor(stats)).toBe(calls);
        expectEveryRequestAcceptedAndJson(dataPlane);
      }),
      { numRuns: 150 },
    );
    // Most generated contexts are bad; enough must be good for the property to mean something.
    expect(integration.stats().delivered).toBeGreaterThan(20);
    expect(integration.stats().dropped.invalid_input + integration.stats().dropped.no_user_id).toBeGreaterThan(20);
  });

  it('never throws and keeps its counts with thousands of flags per call', async () => {
    const dataPlane = await faultDataPlane();
    const { integration } = faultIntegration({ config: configFor(dataPlane), gzip: false });
    let calls = 0;
    await fc.assert(
      fc.asyncProperty(identifier, fc.array(flagItem, { minLength: 1_000, maxLength: 3_000 }), async (id, flags) => {
        const built = materialize({ environmentKey: 'env-a', identity: { identifier: id }, flags });
        expect(() => integration.postIdentityFetch(built as IdentityFetchContext)).not.toThrow();
        calls++;
        await integration.flush();
        expect(accountedFor(integration.stats())).toBe(calls);
        expectEveryRequestAcceptedAndJson(dataPlane);
      }),
      { numRuns: 12 },
    );
    for (const event of dataPlane.events) expect(Buffer.byteLength(JSON.stringify(event))).toBeLessThanOrEqual(32_768);
  });

  it('delivers a sparse array of flags (indexed by feature id) as its present flags, and drops a proxy claiming 2^32 - 1 of them', async () => {
    const dataPlane = await faultDataPlane();
    const { integration } = faultIntegration({ config: configFor(dataPlane), gzip: false });
    const sparse: unknown[] = [];
    sparse[0] = { feature: { name: 'first' }, enabled: true, feature_state_value: 'a' };
    sparse[100_000_000] = { feature: { name: 'far' }, enabled: true, feature_state_value: 'b' };
    let reads = 0;
    const claiming = new Proxy([], {
      get: (target, key, receiver) => (reads++, key === 'length' ? 2 ** 32 - 1 : Reflect.get(target, key, receiver)),
    });
    integration.postIdentityFetch({ environmentKey: 'env-a', identity: { identifier: 'sparse' }, flags: sparse } as IdentityFetchContext);
    integration.postIdentityFetch({ environmentKey: 'env-a', identity: { identifier: 'claiming' }, flags: claiming } as IdentityFetchContext);
    await integration.flush();
    expect(dataPlane.events.map((event) => [event.userId, event.traits])).toEqual([['sparse', { first: 'a', far: 'b' }]]);
    expect(integration.stats().dropped.invalid_input).toBe(1);
    expect(reads).toBeLessThan(10);
    expectEveryRequestAcceptedAndJson(dataPlane);
  });

  it('never throws when a getter throws an Error whose message cannot be read', () => {
    const { integration } = faultIntegration({ config: { 'env-a': { api_key: WRITE_KEY, base_url: 'http://127.0.0.1:9' } } });
    const unreadable = [
      Object.defineProperty(new Error(), 'message', {
        get: () => {
          throw new Error('message getter');
        },
      }),
      Object.assign(new Error(), { message: { not: 'a string' } }),
      Object.assign(new Error(), { message: 42 }),
      new Proxy(new Error('behind a proxy'), {
        getPrototypeOf: () => {
          throw new Error('instanceof trap');
        },
      }),
    ];
    for (const thrown of unreadable) {
      const context = withThrowingGetters({}, ['environmentKey'], () => thrown);
      expect(() => integration.postIdentityFetch(context as IdentityFetchContext)).not.toThrow();
    }
    expect(integration.stats().dropped.invalid_input).toBe(unreadable.length);
  });
});

describe('prototype pollution', () => {
  it('leaves Object.prototype untouched and sends __proto__, constructor and prototype as ordinary traits', async () => {
    const dataPlane = await faultDataPlane();
    const { integration } = faultIntegration({ config: configFor(dataPlane) });
    const names = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'];
    integration.postIdentityFetch({
      environmentKey: 'env-a',
      identity: { identifier: 'polluter', traits: { ['__proto__']: { polluted: 'yes' }, constructor: { prototype: { polluted: 'yes' } } } },
      flags: names.map((name) => ({ feature: { name }, enabled: true, feature_state_value: `polluted-${name}` })),
    });
    integration.postIdentityFetch({
      environmentKey: 'env-a',
      identity: { identifier: 'sdk-polluter' },
      flags: { allFlags: () => names.map((featureName) => ({ featureName, enabled: true, value: 'polluted' })) },
    });
    await integration.flush();

    expect(prototypeSnapshot()).toEqual(PROTOTYPE_BEFORE);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
    const [event] = dataPlane.events;
    const traits = event!.traits as Record<string, unknown>;
    for (const name of names) {
      expect(Object.hasOwn(traits, name)).toBe(true);
      expect(traits[name]).toBe(`polluted-${name}`);
    }
    expect(dataPlane.events).toHaveLength(2);
  });
});
