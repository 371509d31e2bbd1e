import { InvalidInputError, readFlags } from '../../src/mapping';

function expectInvalidInput(read: () => unknown): void {
  let caught: unknown;
  try {
    read();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(InvalidInputError);
  expect((caught as InvalidInputError).reason).toBe('invalid_input');
}

describe('readFlags: input shapes', () => {
  test('items of the identities endpoint', () => {
    const flags = [
      { id: 1, feature: { id: 3, name: 'checkout_v2', type: 'STANDARD' }, feature_state_value: 'blue', enabled: true },
      { id: 2, feature: { id: 4, name: 'dark_mode', type: 'STANDARD' }, feature_state_value: null, enabled: false },
    ];
    expect(readFlags(flags)).toEqual([
      { name: 'checkout_v2', enabled: true, value: 'blue' },
      { name: 'dark_mode', enabled: false, value: null },
    ]);
  });

  test('flagsmith-nodejs Flag items', () => {
    const flags = [
      { featureId: 3, featureName: 'checkout_v2', enabled: true, value: 'blue', isDefault: false },
      { featureId: 4, featureName: 'dark_mode', enabled: false, value: undefined, isDefault: false },
    ];
    expect(readFlags(flags)).toEqual([
      { name: 'checkout_v2', enabled: true, value: 'blue' },
      { name: 'dark_mode', enabled: false, value: undefined },
    ]);
  });

  test('an object with allFlags(), called on the object itself', () => {
    const flags = {
      items: [{ featureName: 'checkout_v2', enabled: true, value: 'blue' }],
      allFlags() {
        return this.items;
      },
    };
    expect(readFlags(flags)).toEqual([{ name: 'checkout_v2', enabled: true, value: 'blue' }]);
  });

  test('an empty array gives no flags', () => {
    expect(readFlags([])).toEqual([]);
    expect(readFlags({ allFlags: () => [] })).toEqual([]);
  });

  test('enabled is true only for the boolean true', () => {
    const flags = [
      { featureName: 'a', enabled: 'true', value: 1 },
      { featureName: 'b', enabled: 1, value: 1 },
      { featureName: 'c', value: 1 },
      { featureName: 'd', enabled: true, value: 1 },
    ];
    expect(readFlags(flags).map((flag) => flag.enabled)).toEqual([false, false, false, true]);
  });
});

describe('readFlags: unusable items are skipped', () => {
  test('items without a non-empty string name', () => {
    const flags = [
      null,
      undefined,
      42,
      'checkout_v2',
      {},
      { feature: { name: 42 }, enabled: true, feature_state_value: 1 },
      { feature: {}, enabled: true, feature_state_value: 1 },
      { featureName: null, enabled: true, value: 1 },
      { featureName: '', enabled: true, value: 1 },
      { feature: { name: 'kept' }, enabled: true, feature_state_value: 1 },
    ];
    expect(readFlags(flags)).toEqual([{ name: 'kept', enabled: true, value: 1 }]);
  });

  test('items whose properties throw when read', () => {
    const boom = (): never => {
      throw new Error('getter');
    };
    const flags: unknown[] = [
      { featureName: 'enabled_throws', get enabled() { return boom(); }, value: 1 },
      { get feature() { return boom(); }, enabled: true, feature_state_value: 1 },
      { feature: { get name() { return boom(); } }, enabled: true, feature_state_value: 1 },
      { featureName: 'value_throws', enabled: true, get value() { return boom(); } },
      new Proxy({}, { get: boom }),
      { featureName: 'kept', enabled: true, value: 'blue' },
    ];
    Object.defineProperty(flags, 6, { get: boom, enumerable: true });
    expect(readFlags(flags)).toEqual([{ name: 'kept', enabled: true, value: 'blue' }]);
  });
});

describe('readFlags: invalid input', () => {
  test.each([
    ['null', null],
    ['undefined', undefined],
    ['a number', 42],
    ['a string', 'flags'],
    ['a plain object', { checkout_v2: true }],
    ['allFlags that is not a function', { allFlags: [] }],
    ['allFlags returning a non-array', { allFlags: () => ({ length: 1, 0: { featureName: 'a' } }) }],
    ['allFlags returning null', { allFlags: () => null }],
  ])('%s', (_label, flags) => {
    expectInvalidInput(() => readFlags(flags));
  });

  test('allFlags that throws', () => {
    expectInvalidInput(() =>
      readFlags({
        allFlags: () => {
          throw new Error('boom');
        },
      }),
    );
  });

  test('a throwing allFlags getter', () => {
    const flags = {
      get allFlags(): never {
        throw new Error('boom');
      },
    };
    expectInvalidInput(() => readFlags(flags));
  });

  test('an array proxy whose length throws', () => {
    const flags = new Proxy([], {
      get(target, key) {
        if (key === 'length') throw new Error('boom');
        return Reflect.get(target, key);
      },
    });
    expectInvalidInput(() => readFlags(flags));
  });

  test('the cause is kept', () => {
    const cause = new Error('boom');
    try {
      readFlags({
        allFlags: () => {
          throw cause;
        },
      });
    } catch (error) {
      expect((error as Error).cause).toBe(cause);
    }
    expect.assertions(1);
  });
});
