import Ajv from 'ajv';
import { settingsSchema } from '../../src/settings/schema';

describe('settingsSchema', () => {
  const validate = new Ajv({ allErrors: true }).compile(settingsSchema);

  it('is a draft-07 schema with form titles for both fields', () => {
    expect(settingsSchema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(settingsSchema.properties.api_key.title).toBe('API Key');
    expect(settingsSchema.properties.base_url.title).toBe('Base URL');
    expect(settingsSchema.properties.api_key.description).toMatch(/write key/);
    expect(settingsSchema.properties.base_url.description).toMatch(/data plane URL/);
  });

  it.each([
    ['a key alone', { api_key: 'k' }, true],
    ['a null base_url', { api_key: 'k', base_url: null }, true],
    ['extra stored fields', { api_key: 'k', base_url: 'https://acme.example', id: 7 }, true],
    ['a blank key', { api_key: ' ' }, false],
    ['a 101-character key', { api_key: 'k'.repeat(101) }, false],
    ['a 201-character base_url', { api_key: 'k', base_url: 'u'.repeat(201) }, false],
    ['no key', { base_url: 'https://acme.example' }, false],
  ])('judges settings with %s (valid: %s)', (_, input, valid) => {
    expect(validate(input)).toBe(valid);
  });
});
