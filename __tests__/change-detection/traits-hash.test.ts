import fc from 'fast-check';
import { hashTraits } from '../../src/change-detection/traits-hash';
import { traitListOf } from '../../src/mapping/traits';
import { toTraits } from '../../src/mapping';
import type { ApiFlag, Traits } from '../../src/types';
import { apiFlags } from '../helpers/harness';

function nullPrototype(entries: Record<string, unknown>): Traits {
  return Object.assign(Object.create(null) as Traits, entries);
}

/** Traits hashed as mapping lists them: in the object's key order. */
const hash = (traits: Traits): string => hashTraits(traitListOf(traits));

describe('hashTraits', () => {
  it('is 16 hex digits, the same for equal traits', () => {
    const first = hash({ theme: 'dark', max: 3, beta: true });
    expect(first).toMatch(/^[0-9a-f]{16}$/);
    expect(hash({ theme: 'dark', max: 3, beta: true })).toBe(first);
  });

  it('does not depend on key order', () => {
    expect(hash({ a: 1, b: 'x', c: false })).toBe(hash({ c: false, a: 1, b: 'x' }));
    const flags = { checkout_v2: 'blue', max_items: 10, dark_mode: false, beta: true };
    const reversed = Object.fromEntries(Object.entries(flags).reverse());
    expect(hash(toTraits(apiFlags(flags)))).toBe(hash(toTraits(apiFlags(reversed))));
  });

  it('does not depend on key order, for any traits (property)', () => {
    const traitsArbitrary = fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.boolean()));
    fc.assert(
      fc.property(traitsArbitrary, fc.integer(), (traits, seed) => {
        const entries = Object.entries(traits);
        const shuffled = entries.map((entry, index) => ({ entry, order: (index * 2654435761 + seed) % 1009 })).sort((x, y) => x.order - y.order);
        return hash(nullPrototype(Object.fromEntries(shuffled.map(({ entry }) => entry)))) === hash(traits);
      }),
    );
  });

  it('tells a number, a string and a boolean apart', () => {
    const hashes = [{ v: 1 }, { v: '1' }, { v: true }, { v: 0 }, { v: '0' }, { v: false }, { v: '' }, { v: 'true' }, { v: 'false' }, {}].map(hash);
    expect(new Set(hashes).size).toBe(hashes.length);
  });

  it('keeps keys and values apart, and entries whole', () => {
    const hashes = [
      { ab: 'c' },
      { a: 'bc' },
      { a: 'b', c: 'd' },
      { a: 'd', c: 'b' },
      { b: 'a' },
      { a: 'b,c' },
      { a: 'b', b: 'a' },
      { a: 1, b: 2 },
      { a: 2, b: 1 },
    ].map(hash);
    expect(new Set(hashes).size).toBe(hashes.length);
  });

  it('hashes a null-prototype object like a plain one, and counts a __proto__ key as an entry', () => {
    expect(hash(nullPrototype({ theme: 'dark', max: 3 }))).toBe(hash({ max: 3, theme: 'dark' }));
    const flag = (name: string, value: string): ApiFlag => ({ feature: { name }, enabled: true, feature_state_value: value });
    const withProtoKey = toTraits([flag('__proto__', 'x'), flag('constructor', 'y')]);
    expect(Object.keys(withProtoKey)).toEqual(['__proto__', 'constructor']);
    expect(hash(withProtoKey)).not.toBe(hash(toTraits([flag('constructor', 'y')])));
    expect(hash(withProtoKey)).not.toBe(hash(toTraits([flag('__proto__', 'z'), flag('constructor', 'y')])));
  });

  it('changes when any one value changes (property)', () => {
    const traitsArbitrary = fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.boolean()), { minKeys: 1 });
    fc.assert(
      fc.property(traitsArbitrary, fc.nat(), fc.oneof(fc.string(), fc.integer(), fc.boolean()), (traits, pick, value) => {
        const keys = Object.keys(traits);
        const key = keys[pick % keys.length]!;
        fc.pre(!Object.is(traits[key], value));
        return hash({ ...traits, [key]: value }) !== hash(traits);
      }),
    );
  });
});
