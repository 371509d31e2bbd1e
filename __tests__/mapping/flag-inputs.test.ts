import { InvalidInputError, readFlags, toTraits } from '../../src/mapping';
import { MAX_FLAGS_PER_CALL } from '../../src/mapping/flag-inputs';

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
      {
        featureName: 'enabled_throws',
        get enabled() {
          return boom();
        },
        value: 1,
      },
      {
        get feature() {
          return boom();
        },
        enabled: true,
        feature_state_value: 1,
      },
      {
        feature: {
          get name() {
            return boom();
          },
        },
        enabled: true,
        feature_state_value: 1,
      },
      {
        featureName: 'value_throws',
        enabled: true,
        get value() {
          return boom();
        },
      },
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

describe('readFlags: the work follows the flags present, not the length claimed', () => {
  type Flag = { featureName: string; enabled: boolean; value: string };
  const flag = (name: string): Flag => ({ featureName: name, enabled: true, value: name });

  test('a sparse array (flags indexed by feature id) gives its present flags in index order', () => {
    const flags: Flag[] = [];
    flags[100_000_000] = flag('far');
    flags[0] = flag('first');
    expect(readFlags(flags).map((state) => state.name)).toEqual(['first', 'far']);
    expect(toTraits(flags)).toEqual({ first: 'first', far: 'far' });
  });

  test('the holes of a sparse array are not read, not even from its prototype', () => {
    let holeReads = 0;
    const flags: unknown[] = [];
    Object.setPrototypeOf(
      flags,
      new Proxy(Array.prototype, {
        get(target, key, receiver) {
          if (typeof key === 'string' && /^\d+$/.test(key)) holeReads++;
          return Reflect.get(target, key, receiver);
        },
      }),
    );
    flags[3] = flag('a');
    flags[1_000_000] = flag('b');
    flags[70_000] = flag('c');
    expect(readFlags(flags).map((state) => state.name)).toEqual(['a', 'c', 'b']);
    expect(holeReads).toBe(0);
  });

  test('properties of the array that are not indexes are not flags', () => {
    const flags: unknown[] = [];
    flags[50_000] = flag('indexed');
    Object.assign(flags, { extra: flag('extra'), '-1': flag('negative'), '01': flag('padded') });
    expect(readFlags(flags).map((state) => state.name)).toEqual(['indexed']);
  });

  test(`up to ${MAX_FLAGS_PER_CALL} items are read, dense or sparse`, () => {
    const dense = Array.from({ length: MAX_FLAGS_PER_CALL }, (_, i) => flag(`f${i}`));
    expect(readFlags(dense)).toHaveLength(MAX_FLAGS_PER_CALL);
    const sparse: unknown[] = [];
    for (let i = 0; i < MAX_FLAGS_PER_CALL; i++) sparse[i * 7 + 1] = flag(`f${i}`);
    expect(readFlags(sparse)).toHaveLength(MAX_FLAGS_PER_CALL);
  });

  test(`more than ${MAX_FLAGS_PER_CALL} items is invalid input, dense or sparse`, () => {
    expectInvalidInput(() => readFlags(Array.from({ length: MAX_FLAGS_PER_CALL + 1 }, (_, i) => flag(`f${i}`))));
    const sparse: unknown[] = [];
    for (let i = 0; i <= MAX_FLAGS_PER_CALL; i++) sparse[i * 7 + 1] = flag(`f${i}`);
    expectInvalidInput(() => readFlags(sparse));
  });

  test.each([10_000_000, 2 ** 32 - 1])('an array proxy claiming a length of %i is invalid input after a bounded number of reads', (length) => {
    let reads = 0;
    const flags = new Proxy([flag('a')], {
      get(target, key, receiver) {
        reads++;
        if (key === 'length') return length;
        return Reflect.get(target, key, receiver);
      },
      has(target, key) {
        reads++;
        return Reflect.has(target, key);
      },
      ownKeys(target) {
        reads++;
        return Reflect.ownKeys(target);
      },
    });
    expectInvalidInput(() => readFlags(flags));
    expect(reads).toBeLessThanOrEqual(MAX_FLAGS_PER_CALL + 2);
  });

  test('an array proxy of a length within the limit is read as before', () => {
    const flags = new Proxy([flag('a'), flag('b')], {});
    expect(readFlags(flags).map((state) => state.name)).toEqual(['a', 'b']);
  });
});
