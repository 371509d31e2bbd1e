import * as path from 'node:path';
import { createFlagsmithInstance } from '@flagsmith/flagsmith/isomorphic';
import { startReferenceHost, type ReferenceHost } from '../../src/host/reference-host';
import { toTraits } from '../../src/mapping';
import type { IdentityFetchContext, SdkFlag } from '../../src/types';
import expectedEvaluations from '../../fixtures/environment-expected.json';
import { closeHarnesses, createIntegration, onCleanup, startDataPlane } from '../helpers/harness';

const DOCUMENT = path.resolve(__dirname, '../../fixtures/environment-document.json');
const ENVIRONMENT_KEY = 'Vt3mQ9pLx7RkWc2HsYbN4e';
const WRITE_KEY = 'wk_e2e_secret';

afterEach(closeHarnesses);

/** Data plane, integration, and the reference host with the hook wired in; every hook call is recorded too. */
async function start(): Promise<{
  host: ReferenceHost;
  hookCalls: IdentityFetchContext[];
  dataPlane: Awaited<ReturnType<typeof startDataPlane>>;
  flush: () => Promise<void>;
}> {
  const dataPlane = await startDataPlane({ writeKeys: [WRITE_KEY] });
  const integration = createIntegration({ config: { [ENVIRONMENT_KEY]: { api_key: WRITE_KEY, base_url: dataPlane.url } } });
  const hookCalls: IdentityFetchContext[] = [];
  const host = await startReferenceHost({
    environmentDocumentPath: DOCUMENT,
    integration: {
      postIdentityFetch: (context) => {
        hookCalls.push(context);
        integration.postIdentityFetch(context);
      },
    },
  });
  onCleanup(() => host.close());
  return { host, hookCalls, dataPlane, flush: () => integration.flush() };
}

function client(host: ReferenceHost, identity: string | undefined, traits: Record<string, string | number | boolean>, environmentID = ENVIRONMENT_KEY) {
  const flagsmith = createFlagsmithInstance();
  const ready = flagsmith.init({ environmentID, api: host.apiUrl, identity, ...(Object.keys(traits).length > 0 ? { traits } : {}) });
  return { flagsmith, ready };
}

describe('GET and POST /api/v1/identities/ driven by the real Flagsmith client', () => {
  test('each identities call becomes one identify whose traits are the flags the host returned', async () => {
    const { host, hookCalls, dataPlane, flush } = await start();
    const identities = expectedEvaluations.identities;
    for (const { identifier, traits } of identities) {
      const { flagsmith, ready } = client(host, identifier, traits as Record<string, string | number | boolean>);
      await ready;
      // The client saw the same flags the hook was given.
      const hookFlags = hookCalls[hookCalls.length - 1].flags as Array<{ feature: { name: string }; feature_state_value: unknown }>;
      for (const flag of hookFlags) expect(flagsmith.getValue(flag.feature.name)).toEqual(flag.feature_state_value);
    }
    await flush();
    const events = await dataPlane.waitForEvents(identities.length);

    expect(events.map((event) => event.userId)).toEqual(identities.map((identity) => identity.identifier));
    for (const [i, identity] of identities.entries()) {
      // What the hook got from the host, mapped by the package's own mapping...
      expect(events[i].traits).toEqual({ ...toTraits(hookCalls[i].flags) });
      // ...and what flagsmith-nodejs evaluates for this identity, recorded independently in fixtures/.
      expect(events[i].traits).toEqual({ ...toTraits(identity.flags as SdkFlag[]) });
    }
    // No traits: GET, so the hook saw none; with traits: POST, and the host echoed them.
    expect(hookCalls[0].identity.traits).toEqual([]);
    expect(hookCalls[1].identity.traits).toEqual([
      expect.objectContaining({ trait_key: 'plan', trait_value: 'enterprise' }),
      expect.objectContaining({ trait_key: 'seats', trait_value: 250 }),
    ]);
  });

  test('identity overrides beat segment overrides, which beat environment defaults; multivariate gives the variant', async () => {
    const { host, dataPlane, flush } = await start();
    for (const [identifier, traits] of [
      ['qa.tester@example.com', { plan: 'enterprise' }],
      ['acme-admin@acme.example', { plan: 'enterprise' }],
      ['jane.doe@example.com', { plan: 'free' }],
      ['8f14e45f-ceea-467a-9575-a1b2c3d4e5f6', {}],
    ] as const) {
      await client(host, identifier, traits).ready;
    }
    await flush();
    const [override, segment, defaults, multivariate] = await dataPlane.waitForEvents(4);

    expect(override.traits).toMatchObject({ checkout_v2: 'green', maintenance_mode: 'read_only', api_rate_limit: 0, sso_login: 'saml' });
    expect(segment.traits).toMatchObject({ checkout_v2: 'blue', maintenance_mode: false, api_rate_limit: 5000, sso_login: 'saml' });
    expect(defaults.traits).toMatchObject({ checkout_v2: 'blue', api_rate_limit: 1000, sso_login: false });
    expect(multivariate.traits).toMatchObject({ onboarding_flow: 'video_tour' });
  });

  test('traits a POST stored are used by a later GET, as in Flagsmith', async () => {
    const { host, dataPlane, flush } = await start();
    await client(host, 'later@example.com', { plan: 'enterprise' }).ready;
    await client(host, 'later@example.com', {}).ready;
    await flush();
    const [first, second] = await dataPlane.waitForEvents(2);

    expect(second.traits).toEqual(first.traits);
    expect(second.traits).toMatchObject({ sso_login: 'saml' });
  });

  test('environment flags (GET /api/v1/flags/, no identity) and refused environment keys fire no hook', async () => {
    const { host, hookCalls } = await start();
    const anonymous = client(host, undefined, {});
    await anonymous.ready;
    expect(anonymous.flagsmith.getValue('checkout_v2')).toBe('blue');

    await expect(client(host, 'user_123', {}, 'not-the-environment-key').ready).rejects.toThrow();
    const refused = await fetch(`${host.apiUrl}identities/?identifier=user_123`, { headers: { 'X-Environment-Key': 'not-the-environment-key' } });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ detail: 'Invalid or missing Environment Key' });
    expect(hookCalls).toEqual([]);
  });
});
