import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildIdentifyMessage, InvalidInputError } from '../../src/mapping';
import type { IdentityFetchContext } from '../../src/types';

const packageJson = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as {
  name: string;
  version: string;
};
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function contextFor(identifier: unknown, flags: unknown = []): IdentityFetchContext {
  return {
    environmentKey: 'Vt3mQ9pLx7RkWc2HsYbN4e',
    identity: { identifier },
    flags,
  } as IdentityFetchContext;
}

const context: IdentityFetchContext = {
  environmentKey: 'Vt3mQ9pLx7RkWc2HsYbN4e',
  identity: {
    identifier: 'user_123',
    traits: [{ trait_key: 'plan_tier', trait_value: 'enterprise-secret' }],
  },
  flags: [
    { feature: { name: 'checkout_v2' }, enabled: true, feature_state_value: 'blue' },
    { feature: { name: 'retry_limit' }, enabled: true, feature_state_value: 0 },
    { feature: { name: 'maintenance_mode' }, enabled: false, feature_state_value: null },
  ],
};

function reasonOf(build: () => unknown): string | undefined {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return (error as InvalidInputError).reason;
  }
  return undefined;
}

describe('buildIdentifyMessage: the message', () => {
  test('has every field of an identify event and nothing else', () => {
    const before = Date.now();
    const message = buildIdentifyMessage(context);
    const after = Date.now();

    expect(Object.keys(message).sort()).toEqual(['channel', 'context', 'messageId', 'originalTimestamp', 'traits', 'type', 'userId'].sort());
    expect(message.type).toBe('identify');
    expect(message.userId).toBe('user_123');
    expect(message.traits).toEqual({ checkout_v2: 'blue', retry_limit: 0, maintenance_mode: false });
    expect(Object.keys(message.context).sort()).toEqual(['library', 'traits']);
    expect(message.context.traits).toBe(message.traits);
    expect(message.context.library).toEqual({ name: packageJson.name, version: packageJson.version });
    expect(message.context.library.name).toBe('flagsmith-rudderstack');
    expect(message.channel).toBe('server');
    expect(message.messageId).toMatch(UUID_V4);

    const timestamp = Date.parse(message.originalTimestamp);
    expect(new Date(timestamp).toISOString()).toBe(message.originalTimestamp);
    expect(timestamp).toBeGreaterThanOrEqual(before);
    expect(timestamp).toBeLessThanOrEqual(after);
  });

  test('originalTimestamp follows the clock from one millisecond to the next, backwards too', () => {
    jest.useFakeTimers({ now: Date.UTC(2026, 10, 28, 10, 0, 0, 0) });
    try {
      const at = (): string => buildIdentifyMessage(context).originalTimestamp;
      expect(at()).toBe('2026-11-28T10:00:00.000Z');
      expect(at()).toBe('2026-11-28T10:00:00.000Z');
      jest.setSystemTime(Date.UTC(2026, 10, 28, 10, 0, 0, 1));
      expect(at()).toBe('2026-11-28T10:00:00.001Z');
      jest.setSystemTime(Date.UTC(2026, 10, 28, 9, 59, 59, 999));
      expect(at()).toBe('2026-11-28T09:59:59.999Z');
    } finally {
      jest.useRealTimers();
    }
  });

  test('a fresh messageId for each message', () => {
    const ids = new Set(Array.from({ length: 50 }, () => buildIdentifyMessage(context).messageId));
    expect(ids.size).toBe(50);
  });

  test('uses the given messageId and timestamp', () => {
    const message = buildIdentifyMessage(context, {
      messageId: 'b0a5a2a4-3c6f-4f35-9a55-0d6f4e1c2b7e',
      timestamp: new Date(Date.UTC(2025, 0, 20, 14, 2, 17, 903)),
    });
    expect(message.messageId).toBe('b0a5a2a4-3c6f-4f35-9a55-0d6f4e1c2b7e');
    expect(message.originalTimestamp).toBe('2025-01-20T14:02:17.903Z');
  });

  test('passes the value mode on', () => {
    expect(buildIdentifyMessage(context, { valueMode: 'flagsmith-python' }).traits).toEqual({
      checkout_v2: 'blue',
      retry_limit: true,
      maintenance_mode: false,
    });
  });

  test('does not send the identity traits', () => {
    const json = JSON.stringify(buildIdentifyMessage(context));
    expect(json).not.toContain('plan_tier');
    expect(json).not.toContain('enterprise-secret');
  });

  test('keeps the identifier exactly as given', () => {
    expect(buildIdentifyMessage(contextFor('  User 123  ')).userId).toBe('  User 123  ');
  });

  test('accepts a flagsmith-nodejs Flags-like object', () => {
    const flags = { allFlags: () => [{ featureName: 'dark_mode', enabled: true, value: true }] };
    expect(buildIdentifyMessage(contextFor('user_123', flags)).traits).toEqual({ dark_mode: true });
  });

  test('serializes to the documented JSON', () => {
    const message = buildIdentifyMessage(context, {
      messageId: 'b0a5a2a4-3c6f-4f35-9a55-0d6f4e1c2b7e',
      timestamp: new Date('2025-01-20T14:02:17.903Z'),
    });
    expect(JSON.parse(JSON.stringify(message))).toEqual({
      type: 'identify',
      userId: 'user_123',
      traits: { checkout_v2: 'blue', retry_limit: 0, maintenance_mode: false },
      context: {
        traits: { checkout_v2: 'blue', retry_limit: 0, maintenance_mode: false },
        library: { name: packageJson.name, version: packageJson.version },
      },
      channel: 'server',
      messageId: 'b0a5a2a4-3c6f-4f35-9a55-0d6f4e1c2b7e',
      originalTimestamp: '2025-01-20T14:02:17.903Z',
    });
  });
});

describe('buildIdentifyMessage: no_user_id', () => {
  test.each([
    ['empty', ''],
    ['spaces', '   '],
    ['whitespace of every kind', '\t\n\u00a0\u2003'],
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
    ['an object', { id: 'user_123' }],
    ['a String object', new String('user_123')],
  ])('identifier is %s', (_label, identifier) => {
    expect(reasonOf(() => buildIdentifyMessage(contextFor(identifier)))).toBe('no_user_id');
  });
});

describe('buildIdentifyMessage: invalid_input', () => {
  const boom = (): never => {
    throw new Error('getter');
  };

  test.each([
    ['null context', null],
    ['undefined context', undefined],
    ['a number context', 42],
    ['no identity', { environmentKey: 'k', flags: [] }],
    ['identity null', { environmentKey: 'k', identity: null, flags: [] }],
    ['identity a string', { environmentKey: 'k', identity: 'user_123', flags: [] }],
    ['flags null', { environmentKey: 'k', identity: { identifier: 'u' }, flags: null }],
    ['flags missing', { environmentKey: 'k', identity: { identifier: 'u' } }],
    ['flags a number', { environmentKey: 'k', identity: { identifier: 'u' }, flags: 42 }],
    ['allFlags throws', { environmentKey: 'k', identity: { identifier: 'u' }, flags: { allFlags: boom } }],
    [
      'identity getter throws',
      {
        environmentKey: 'k',
        get identity() {
          return boom();
        },
        flags: [],
      },
    ],
    [
      'flags getter throws',
      {
        environmentKey: 'k',
        identity: { identifier: 'u' },
        get flags() {
          return boom();
        },
      },
    ],
    [
      'identifier getter throws',
      {
        environmentKey: 'k',
        identity: {
          get identifier() {
            return boom();
          },
        },
        flags: [],
      },
    ],
    ['a proxy context', new Proxy({}, { get: boom })],
  ])('%s', (_label, input) => {
    expect(reasonOf(() => buildIdentifyMessage(input as IdentityFetchContext))).toBe('invalid_input');
  });

  test('items with throwing getters are skipped, the event is still built', () => {
    const flags = [
      { featureName: 'kept', enabled: true, value: 1 },
      {
        featureName: 'dropped',
        enabled: true,
        get value(): never {
          return boom();
        },
      },
    ];
    expect(buildIdentifyMessage(contextFor('user_123', flags)).traits).toEqual({ kept: 1 });
  });
});
