import { validateSettings } from '../../src/settings/validate';

const KEY = '2Xk9QvB7mN4pL8rT1sW6yZ3aC5d';

/** Settings whose fields give `first` on the first read and `later` on every read after it. */
function changingSettings(first: Record<string, unknown>, later: Record<string, unknown>): { settings: object; reads: Map<string, number> } {
  const reads = new Map<string, number>();
  const settings = {};
  for (const field of Object.keys(first)) {
    Object.defineProperty(settings, field, {
      enumerable: true,
      get: () => {
        reads.set(field, (reads.get(field) ?? 0) + 1);
        return reads.get(field) === 1 ? first[field] : later[field];
      },
    });
  }
  return { settings, reads };
}

describe('validateSettings reads each field once', () => {
  it('returns the write key it validated, even when a getter would give something else on a second read', () => {
    const { settings, reads } = changingSettings({ api_key: KEY, base_url: null }, { api_key: undefined, base_url: 42 });

    expect(validateSettings(settings)).toEqual({ writeKey: KEY, dataPlaneUrl: 'https://hosted.rudderlabs.com' });
    expect(Object.fromEntries(reads)).toEqual({ api_key: 1, base_url: 1 });
  });

  it('judges the value it read, not one a later read gives', () => {
    const { settings } = changingSettings({ api_key: 7 }, { api_key: KEY });

    expect(() => validateSettings(settings)).toThrow(/api_key: must be text, not a number/);
  });
});
