import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Flagsmith, LocalFileHandler, type Flags } from 'flagsmith-nodejs';
import { buildIdentifyMessage, toTraits } from '../../src/mapping';
import type { ApiFlag, Traits, ValueMode } from '../../src/types';

const FIXTURES = join(__dirname, '../../fixtures');
const modes: ValueMode[] = ['documented', 'flagsmith-python'];

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

interface IdentitiesResponse {
  identifier: string;
  flags: ApiFlag[];
  traits: Array<{ trait_key: string; trait_value: unknown }>;
}

type ExpectedTraits = Record<ValueMode, Traits>;

interface EnvironmentExpected {
  environmentDocument: string;
  identities: Array<{
    identifier: string;
    traits: Record<string, string | number | boolean>;
    flags: Array<{ featureName: string; enabled: boolean; value: unknown; reason: string }>;
    expectedTraits: ExpectedTraits;
  }>;
}

describe('fixtures/identities: responses of GET/POST /api/v1/identities/', () => {
  const names = readdirSync(join(FIXTURES, 'identities'))
    .filter((file) => file.endsWith('.json'))
    .map((file) => file.slice(0, -'.json'.length));

  test('there are fixtures, each with its expected traits', () => {
    expect(names.length).toBeGreaterThanOrEqual(5);
    const expected = readdirSync(join(FIXTURES, 'expected')).sort();
    expect(expected).toEqual(names.map((name) => `${name}.json`).sort());
  });

  describe.each(names)('%s', (name) => {
    const response = readJson<IdentitiesResponse>(join(FIXTURES, 'identities', `${name}.json`));
    const expected = readJson<{ identifier: string } & ExpectedTraits>(join(FIXTURES, 'expected', `${name}.json`));

    test('is about the same identity', () => {
      expect(response.identifier).toBe(expected.identifier);
    });

    test.each(modes)('toTraits, %s', (mode) => {
      const traits = toTraits(response.flags, { valueMode: mode });
      expect(traits).toEqual(expected[mode]);
      // Byte for byte, key order and hostile names included: what goes on the wire.
      expect(JSON.stringify(traits)).toBe(JSON.stringify(expected[mode]));
    });

    test.each(modes)('buildIdentifyMessage, %s', (mode) => {
      const message = buildIdentifyMessage({ environmentKey: 'Vt3mQ9pLx7RkWc2HsYbN4e', identity: response, flags: response.flags }, { valueMode: mode });
      expect(message.userId).toBe(expected.identifier);
      expect(JSON.stringify(message.traits)).toBe(JSON.stringify(expected[mode]));
    });
  });
});

describe('fixtures/environment-document.json evaluated offline by flagsmith-nodejs', () => {
  const expected = readJson<EnvironmentExpected>(join(FIXTURES, 'environment-expected.json'));
  const documentPath = join(FIXTURES, expected.environmentDocument);
  const flagsmith = new Flagsmith({ offlineMode: true, offlineHandler: new LocalFileHandler(documentPath) });
  const evaluated = new Map<string, Flags>();

  beforeAll(async () => {
    for (const identity of expected.identities) {
      evaluated.set(identity.identifier, await flagsmith.getIdentityFlags(identity.identifier, identity.traits));
    }
  });

  afterAll(async () => {
    await flagsmith.close();
  });

  describe.each(expected.identities.map((identity) => [identity.identifier, identity] as const))('%s', (identifier, identity) => {
    test('the engine gives the flags recorded in environment-expected.json', () => {
      const flags = evaluated.get(identifier)!.allFlags();
      expect(flags.map(({ featureName, enabled, value, reason }) => ({ featureName, enabled, value, reason }))).toEqual(identity.flags);
    });

    test.each(modes)('the Flags object maps to the expected traits, %s', (mode) => {
      expect(toTraits(evaluated.get(identifier)!, { valueMode: mode })).toEqual(identity.expectedTraits[mode]);
    });

    test.each(modes)('its allFlags() items map to the expected traits, %s', (mode) => {
      const flags = evaluated.get(identifier)!.allFlags();
      expect(toTraits(flags, { valueMode: mode })).toEqual(identity.expectedTraits[mode]);
    });

    test('buildIdentifyMessage takes the Flags object', () => {
      const message = buildIdentifyMessage({
        environmentKey: 'Vt3mQ9pLx7RkWc2HsYbN4e',
        identity: { identifier, traits: identity.traits },
        flags: evaluated.get(identifier)!,
      });
      expect(message.userId).toBe(identifier);
      expect(message.traits).toEqual(identity.expectedTraits.documented);
    });
  });

  // What the fixture is for: overrides and variants resolved per identity reach the traits.
  test('the segment override reaches an enterprise identity', () => {
    const traits = toTraits(evaluated.get('acme-admin@acme.example')!);
    expect(traits.sso_login).toBe('saml');
    expect(traits.api_rate_limit).toBe(5000);
    expect(toTraits(evaluated.get('jane.doe@example.com')!).sso_login).toBe(false);
  });

  test('the identity override beats the segment override', () => {
    const flags = evaluated.get('qa.tester@example.com')!;
    expect(toTraits(flags)).toMatchObject({ checkout_v2: 'green', maintenance_mode: 'read_only', api_rate_limit: 0 });
    expect(toTraits(flags, { valueMode: 'flagsmith-python' }).api_rate_limit).toBe(true);
  });

  test('multivariate values are variants of the feature, and more than one is served', () => {
    const served = new Set([...evaluated.values()].map((flags) => toTraits(flags).onboarding_flow));
    for (const value of served) expect(['classic', 'short_tour', 'video_tour']).toContain(value);
    expect(served.size).toBeGreaterThan(1);
  });
});
