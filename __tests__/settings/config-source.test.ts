import { RudderStackIntegration } from '../../src/integration';
import { StaticConfigSource, toConfigSource } from '../../src/settings/config-source';
import type { ConfigSource, RudderStackSettings } from '../../src/types';

const ACME: RudderStackSettings = { api_key: 'acme-write-key', base_url: 'https://acme.example' };

describe('StaticConfigSource', () => {
  it('returns the settings of a configured environment and null for any other', () => {
    const source = new StaticConfigSource({ env_a: ACME });
    expect(source.get('env_a')).toBe(ACME);
    expect(source.get('env_b')).toBeNull();
  });

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'])('does not find the inherited name %j unless it is configured', (name) => {
    expect(new StaticConfigSource({ env_a: ACME }).get(name)).toBeNull();
  });

  it('finds a "__proto__" environment key when one is configured', () => {
    const settings = JSON.parse('{"__proto__": {"api_key": "proto-key"}, "constructor": {"api_key": "c-key"}}');
    const source = new StaticConfigSource(settings);
    expect(source.get('__proto__')).toEqual({ api_key: 'proto-key' });
    expect(source.get('constructor')).toEqual({ api_key: 'c-key' });
    expect(source.get('toString')).toBeNull();
  });

  it('keeps its own copy of the table', () => {
    const table: Record<string, RudderStackSettings> = { env_a: ACME };
    const source = new StaticConfigSource(table);
    table.env_b = ACME;
    delete table.env_a;
    expect(source.get('env_a')).toBe(ACME);
    expect(source.get('env_b')).toBeNull();
  });
});

describe('toConfigSource', () => {
  it('uses an object with a get function as the source itself', () => {
    const source: ConfigSource = { get: () => ACME };
    expect(toConfigSource(source)).toBe(source);
  });

  it('uses a class instance whose get is inherited as the source itself', () => {
    class DatabaseSource implements ConfigSource {
      get(): Promise<RudderStackSettings | null> {
        return Promise.resolve(ACME);
      }
    }
    const source = new DatabaseSource();
    expect(toConfigSource(source)).toBe(source);
  });

  it('wraps a plain table in a StaticConfigSource', () => {
    const source = toConfigSource({ env_a: ACME });
    expect(source).toBeInstanceOf(StaticConfigSource);
    expect(source.get('env_a')).toBe(ACME);
    expect(source.get('get')).toBeNull();
  });

  it('treats an environment named "get" as settings, not as a source', () => {
    const source = toConfigSource({ get: ACME });
    expect(source).toBeInstanceOf(StaticConfigSource);
    expect(source.get('get')).toBe(ACME);
  });

  // Options are checked before a source is made: the integration refuses what is neither.
  it.each([null, undefined, 'env_a'])('%j is refused with a TypeError that says what config may be', (config) => {
    expect(() => new RudderStackIntegration({ config: config as unknown as ConfigSource })).toThrow(
      /config must be a ConfigSource \(an object with get\(environmentKey\)\) or an object of settings by environment key/,
    );
  });
});
