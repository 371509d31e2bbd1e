import { checkFields } from '../../src/settings-api/fields';

const rules = { partial: false, allowPrivateNetworks: false };
const CURRENT = { id: 3, api_key: 'wk_current_0123456789', base_url: 'https://acme.dataplane.rudderstack.com' };

describe('checkFields', () => {
  it("trims as Python's str.strip() does, not as JavaScript's trim()", () => {
    expect(checkFields({ api_key: '\u001c\u0085wk_0123456789\u3000' }, rules)).toEqual({ settings: { api_key: 'wk_0123456789' } });
    // U+FEFF is not whitespace to Python: not blank to DRF, but blank to the package's own rule.
    expect(checkFields({ api_key: '\ufeff' }, rules)).toEqual({ errors: { api_key: ['This field may not be blank.'] } });
  });

  it('refuses numbers, which DRF would take as their decimal text', () => {
    expect(checkFields({ api_key: 12345, base_url: 1 }, rules)).toEqual({ errors: { base_url: ['Not a valid string.'], api_key: ['Not a valid string.'] } });
  });

  it('lists every validator that fails, in Flagsmith’s order', () => {
    const value = `gopher://10.0.0.1/${'\u0000'.repeat(200)}`;
    expect(checkFields({ api_key: 'wk_0123456789', base_url: value }, rules)).toEqual({
      errors: {
        base_url: [
          'Enter a valid http(s) URL.',
          'URLs must not target internal or private network addresses.',
          'Ensure this field has no more than 200 characters.',
          'Null characters are not allowed.',
          'Enter a valid URL.',
        ],
      },
    });
  });

  it('PUT keeps an absent base_url and needs api_key; PATCH keeps any absent field', () => {
    expect(checkFields({ api_key: 'wk_new_0123456789' }, { ...rules, current: CURRENT })).toEqual({
      settings: { api_key: 'wk_new_0123456789', base_url: CURRENT.base_url },
    });
    expect(checkFields({}, { ...rules, current: CURRENT })).toEqual({ errors: { api_key: ['This field is required.'] } });
    expect(checkFields({}, { ...rules, partial: true, current: CURRENT })).toEqual({ settings: { api_key: CURRENT.api_key, base_url: CURRENT.base_url } });
  });

  it('reads own keys only', () => {
    const inherited = Object.create({ api_key: 'wk_inherited_0123456789' }) as Record<string, unknown>;
    expect(checkFields(inherited, rules)).toEqual({ errors: { api_key: ['This field is required.'] } });
  });
});
