import { InvalidInputError, toTraits, traitValue } from '../../src/mapping';
import { traitList } from '../../src/mapping/traits';
import type { FlagsInput, ValueMode } from '../../src/types';

const noop = (): void => undefined;

// [case, value, trait in 'documented', trait in 'flagsmith-python'] for an ENABLED flag.
const enabledCases: Array<[string, unknown, unknown, unknown]> = [
  ['integer', 42, 42, 42],
  ['negative integer', -7, -7, -7],
  ['float', 0.15, 0.15, 0.15],
  ['string', 'blue', 'blue', 'blue'],
  ['true', true, true, true],
  ['false', false, false, true],
  ['null', null, true, true],
  ['undefined', undefined, true, true],
  ['0', 0, 0, true],
  ['-0', -0, -0, true],
  ['empty string', '', '', true],
  ['whitespace string', ' ', ' ', ' '],
  ['string "0"', '0', '0', '0'],
  ['string "false"', 'false', 'false', 'false'],
  // Not representable in JSON: no value, so the enabled boolean is sent.
  ['NaN', NaN, true, true],
  ['Infinity', Infinity, true, true],
  ['-Infinity', -Infinity, true, true],
  ['object', { colour: 'blue' }, true, true],
  ['empty object', {}, true, true],
  ['array', ['blue'], true, true],
  ['function', noop, true, true],
  ['symbol', Symbol('blue'), true, true],
  // JSON cannot hold a BigInt: its decimal string is sent. 0n is falsy in Python, as 0 is.
  ['BigInt', 12345678901234567890n, '12345678901234567890', '12345678901234567890'],
  ['negative BigInt', -5n, '-5', '-5'],
  ['BigInt 0', 0n, '0', true],
];

const modes: ValueMode[] = ['documented', 'flagsmith-python'];

describe('traitValue', () => {
  describe.each(enabledCases)('an enabled flag whose value is %s', (_label, value, documented, python) => {
    test('documented', () => {
      expect(traitValue({ name: 'f', enabled: true, value }, 'documented')).toBe(documented);
    });
    test('flagsmith-python', () => {
      expect(traitValue({ name: 'f', enabled: true, value }, 'flagsmith-python')).toBe(python);
    });
    test.each(modes)('disabled, %s: false', (mode) => {
      expect(traitValue({ name: 'f', enabled: false, value }, mode)).toBe(false);
    });
  });

  test('a non-boolean enabled counts as disabled', () => {
    const flag = { name: 'f', enabled: 'yes' as unknown as boolean, value: 'blue' };
    expect(traitValue(flag, 'documented')).toBe(false);
  });
});

describe('toTraits', () => {
  const apiFlag = (name: string, enabled: boolean, value: unknown) => ({
    id: 1,
    feature: { id: 1, name, type: 'STANDARD' },
    feature_state_value: value,
    enabled,
  });

  test('defaults to documented', () => {
    const flags = [apiFlag('retry_limit', true, 0), apiFlag('welcome_message', true, '')];
    expect(toTraits(flags)).toEqual({ retry_limit: 0, welcome_message: '' });
    expect(toTraits(flags, {})).toEqual({ retry_limit: 0, welcome_message: '' });
    expect(toTraits(flags, { valueMode: 'flagsmith-python' })).toEqual({
      retry_limit: true,
      welcome_message: true,
    });
  });

  test.each(modes)('every value case in one call, %s', (mode) => {
    const flags = enabledCases.map(([label, value]) => ({ featureName: label, enabled: true, value }));
    const expected = Object.fromEntries(enabledCases.map(([label, , documented, python]) => [label, mode === 'documented' ? documented : python]));
    expect(toTraits(flags, { valueMode: mode })).toEqual(expected);
  });

  test('every trait survives JSON as sent', () => {
    const flags = enabledCases.map(([label, value]) => ({ featureName: label, enabled: true, value }));
    const traits = toTraits(flags);
    const roundTrip = JSON.parse(JSON.stringify(traits)) as Record<string, unknown>;
    expect(Object.keys(roundTrip)).toEqual(Object.keys(traits));
    expect(roundTrip['-0']).toBe(0);
    expect(roundTrip.BigInt).toBe('12345678901234567890');
  });

  test('keys are the feature names exactly as given', () => {
    const names = ['Checkout V2', ' padded ', 'ünïcödé', 'a.b.c', '123', 'CASE', 'case'];
    const traits = toTraits(names.map((name) => apiFlag(name, false, null)));
    expect(Object.keys(traits).sort()).toEqual([...names].sort());
  });

  test('a duplicated feature name: the last flag wins', () => {
    const flags = [apiFlag('checkout_v2', true, 'blue'), apiFlag('checkout_v2', false, 'green')];
    expect(toTraits(flags)).toEqual({ checkout_v2: false });
  });

  test('enabled is a real boolean in the output', () => {
    const flags = [
      { featureName: 'a', enabled: 1, value: null },
      { featureName: 'b', enabled: 'false', value: null },
    ] as unknown as FlagsInput;
    const traits = toTraits(flags);
    expect(traits).toEqual({ a: false, b: false });
  });

  test('throws InvalidInputError for input that is no FlagsInput', () => {
    expect(() => toTraits(null as unknown as FlagsInput)).toThrow(InvalidInputError);
  });
});

describe('toTraits: hostile feature names', () => {
  const hostile = ['__proto__', 'constructor', 'toString', 'prototype', 'hasOwnProperty', 'valueOf'];
  let prototypeKeys: string[];

  beforeEach(() => {
    prototypeKeys = Reflect.ownKeys(Object.prototype).map(String).sort();
  });

  afterEach(() => {
    expect(Reflect.ownKeys(Object.prototype).map(String).sort()).toEqual(prototypeKeys);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });

  const shapes: Array<[string, (name: string, value: unknown) => unknown]> = [
    ['API items', (name, value) => ({ feature: { name }, enabled: true, feature_state_value: value })],
    ['SDK Flag items', (name, value) => ({ featureName: name, enabled: true, value })],
  ];

  test.each(shapes)('%s: ordinary own keys, present in JSON', (_label, makeFlag) => {
    const flags = hostile.map((name) => makeFlag(name, `${name}-value`)) as FlagsInput;
    const traits = toTraits(flags);

    expect(Object.getPrototypeOf(traits)).toBeNull();
    for (const name of hostile) {
      expect(Object.prototype.hasOwnProperty.call(traits, name)).toBe(true);
      expect(traits[name]).toBe(`${name}-value`);
    }
    const json = JSON.stringify(traits);
    expect(json).toBe(
      '{"__proto__":"__proto__-value","constructor":"constructor-value","toString":"toString-value",' +
        '"prototype":"prototype-value","hasOwnProperty":"hasOwnProperty-value","valueOf":"valueOf-value"}',
    );
    // JSON.parse also makes __proto__ an own key, so the parsed event holds the same traits.
    expect(Object.keys(JSON.parse(json) as object)).toEqual(hostile);
  });

  test('an object value under __proto__ cannot replace a prototype', () => {
    const flags = [{ featureName: '__proto__', enabled: true, value: { polluted: 'yes' } }];
    const traits = toTraits(flags);
    expect(traits.__proto__).toBe(true);
    expect((traits as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.stringify(traits)).toBe('{"__proto__":true}');
  });

  test('feature names of Object.prototype members are not inherited as traits', () => {
    const traits = toTraits([{ featureName: 'checkout_v2', enabled: true, value: 'blue' }]);
    expect(traits.toString).toBeUndefined();
    expect(traits.constructor).toBeUndefined();
    expect('hasOwnProperty' in traits).toBe(false);
  });
});

describe('traitList', () => {
  const states = (...names: string[]) => names.map((name, index) => ({ name, enabled: true, value: index }));
  const asObjectOrder = (names: string[]) => {
    const list = traitList(states(...names), 'documented');
    const traits = toTraits(names.map((name, index) => ({ featureName: name, enabled: true, value: index })));
    return { list, traits };
  };

  it('keeps the flags in order when every name is distinct', () => {
    expect(traitList(states('b', 'a', 'c'), 'documented')).toEqual({ names: ['b', 'a', 'c'], values: [0, 1, 2] });
  });

  it.each([
    ['a repeated name: its first place, its last value', ['a', 'b', 'a']],
    ['index-like names: first, in numeric order', ['b', '10', 'a', '2', '01', '4294967295']],
    ['a repeated name among more names than are compared pairwise', [...Array.from({ length: 40 }, (_, i) => `f${i}`), 'f3']],
  ])('orders %s, as toTraits does', (_label, names) => {
    const { list, traits } = asObjectOrder(names);
    expect(list.names).toEqual(Object.keys(traits));
    expect(list.values).toEqual(Object.values(traits));
  });
});
