import fc from 'fast-check';
import { isEmptyToGateway } from '../../src/mapping/gateway-empty';
import { buildIdentifyMessage, InvalidInputError } from '../../src/mapping';
import type { IdentityFetchContext } from '../../src/types';

/** rudder-go-kit's sanitize.invisibleRunes, one by one. */
const GO_KIT_INVISIBLE = [
  0x0000, 0x0009, 0x00a0, 0x00ad, 0x034f, 0x061c, 0x115f, 0x1160, 0x17b4, 0x17b5, 0x180e, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007,
  0x2008, 0x2009, 0x200a, 0x200b, 0x200c, 0x200d, 0x200e, 0x200f, 0x202f, 0x205f, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0x206a, 0x206b, 0x206c, 0x206d,
  0x206e, 0x206f, 0x3000, 0x2800, 0x3164, 0xfeff, 0xffa0,
].map((code) => String.fromCodePoint(code));

/** What Go's unicode.IsPrint rejects: controls, formats, separators, private use, unassigned. */
const NOT_PRINTABLE = [
  ...Array.from({ length: 0x20 }, (_, code) => String.fromCharCode(code)),
  '\u007f',
  '\u0085',
  '\u009f',
  '\u2028',
  '\u2029',
  '\u202a',
  '\u202e',
  '\u2066',
  '\ufff9',
  '\ufffb',
  '\u0600',
  '\u06dd',
  '\u0378',
  '\ufffe',
  '\uffff',
  '\ue000',
  '\u{f0000}',
  '\u{10fffd}',
  '\u{e0001}',
  '\u{e007f}',
  '\u{1bca0}',
  '\u{1d173}',
  '\u1680',
  '\u2007',
];

const BLANK = [...GO_KIT_INVISIBLE, ...NOT_PRINTABLE, ' '];

function contextFor(identifier: string): IdentityFetchContext {
  return { environmentKey: 'env', identity: { identifier }, flags: [] };
}

function reasonOf(identifier: string): string | undefined {
  try {
    buildIdentifyMessage(contextFor(identifier));
    return undefined;
  } catch (error) {
    return error instanceof InvalidInputError ? error.reason : 'threw something else';
  }
}

const hex = (text: string): string => [...text].map((c) => `U+${c.codePointAt(0)!.toString(16).padStart(4, '0')}`).join(' ');

describe('isEmptyToGateway: what rudder-server strips before its empty check', () => {
  it.each(GO_KIT_INVISIBLE.map((c) => [hex(c), c]))('rudder-go-kit invisible %s alone is no id', (_label, c) => {
    expect(isEmptyToGateway(c)).toBe(true);
    expect(reasonOf(c)).toBe('no_user_id');
  });

  it.each(NOT_PRINTABLE.map((c) => [hex(c), c]))('%s, which unicode.IsPrint rejects, alone is no id', (_label, c) => {
    expect(isEmptyToGateway(c)).toBe(true);
    expect(reasonOf(c)).toBe('no_user_id');
  });

  // rudder-server builds with Go 1.26, whose unicode tables are Unicode 15.0.0; Node's regular
  // expressions know later characters, which the gateway takes for unassigned and strips.
  it.each([
    ['an emoji of Unicode 16 (U+1FAE9)', '\u{1fae9}'],
    ['a CJK ideograph of Unicode 15.1 (U+2EBF0)', '\u{2ebf0}'],
    ['a Latin letter of Unicode 16 (U+A7CB)', '\ua7cb'],
    ['a Garay letter of Unicode 16 (U+10D50), with a zero-width space', '\u{10d50}\u200b'],
    ['an ideographic description character of Unicode 15.1 (U+2FFC)', '\u2ffc'],
  ])('%s alone is no id: Go 1.26 does not know it', (_label, identifier) => {
    expect(isEmptyToGateway(identifier)).toBe(true);
    expect(reasonOf(identifier)).toBe('no_user_id');
  });

  it('is an id when a character Go 1.26 knows is beside one it does not', () => {
    expect(isEmptyToGateway('\u{1fae9}a')).toBe(false);
    expect(isEmptyToGateway('\u{1f600}\u{1fae9}')).toBe(false);
  });

  it('is no id for every blank character together, in any order and repeated, and for the empty string', () => {
    expect(isEmptyToGateway('')).toBe(true);
    expect(isEmptyToGateway(BLANK.join(''))).toBe(true);
    expect(reasonOf(`  ${BLANK.join('')}\u200b  `)).toBe('no_user_id');
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...BLANK), { minLength: 1, maxLength: 40 }), (parts) => {
        expect(isEmptyToGateway(parts.join(''))).toBe(true);
      }),
    );
  });

  it.each([
    ['a letter after a zero-width space', '\u200bu'],
    ['zero-width spaces around an id', '\u200buser_123\u200b'],
    ['a soft hyphen inside an id', 'us\u00ader'],
    ['a Hangul filler before an accented letter', '\u3164é'],
    ['a non-ASCII letter alone', 'é'],
    ['CJK', '日本'],
    ['an emoji', '😀'],
    ['a combining mark alone (IsPrint accepts marks)', '\u0301'],
    ['an astral letter after a control', '\u0001\u{10400}'],
    ['a digit after a word joiner', '\u20607'],
    ['a symbol between controls', '\u0000\u00a9\u0000'],
    ['a lone surrogate (the gateway reads it as U+FFFD)', '\ud800'],
    ['a space then a letter', ' a'],
    ['DEL then a letter', '\u007fa'],
  ])('is an id, sent exactly as given: %s', (_label, identifier) => {
    expect(isEmptyToGateway(identifier)).toBe(false);
    expect(buildIdentifyMessage(contextFor(identifier)).userId).toBe(identifier);
  });

  it('is an id whenever one visible character is among blank ones, wherever it is', () => {
    const visible = fc.oneof(
      fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }).filter((c) => c !== ' '),
      fc.constantFrom('é', 'ß', '日', 'Ж', '١', '€', '😀', '\u0301', '\u3163', '\u2801'),
    );
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...BLANK), { maxLength: 20 }), visible, fc.nat(), (blank, c, at) => {
        const parts = [...blank];
        parts.splice(at % (parts.length + 1), 0, c);
        expect(isEmptyToGateway(parts.join(''))).toBe(false);
      }),
    );
  });
});
