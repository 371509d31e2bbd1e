import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Flagsmith, LocalFileHandler, type Flags } from 'flagsmith-nodejs';
import { withRudderStack } from '../../src/local-evaluation/with-rudderstack';
import { toTraits } from '../../src/mapping';
import type { ApiFlag, IdentityFetchContext, ValueMode } from '../../src/types';
import { closeHarnesses, createIntegration, startDataPlane } from '../helpers/harness';

const FIXTURES = join(__dirname, '../../fixtures');
const DOCUMENT_PATH = join(FIXTURES, 'environment-document.json');
/** The client-side key of the environment in the document: what the integration's settings are keyed by. */
const ENVIRONMENT_KEY = (JSON.parse(readFileSync(DOCUMENT_PATH, 'utf8')) as { api_key: string }).api_key;
const WRITE_KEY = 'wk_local_evaluation_0123';

interface ExpectedIdentity {
  identifier: string;
  traits: Record<string, string | number | boolean>;
  flags: Array<{ featureName: string; enabled: boolean; value: unknown }>;
  expectedTraits: Record<ValueMode, Record<string, unknown>>;
}
const IDENTITIES = (JSON.parse(readFileSync(join(FIXTURES, 'environment-expected.json'), 'utf8')) as { identities: ExpectedIdentity[] }).identities;

function offlineFlagsmith(): Flagsmith {
  return new Flagsmith({ offlineMode: true, offlineHandler: new LocalFileHandler(DOCUMENT_PATH) });
}

/** The same flags as the identities endpoint would list them. */
function asApiFlags(flags: Flags): ApiFlag[] {
  return flags.allFlags().map((flag) => ({ feature: { name: flag.featureName }, enabled: flag.enabled, feature_state_value: flag.value }));
}

async function integrationWithDataPlane(valueMode?: ValueMode) {
  const dataPlane = await startDataPlane({ writeKeys: [WRITE_KEY] });
  const integration = createIntegration({
    config: { [ENVIRONMENT_KEY]: { api_key: WRITE_KEY, base_url: dataPlane.url } },
    flushIntervalMs: 20,
    valueMode,
  });
  return { dataPlane, integration };
}

/** A hook that only records what it is given. */
function recordingHook(): { contexts: IdentityFetchContext[]; postIdentityFetch(context: IdentityFetchContext): void } {
  const contexts: IdentityFetchContext[] = [];
  return { contexts, postIdentityFetch: (context) => void contexts.push(context) };
}

afterEach(closeHarnesses);

describe.each<ValueMode>(['documented', 'flagsmith-python'])('identities evaluated offline, valueMode %s', (valueMode) => {
  it('delivers for each identity the traits the API-shaped path makes of the same flags', async () => {
    const { dataPlane, integration } = await integrationWithDataPlane(valueMode);
    const flagsmith = offlineFlagsmith();
    const wrapped = withRudderStack(flagsmith, integration, { environmentKey: ENVIRONMENT_KEY });

    const evaluated: Flags[] = [];
    for (const identity of IDENTITIES) evaluated.push(await wrapped.getIdentityFlags(identity.identifier, identity.traits));
    const events = await dataPlane.waitForEvents(IDENTITIES.length);

    expect(events.map((event) => event.userId)).toEqual(IDENTITIES.map((identity) => identity.identifier));
    IDENTITIES.forEach((identity, i) => {
      // The engine did evaluate this identity (its variant and segment overrides), as recorded.
      expect(evaluated[i].allFlags().map(({ featureName, enabled, value }) => ({ featureName, enabled, value }))).toEqual(
        identity.flags.map(({ featureName, enabled, value }) => ({ featureName, enabled, value })),
      );
      expect(JSON.stringify(events[i].traits)).toBe(JSON.stringify(toTraits(asApiFlags(evaluated[i]), { valueMode })));
      expect(JSON.stringify(events[i].traits)).toBe(JSON.stringify(identity.expectedTraits[valueMode]));
    });
    expect(dataPlane.batches.every((batch) => batch.writeKey === WRITE_KEY)).toBe(true);
  });
});

describe('withRudderStack', () => {
  it('hands the hook the environment key, the identity with its traits, and the Flags object', async () => {
    const hook = recordingHook();
    const wrapped = withRudderStack(offlineFlagsmith(), hook, { environmentKey: ENVIRONMENT_KEY });
    const flags = await wrapped.getIdentityFlags('user_123', { plan: 'enterprise' });
    expect(hook.contexts).toEqual([{ environmentKey: ENVIRONMENT_KEY, identity: { identifier: 'user_123', traits: { plan: 'enterprise' } }, flags }]);
    expect(hook.contexts[0].flags).toBe(flags);
  });

  it('gives the caller the very Flags object getIdentityFlags produced', async () => {
    const flagsmith = offlineFlagsmith();
    const evaluate = flagsmith.getIdentityFlags.bind(flagsmith);
    const produced: Flags[] = [];
    jest.spyOn(flagsmith, 'getIdentityFlags').mockImplementation(async (...args) => {
      const flags = await evaluate(...args);
      produced.push(flags);
      return flags;
    });
    const wrapped = withRudderStack(flagsmith, recordingHook(), { environmentKey: ENVIRONMENT_KEY });
    const flags = await wrapped.getIdentityFlags('user_123');
    expect(produced).toHaveLength(1);
    expect(flags).toBe(produced[0]);
  });

  it('passes a failing evaluation through unchanged and sends nothing', async () => {
    const hook = recordingHook();
    const flagsmith = offlineFlagsmith();
    const wrapped = withRudderStack(flagsmith, hook, { environmentKey: ENVIRONMENT_KEY });
    await expect(wrapped.getIdentityFlags('')).rejects.toThrow('`identifier` argument is missing or invalid.');

    const failure = new Error('evaluation failed');
    jest.spyOn(flagsmith, 'getIdentityFlags').mockRejectedValueOnce(failure);
    await expect(wrapped.getIdentityFlags('user_123')).rejects.toBe(failure);
    expect(hook.contexts).toEqual([]);
  });

  it('keeps a hook that throws away from the caller', async () => {
    const warnings = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const throwing = {
        postIdentityFetch: () => {
          throw new Error('hook broke');
        },
      };
      const wrapped = withRudderStack(offlineFlagsmith(), throwing, { environmentKey: ENVIRONMENT_KEY });
      const flags = await wrapped.getIdentityFlags('user_123');
      expect(flags.getFeatureValue('checkout_v2')).toBe('blue');
      expect(warnings).toHaveBeenCalledWith('withRudderStack: postIdentityFetch threw: hook broke');
    } finally {
      warnings.mockRestore();
    }
  });

  it('leaves every other member as it was and does not hook getEnvironmentFlags', async () => {
    const { integration } = await integrationWithDataPlane();
    const flagsmith = offlineFlagsmith();
    const wrapped = withRudderStack(flagsmith, integration, { environmentKey: ENVIRONMENT_KEY });
    expect(wrapped).toBeInstanceOf(Flagsmith);
    expect(wrapped.offlineMode).toBe(true);
    expect(wrapped.close).toBe(flagsmith.close);
    const environmentFlags = await wrapped.getEnvironmentFlags();
    expect(environmentFlags.getFeatureValue('checkout_v2')).toBe('blue');
    expect(integration.stats().received).toBe(0);
  });

  it('leaves the instance itself unchanged: evaluating through it sends nothing', async () => {
    const hook = recordingHook();
    const flagsmith = offlineFlagsmith();
    withRudderStack(flagsmith, hook, { environmentKey: ENVIRONMENT_KEY });
    expect(Object.prototype.hasOwnProperty.call(flagsmith, 'getIdentityFlags')).toBe(false);
    await flagsmith.getIdentityFlags('user_123');
    expect(hook.contexts).toEqual([]);
  });

  it('refuses a missing environment key or an object without the hook', () => {
    const flagsmith = offlineFlagsmith();
    expect(() => withRudderStack(flagsmith, recordingHook(), { environmentKey: '' })).toThrow(/environmentKey/);
    expect(() => withRudderStack(flagsmith, {} as never, { environmentKey: ENVIRONMENT_KEY })).toThrow(/postIdentityFetch/);
  });
});
